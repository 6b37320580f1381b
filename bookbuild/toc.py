"""Find the sections of a book by following the ``toc`` blocks from ``index.md``."""
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from .errors import Collector
from .markdown import read_text

TOC_START = re.compile(r'^```toc\s*$')


@dataclass
class TocBlock:
    options: dict
    entries: list = field(default_factory=list)  # (name, line)


def parse_toc_blocks(text, path, problems):
    """Return the toc blocks of a document; report unclosed blocks."""
    blocks, lines = [], text.split('\n')
    i = 0
    while i < len(lines):
        if not TOC_START.match(lines[i]):
            i += 1
            continue
        start, block = i + 1, TocBlock({})
        i += 1
        while i < len(lines) and lines[i].strip() != '```':
            entry = lines[i].strip()
            if entry.startswith(':'):
                key, _, value = entry[1:].partition(':')
                if not key or key not in ('maxdepth', 'numbered', 'titlesonly'):
                    problems.add(path, i + 1, f'unknown toc option "{entry}"',
                                 'use :maxdepth: N or :numbered:')
                block.options[key] = value.strip()
            elif entry:
                block.entries.append((entry, i + 1))
            i += 1
        if i == len(lines):
            problems.add(path, start, 'toc block is never closed', 'end it with ```')
        blocks.append(block)
        i += 1
    return blocks


def sections(src_dir, problems=None):
    """Return the book's documents (paths without ``.md``) in reading order.

    The first element is ``index``. Each toc entry is relative to the directory
    of the document holding it; a missing file is a problem at that line.
    """
    problems = problems or Collector()
    order, seen = [], set()

    def visit(name):
        order.append(name)
        seen.add(name)
        path = src_dir / f'{name}.md'
        parent = PurePosixPath(name).parent
        for block in parse_toc_blocks(read_text(path), path, problems):
            for entry, line in block.entries:
                child = str(parent / entry) if str(parent) != '.' else entry
                if child in seen:
                    problems.add(path, line, f'toc entry "{entry}" is listed twice')
                elif not (src_dir / f'{child}.md').is_file():
                    problems.add(path, line, f'toc entry "{entry}" names a missing file {child}.md')
                else:
                    visit(child)

    visit('index')
    return order


def unreachable(src_dir, order):
    """Markdown files under ``src_dir`` that no toc reaches."""
    reached = {f'{name}.md' for name in order}
    return sorted(p.relative_to(src_dir).as_posix() for p in src_dir.rglob('*.md')
                  if p.relative_to(src_dir).as_posix() not in reached
                  and not any(part.startswith(('_', '.')) for part in p.relative_to(src_dir).parts))
