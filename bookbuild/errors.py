"""Errors the build reports to authors: each one names a file and a line."""
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Problem:
    """One thing wrong with the book, located at ``path:line``."""
    path: Path
    line: int
    message: str
    hint: str = ''

    def __str__(self):
        text = f'{self.path}:{self.line}: {self.message}'
        return text + (f' ({self.hint})' if self.hint else '')


class BuildError(Exception):
    """The build cannot go on; carries every problem found so far."""

    def __init__(self, problems):
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__('\n'.join(str(p) for p in self.problems))


class Collector:
    """Gathers problems; raises at once unless ``keep_going`` is set."""

    def __init__(self, keep_going=False):
        self.keep_going = keep_going
        self.problems = []

    def add(self, path, line, message, hint=''):
        problem = Problem(Path(path), line, message, hint)
        if not self.keep_going:
            raise BuildError(problem)
        self.problems.append(problem)

    def extend(self, problems):
        for p in problems:
            self.add(p.path, p.line, p.message, p.hint)

    def raise_if_any(self):
        if self.problems:
            raise BuildError(self.problems)
