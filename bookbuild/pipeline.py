"""The build, stage by stage: check -> library -> execute -> render -> publish."""
import dataclasses
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait

from . import config as config_mod, edition, library, tabs as tabs_mod, toc
from .errors import BuildError, Collector, Problem
from .execute import Executor, Job
from .languages import SOURCE
from .publish import published_editions, publish, write_colab_tree
from .render import Renderer
from .slides import publish_slides, write_decks


class Build:
    def __init__(self, root, langs=None, keep_going=False, log=print, strict=False, strict_translations=False,
                 tabs=None):
        self.config = config_mod.load(root)
        self.strict = strict       # a Sphinx warning fails the build
        self.strict_translations = strict_translations or self.config.strict_translations
        self.langs = self._select(langs)
        self.tabs = self.config.tabs or [None]          # None: a book without tabs
        self.run_tabs = self._select_tabs(tabs)          # the tabs whose code is executed
        self.problems = Collector(keep_going)
        self.log = log
        self.timings = {}
        self._lock = threading.Lock()
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

    def _select_tabs(self, tabs):
        if not tabs:
            return list(self.tabs)
        chosen = [t.strip().lower() for t in tabs.split(',') if t.strip()]
        unknown = [t for t in chosen if t not in self.config.tabs]
        if unknown:
            raise SystemExit(f'error: --tabs {",".join(unknown)} is not in [build] tabs '
                             f'({", ".join(self.config.tabs) or "none"})')
        return chosen

    def _timed(self, name, fn, *args):
        """Run a stage; its time is summed (over the editions: with editions in parallel, the sum
        of their times, not the wall time)."""
        start = time.time()
        result = fn(*args)
        with self._lock:
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
        self.pages = {lang: {tab: self._pages(sections, tab) for tab in self.tabs}
                      for lang, sections in self.editions.items()}
        return self.editions

    def _pages(self, sections, tab):
        """The sections as ``tab`` shows them (a book without tabs: as they are)."""
        if tab is None:
            return sections
        return [dataclasses.replace(s, notebook=tabs_mod.select(s.notebook, tab, self.config.default_tab))
                for s in sections]

    def write_library(self):
        changed = False
        for tab, path in library.targets(self.config):
            if not path.parent.is_dir():
                continue
            if library.write(self.config.chapters(SOURCE), path, self.toc.order, tab, self.config.default_tab):
                changed = True
                self.log(f'library: {path.relative_to(self.config.root)} regenerated from #@save blocks')
        return changed

    def executor(self):
        # the code of the library's whole package keys the sections using it
        packages = sorted({path.parent for _, path in library.targets(self.config) if path.parent.is_dir()})
        lib = ''.join(f'{p.relative_to(package)}\0{p.read_text(encoding="utf-8")}\0' for package in packages
                      for p in sorted(package.rglob('*.py')) if '__pycache__' not in p.parts)
        frameworks = tuple(dict.fromkeys(tabs_mod.module_of(t) for t in self.config.tabs)) or None
        return Executor(self.config.root, lib, timeout=self.config.timeout, workers=self.config.workers,
                        log=self.log, data_dir=self.config.data_dir, frameworks=frameworks)

    def jobs(self, langs=None, tabs=None):
        # Code is English in every edition: a failing cell is reported in the English file.
        # The default tab's jobs are named as in a book without tabs, so its cache keys are the same.
        return [Job(s.name, s.source_path or s.path, s.notebook, s.hints,
                    tab=tab if tab != self.config.default_tab else None)
                for tab in (tabs or self.run_tabs) for lang in (langs or self.langs) for s in self.pages[lang][tab]]

    def check_frameworks(self, environment):
        """Every tab to execute needs its framework in the kernel's environment."""
        for tab in self.run_tabs:
            module = tabs_mod.module_of(tab) if tab else None
            if module and environment.frameworks.get(module, 'not installed') == 'not installed':
                others = [t for t in self.run_tabs if t != tab]
                raise BuildError(Problem(
                    self.config.root / 'config.ini', config_mod._line_of(self.config.root / 'config.ini', 'build', 'tabs'),
                    f'tab "{tab}": its framework package "{module}" is not installed where the kernel runs',
                    f'install {module}, or build without executing that tab: --tabs {",".join(others)}'
                    if others else f'install {module}'))

    def execute(self):
        for tab in self.tabs:
            if tab not in self.run_tabs:
                self.log(f'tab {tab}: not executed (--tabs {",".join(self.run_tabs)}); its code is shown without outputs')
        executor = self.executor()
        executor.environment = executor.probe()
        self.check_frameworks(executor.environment)
        self.report = executor.run(self.jobs())
        self.problems.extend(self.report.problems)
        return self.report

    def render(self, html=True, pdf=True):
        """Per language: the website (with several tabs, pages that show them all) and one PDF and
        one set of notebooks per tab; the editions in parallel, up to one per core."""
        self.renderers, self.tab_renderers = {}, {}
        matter = (self.toc.front, self.toc.back)
        # The language bar links the editions the site will hold: those built now and those carried over.
        linked = [l for l in self.config.languages if l in self.langs or l in published_editions(self.config)]
        tabbed = len(self.tabs) > 1

        def one(lang):
            pages = self.pages[lang]
            r = Renderer(self.config, lang, self.log, matter=matter, strict=self.strict, tabs=self.config.tabs,
                         linked=linked)
            shown = [dataclasses.replace(s, notebook=tabs_mod.merge([pages[t][i].notebook for t in self.tabs],
                                                                    self.tabs))
                     for i, s in enumerate(self.editions[lang])] if tabbed else None
            if self._timed('notebooks', r.write_notebooks, pages[self.tabs[0]], shown) and (html or pdf):
                r.start_sphinx()        # its start-up overlaps the reST conversion
            self._timed('rst', r.write_rst, shown or pages[self.tabs[0]])
            if html:
                self.log(f'html: {lang}')
                self._timed('html', r.html)
            # Without several tabs the website's renderer makes the PDF; else one renderer per tab.
            per_tab = [Renderer(self.config, lang, self.log, matter=matter, strict=self.strict, tab=t,
                                linked=linked)
                       for t in self.tabs] if tabbed else [r]
            for t, tr in zip(self.tabs, per_tab):
                if tr is not r:     # its reST too, so that publish can tell whether its PDF is current
                    self._timed('notebooks', tr.write_notebooks, pages[t])
                    self._timed('rst', tr.write_rst, pages[t])
                if pdf:
                    self.log(f'pdf: {lang}' + (f' ({t})' if tabbed else ''))
                    self._timed('pdf', tr.pdf)
            r.stop_sphinx()
            with self._lock:
                self.renderers[lang], self.tab_renderers[lang] = r, per_tab
        if len(self.langs) == 1:
            return one(self.langs[0])
        pool = ThreadPoolExecutor(max_workers=min(len(self.langs), os.cpu_count() or 1))
        futures = [pool.submit(one, lang) for lang in self.langs]
        try:
            wait(futures)
        except BaseException:       # interrupted: the build's children are ended by procs.owned
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
        for f in futures:           # the first edition's problem, in the order of the languages
            f.result()

    def publish(self):
        site = self._timed('publish', publish, self.config, self.renderers, self.log, self.tab_renderers)
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
        """The slide decks of the selected editions, from their executed notebooks (of the default tab),
        marks and all; returns {lang: the directory of its decks}."""
        dirs = {lang: Renderer(self.config, lang).slides_dir for lang in self.langs}
        for lang, out in dirs.items():
            pages = self.pages[lang][self.tabs[0]]
            names = self._timed('slides', write_decks, self.config, lang, pages, out)
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
            if r.executed:
                lines.append(f'kernel start-up: {r.kernel_seconds:.1f}s summed over the {len(r.executed)} '
                             f'execution(s), {r.kernel_waited:.1f}s of it waited for (kernels start, and import '
                             f'the framework, ahead while other sections run); the executions took '
                             f'{sum(s for _, s in r.executed):.1f}s in all')
            slow = sorted(r.executed, key=lambda x: -x[1])[:5]
            if slow:
                lines.append('slowest sections:')
                lines += [f'  {sec:>6.1f}s  {name}' for name, sec in slow]
        lines.append('time per stage: ' + ', '.join(f'{k} {v:.1f}s' for k, v in self.timings.items()))
        return '\n'.join(lines)
