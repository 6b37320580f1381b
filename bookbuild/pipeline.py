"""The build, stage by stage: check -> library -> execute -> render -> publish."""
import time
from pathlib import Path

from . import config as config_mod, edition, library, toc
from .errors import Collector
from .execute import Executor, Job
from .languages import SOURCE
from .publish import publish, write_colab_tree
from .render import Renderer
from .slides import publish_slides, write_decks


class Build:
    def __init__(self, root, langs=None, keep_going=False, log=print, strict=False, strict_translations=False):
        self.config = config_mod.load(root)
        self.strict = strict       # a Sphinx warning fails the build
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
        self.toc = toc.read(self.config.chapters(SOURCE), self.problems)
        source_labels = None
        for lang in [SOURCE] + [l for l in self.langs if l != SOURCE]:
            sections = edition.load(self.config, lang, self.problems, self.strict_translations, self.toc.order)
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
        changed = library.write(self.config.chapters(SOURCE), self.library_path, self.toc.order)
        if changed:
            self.log(f'library: {self.library_path.relative_to(self.config.root)} regenerated from #@save blocks')
        return changed

    def executor(self):
        package = self.library_path.parent      # the whole d2l package's code keys the sections using it
        lib = ''.join(f'{p.relative_to(package)}\0{p.read_text(encoding="utf-8")}\0'
                      for p in sorted(package.rglob('*.py')) if '__pycache__' not in p.parts) if package.is_dir() else ''
        return Executor(self.config.root, lib, timeout=self.config.timeout, workers=self.config.workers,
                        log=self.log, data_dir=self.config.data_dir)

    def jobs(self, langs=None):
        # Code is English in every edition: a failing cell is reported in the English file.
        return [Job(s.name, s.source_path or s.path, s.notebook, s.hints)
                for lang in (langs or self.langs) for s in self.editions[lang]]

    def execute(self):
        self.report = self.executor().run(self.jobs())
        self.problems.extend(self.report.problems)
        return self.report

    def render(self, html=True, pdf=True):
        self.renderers = {}
        for lang in self.langs:
            r = Renderer(self.config, lang, self.log, matter=(self.toc.front, self.toc.back), strict=self.strict)
            self._timed('notebooks', r.write_notebooks, self.editions[lang])
            self._timed('rst', r.write_rst, self.editions[lang])
            if html:
                self.log(f'html: {lang}')
                self._timed('html', r.html)
            if pdf:
                self.log(f'pdf: {lang}')
                self._timed('pdf', r.pdf)
            self.renderers[lang] = r

    def publish(self):
        site = self._timed('publish', publish, self.config, self.renderers, self.log)
        self._timed('publish', write_colab_tree, self.config)
        return site

    # ---- commands ------------------------------------------------------------
    def run(self, html=True, pdf=True, execute_only=False):
        """The whole pipeline; the caller holds the build lock (cli.py)."""
        self._timed('check', self.load)
        self._timed('library', self.write_library)
        self.problems.raise_if_any()
        self._timed('execute', self.execute)
        self.problems.raise_if_any()
        if execute_only:
            return None
        self.make_decks()
        self.render(html, pdf)
        return self.publish()

    def make_decks(self):
        """The slide decks of the selected editions, from their executed notebooks, marks and all;
        returns {lang: the directory of its decks}."""
        dirs = {lang: Renderer(self.config, lang).slides_dir for lang in self.langs}
        for lang, out in dirs.items():
            names = self._timed('slides', write_decks, self.config, lang, self.editions[lang], out)
            self.log(f'slides: {lang}: {len(names)} deck(s)')
        return dirs

    def slides(self):
        """Only the slide decks of the selected editions, published into the current site."""
        self._timed('check', self.load)
        self._timed('library', self.write_library)
        self.problems.raise_if_any()
        self._timed('execute', self.execute)
        self.problems.raise_if_any()
        return self._timed('publish', publish_slides, self.config, self.make_decks(), self.log)

    def summary(self):
        lines = []
        if self.report:
            r = self.report
            lines.append(f'notebooks executed: {len(r.executed)}, reused from cache: {r.reused} '
                         f'(sections with code in {len(self.langs)} language(s): {r.sections})'
                         + (f', corrupt cache entries dropped: {len(r.dropped)}' if r.dropped else ''))
            why = sorted(r.reasons.items())
            lines += [f'  executed {name}: ' + '; '.join(reasons) for name, reasons in why[:20]]
            if len(why) > 20:
                lines.append(f'  ... and {len(why) - 20} more (each is named above, with its reasons)')
            slow = sorted(r.executed, key=lambda x: -x[1])[:5]
            if slow:
                lines.append('slowest sections:')
                lines += [f'  {sec:>6.1f}s  {name}' for name, sec in slow]
        lines.append('time per stage: ' + ', '.join(f'{k} {v:.1f}s' for k, v in self.timings.items()))
        return '\n'.join(lines)
