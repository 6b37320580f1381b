"""The build, stage by stage: check -> library -> execute -> render -> publish."""
import time
from pathlib import Path

from . import config as config_mod, edition, library, toc
from .buildlock import exclusive
from .errors import Collector, BuildError
from .execute import Executor, Job
from .languages import SOURCE
from .markdown import read_text
from .publish import publish, write_colab_tree
from .render import Renderer


class Build:
    def __init__(self, root, langs=None, keep_going=False, log=print, strict_translations=False):
        self.config = config_mod.load(root)
        self.strict_translations = strict_translations or self.config.strict_translations
        self.langs = self._select(langs)
        self.problems = Collector(keep_going)
        self.log = log
        self.timings = {}
        self.report = None

    def _select(self, langs):
        if not langs:
            return list(self.config.languages)
        chosen = [l.strip() for l in langs.split(',') if l.strip()]
        unknown = [l for l in chosen if l not in self.config.languages]
        if unknown:
            raise SystemExit(f'error: --lang {",".join(unknown)} is not in [build] languages '
                             f'({", ".join(self.config.languages)})')
        return chosen

    def _timed(self, name, fn, *args):
        start = time.time()
        result = fn(*args)
        self.timings[name] = self.timings.get(name, 0) + time.time() - start
        return result

    # ---- stages ------------------------------------------------------------
    def load(self):
        """Read and check every selected edition (the source edition is always read)."""
        self.editions = {}
        source_labels = None
        for lang in [SOURCE] + [l for l in self.langs if l != SOURCE]:
            sections = edition.load(self.config, lang, self.problems, self.strict_translations)
            labels = edition.check(self.config, lang, sections, self.problems, source_labels)
            if lang == SOURCE:
                source_labels = labels
            self.editions[lang] = sections
        return self.editions

    @property
    def library_path(self):
        return self.config.root / 'd2l' / 'mxnet.py'

    def write_library(self):
        if not self.library_path.parent.is_dir():
            return False
        changed = library.write(self.config.chapters(SOURCE), self.library_path)
        if changed:
            self.log(f'library: {self.library_path.relative_to(self.config.root)} regenerated from #@save blocks')
        return changed

    def execute(self):
        lib = self.library_path.read_text(encoding='utf-8') if self.library_path.is_file() else ''
        executor = Executor(self.config.build_dir / 'cache', lib, self.config.build_dir / 'run',
                            timeout=self.config.timeout, workers=self.config.workers,
                            pythonpath=[self.config.root], log=self.log)
        # Code is English in every edition: a failing cell is reported in the English file.
        jobs = [Job(s.name, s.source_path or s.path, s.notebook, s.hints)
                for lang in self.langs for s in self.editions[lang]]
        self.report = executor.run(jobs)
        self.problems.extend(self.report.problems)
        return self.report

    def _matter(self):
        """How many unnumbered toc entries come before and after the numbered ones."""
        index = self.config.chapters(SOURCE) / 'index.md'
        blocks = toc.parse_toc_blocks(read_text(index), index, Collector(True))
        numbered = [i for i, b in enumerate(blocks) if 'numbered' in b.options]
        if not numbered:
            return 0, 0
        front = sum(len(b.entries) for b in blocks[:numbered[0]])
        back = sum(len(b.entries) for b in blocks[numbered[-1] + 1:])
        return front, back

    def render(self, html=True, pdf=True):
        self.renderers = {}
        front, back = self._matter()
        for lang in self.langs:
            r = Renderer(self.config, lang, self.log)
            self._timed('notebooks', r.write_notebooks, self.editions[lang])
            self._timed('rst', r.write_rst, self.editions[lang])
            if html:
                self.log(f'html: {lang}')
                self._timed('html', r.html)
            if pdf:
                self.log(f'pdf: {lang}')
                self._timed('pdf', r.pdf, front, back)
            self.renderers[lang] = r

    def publish(self):
        site = self._timed('publish', publish, self.config, self.renderers)
        self._timed('publish', write_colab_tree, self.config)
        return site

    # ---- commands ------------------------------------------------------------
    def run(self, html=True, pdf=True, execute_only=False):
        with exclusive(self.config.build_dir, log=self.log):
            self._timed('check', self.load)
            self._timed('library', self.write_library)
            self.problems.raise_if_any()
            self._timed('execute', self.execute)
            self.problems.raise_if_any()
            if execute_only:
                return None
            self.render(html, pdf)
            return self.publish()

    def summary(self):
        lines = []
        if self.report:
            r = self.report
            lines.append(f'notebooks executed: {len(r.executed)}, reused from cache: {r.reused} '
                         f'(sections with code in {len(self.langs)} language(s): {r.sections})'
                         + (f', corrupt cache entries dropped: {len(r.dropped)}' if r.dropped else ''))
            slow = sorted(r.executed, key=lambda x: -x[1])[:5]
            if slow:
                lines.append('slowest sections:')
                lines += [f'  {sec:>6.1f}s  {name}' for name, sec in slow]
        lines.append('time per stage: ' + ', '.join(f'{k} {v:.1f}s' for k, v in self.timings.items()))
        return '\n'.join(lines)
