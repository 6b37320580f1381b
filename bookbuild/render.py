"""Render executed notebooks into HTML and PDF with d2lbook and Sphinx (the only module that knows them)."""
import configparser
import functools
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

import nbformat

from . import linemap, slidemarks
from .errors import BuildError, Problem
from .files import write_atomic, write_if_changed
from .languages import LANGUAGES, SOURCE
from .outputs import prepare
from .slides import deck_names

TOOL_ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
# What each output depends on besides its sources: our code, Python packages, programs.
DEPENDS = {
    'rst': {'code': ['render.py', 'outputs.py', 'linemap.py'], 'packages': ['d2lbook', 'nbconvert'],
            'programs': [['pandoc', '--version']]},
    'html': {'code': ['render.py', 'sphinx_ext.py', 'languages.py'], 'static': True,
             'packages': ['sphinx', 'docutils', 'd2lbook', 'furo', 'sphinx-copybutton', 'sphinxcontrib-bibtex',
                          'pybtex', 'pygments', 'jinja2'], 'programs': []},
    'pdf': {'code': ['render.py', 'sphinx_ext.py', 'languages.py'], 'static': False,
            'packages': ['sphinx', 'docutils', 'd2lbook', 'sphinxcontrib-bibtex', 'pybtex', 'pygments'],
            'programs': [['xelatex', '--version'], ['latexmk', '-v'], ['rsvg-convert', '--version']]},
}
UI_TEXT = {
    'en': ('Download notebook', 'Open in Colab', 'Discuss'),
    'ja': ('ノートブックをダウンロード', 'Colab で開く', '議論する'),
    'zh': ('下载 notebook', '在 Colab 中打开', '讨论'),
    'ko': ('노트북 내려받기', 'Colab에서 열기', '토론하기'),
}


class Renderer:
    """Per-language work directory ``_build/<lang>/``: notebooks, rst, html, latex."""

    def __init__(self, config, lang, log=print, matter=(0, 0), strict=False, tab=None, tabs=(), linked=None):
        self.config, self.lang, self.log = config, lang, log
        self.linked = linked or config.languages     # the editions the language bar links
        self.matter = matter        # unnumbered chapters before and after the numbered ones
        self.strict = strict        # a Sphinx warning fails the build
        self.tab = tab              # the one tab this renderer's notebooks and PDF show (several tabs)
        self.tabs = list(tabs)      # the book's tabs: the website shows them all
        self.work = config.build_dir / lang if tab is None else config.build_dir / 'tabs' / tab / lang
        self.nb_dir = self.work / 'notebooks'
        self.page_dir = self.nb_dir     # the notebooks that become pages (with several tabs: merged)
        self.rst_dir = self.work / 'rst'
        self.map_dir = self.work / 'linemap'
        self.html_dir = self.work / 'html'
        self.latex_dir = self.work / 'latex'
        self.slides_dir = self.work / 'slides'     # slides.write_decks
        self._inputs = {}    # hash of Sphinx's inputs per output, made after write_rst
        self._sphinx_ahead = None    # a Sphinx process started while the reST is written

    def _suffix(self, tab):
        """What names the files of ``tab``: nothing for the default tab (or a book without tabs)."""
        return f'-{tab}' if tab and tab != self.config.default_tab else ''

    @property
    def pdf_name(self):
        return f'{self.config.name}-{self.lang}{self._suffix(self.tab)}.pdf'

    @property
    def zip_name(self):
        return f'{self.config.name}-{self.lang}{self._suffix(self.tab)}-notebooks.zip'

    # ---- notebooks -------------------------------------------------------
    def write_notebooks(self, sections, pages=None):
        """Write each section's executed notebook; return the names that changed. ``pages``: the
        sections as the website shows them, when that is not as the notebooks have them (tabs)."""
        if pages is not None:
            self.page_dir = self.work / 'pages'
            _write_notebooks(pages, self.page_dir)
        return _write_notebooks(sections, self.nb_dir)

    # ---- rst -------------------------------------------------------------
    def write_rst(self, sections):
        """Convert the notebooks whose content, or whatever else their reST depends on, changed."""
        self._inputs = {}
        _unwrapped_pandoc()
        PANDOC.load(self.config.build_dir / 'pandoc.json', depends('rst'))
        stamps_path = self.rst_dir / '.stamps.json'
        stamps = json.loads(stamps_path.read_text()) if stamps_path.is_file() else {}
        settings = json.dumps([depends('rst'), self.lang, self.config.discuss_url, self.config.bibfile.is_file()])
        # the Markdown file and the lines its cells start at key the line map kept with the reST
        cells = {s.name: linemap.cell_lines(s.notebook) for s in sections}
        wanted = {s.name: hashlib.sha256((self.page_dir / f'{s.name}.ipynb').read_bytes() + settings.encode()
                                         + json.dumps([str(s.path), [line for line, _ in cells[s.name]]]).encode())
                  .hexdigest() for s in sections}
        todo = [s for s in sections if stamps.get(s.name) != wanted[s.name]
                or not (self.rst_dir / f'{s.name}.rst').is_file()]
        if todo:    # forget them first: a conversion cut short must not look current later
            stamps = {k: v for k, v in stamps.items() if k in wanted and k not in {s.name for s in todo}}
            write_atomic(stamps_path, json.dumps(stamps))
        for s, (body, resources, lines) in zip(todo, _parallel(lambda s: self._convert(s, cells[s.name]), todo)):
            dst = self.rst_dir / f'{s.name}.rst'
            for fname, data in resources['outputs'].items():
                write_if_changed(dst.parent / fname, data)
            if s.name == 'index' and self.config.bibfile.is_file():
                body += REFERENCES_TOC
            elif self.config.discuss_url and s.name != 'index':
                body += discussion_qr(self.config.discuss_url.format(lang=self.lang, path=s.name),
                                      UI_TEXT[self.lang][2])
            write_if_changed(dst, body)
            linemap.save(self.map_dir / f'{s.name}.json', s.path, lines)
            stamps[s.name] = wanted[s.name]
        PANDOC.save()
        write_atomic(stamps_path, json.dumps(stamps))
        names = set(wanted)
        if self.config.bibfile.is_file():
            names.add('references')
            title = LANGUAGES[self.lang].references
            write_if_changed(self.rst_dir / 'references.rst',
                             f'{title}\n{"=" * 2 * len(title)}\n\n.. bibliography:: {self.config.bibfile.name}\n   :all:\n')
        for stale in self.rst_dir.rglob('*.rst'):
            if stale.relative_to(self.rst_dir).with_suffix('').as_posix() not in names:
                stale.unlink()
        self._sync_tree(self.config.root / 'img', self.rst_dir / 'img')
        if self.config.bibfile.is_file():
            write_if_changed(self.rst_dir / self.config.bibfile.name, self.config.bibfile.read_bytes())
        self._write_conf()

    def _convert(self, s, cells):
        """One section's notebook to reST: (body, resources, line map)."""
        from d2lbook import rst as d2lbook_rst
        nb = prepare(linemap.mark_cells(nbformat.read(self.page_dir / f'{s.name}.ipynb', as_version=4)))
        key = 'output_' + Path(s.name).name + '_' + hashlib.sha1(s.name.encode()).hexdigest()[:6]
        body, resources = d2lbook_rst.convert_notebook(nb, {'unique_key': key})
        body, lines = linemap.unmark(body, cells)
        return body, resources, lines

    def _sync_tree(self, src, dst):
        if not src.is_dir():
            return
        for path in src.rglob('*'):
            if path.is_file():
                write_if_changed(dst / path.relative_to(src), path.read_bytes())

    def _write_conf(self):
        """conf.py from d2lbook's template, with our extension and settings."""
        from d2lbook.config import Config
        from d2lbook.sphinx import prepare_sphinx_env
        lang = self.lang
        ini = configparser.ConfigParser()
        index_dir = self.config.chapters(lang) if (self.config.chapters(lang) / 'index.md').is_file() \
            else self.config.chapters(SOURCE)
        ui = UI_TEXT[lang]
        links = {'pdf': self.pdf_name, 'notebook_label': ui[0], 'colab': self.config.colab_url,
                 'colab_label': ui[1], 'discuss': self.config.discuss_url, 'discuss_label': ui[2],
                 'notebooks': str(self.nb_dir)}
        if len(self.tabs) > 1:      # one PDF and one notebook zip per tab
            links['tabs'] = [[t, f'{self.config.name}-{lang}{self._suffix(t)}.pdf',
                              f'{self.config.name}-{lang}{self._suffix(t)}-notebooks.zip'] for t in self.tabs]
        title = self.config.title_for(lang) + (f' ({self.tab})' if self.tab else '')    # a tab's own PDF
        ini['project'] = {'name': f'{self.config.name}-{lang}', 'title': title,
                          'author': self.config.author_for(lang), 'release': self.config.release,
                          'copyright': f'{self.config.author_for(lang)}', 'lang': lang}
        ini['build'] = {'source_dir': str(index_dir), 'output_dir': str(self.work / 'd2lbook'),
                        'sphinx_extensions': 'bookbuild.sphinx_ext',
                        'sphinx_configs': '\n'.join([
                            f'language = {LANGUAGES[lang].sphinx!r}',
                            f'd2l_language = {lang!r}',
                            f'd2l_languages = {list(self.linked)!r}',
                            f'd2l_links = {json.dumps(links, ensure_ascii=False)}',
                            f'd2l_slides = {deck_names(self.slides_dir)!r}',
                            f'd2l_static = {str(self.config.static_dir)!r}',
                        ] + ([f'd2l_tabs = {self.tabs!r}'] if len(self.tabs) > 1 else []))}
        # A book without a bibliography gets an empty one: d2lbook's conf.py always loads sphinxcontrib.bibtex.
        bib = self.config.bibfile.name if self.config.bibfile.is_file() else 'empty.bib'
        if not self.config.bibfile.is_file():
            write_if_changed(self.rst_dir / bib, '')
        ini['pdf'] = {'bibfile': bib}
        ini_path = self.work / 'd2lbook.ini'
        with open(ini_path, 'w', encoding='utf-8') as f:
            ini.write(f)
        logging.disable(logging.INFO)
        d2l_config = Config(config_fname=str(ini_path))
        logging.disable(logging.NOTSET)
        d2l_config.rst_dir = str(self.rst_dir)
        prepare_sphinx_env(d2l_config)
        # d2lbook's page scripts target its own theme and load icons from a CDN;
        # the book uses Furo, sphinx-copybutton and static/book.css instead.
        for name in ('d2l.js', 'd2l.css'):
            write_if_changed(self.rst_dir / '_static' / name, '')

    # ---- sphinx ----------------------------------------------------------
    def start_sphinx(self):
        """Start a Sphinx process now (sphinx_runner.py), for the next ``_sphinx`` call to use."""
        if self._sphinx_ahead is None:
            env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TOOL_ROOT), os.environ.get('PYTHONPATH', '')]))
            self._sphinx_ahead = subprocess.Popen([sys.executable, '-m', 'bookbuild.sphinx_runner'], env=env,
                                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                                  stderr=subprocess.PIPE, text=True)

    def stop_sphinx(self):
        """End a Sphinx process started ahead that was not needed."""
        if self._sphinx_ahead is not None:
            self._sphinx_ahead.communicate('')
            self._sphinx_ahead = None

    def _sphinx(self, builder, out_dir):
        """Run Sphinx; return its warnings as Problems at Markdown file and line."""
        self.start_sphinx()
        proc, self._sphinx_ahead = self._sphinx_ahead, None
        args = ['-b', builder, '-q', '-j', 'auto', str(self.rst_dir), str(out_dir), '-c', str(self.rst_dir)]
        _, stderr = proc.communicate(json.dumps(args) + '\n')
        (self.work / f'sphinx-{builder}.log').write_text(stderr, encoding='utf-8')
        if proc.returncode != 0:
            raise BuildError(Problem(self.rst_dir / 'index.rst', 1,
                                     f'Sphinx {builder} build failed:\n{stderr[-3000:]}'))
        return linemap.warnings(stderr, self.rst_dir, self.map_dir, builder)

    def _report(self, kind, warnings):
        """Log Sphinx's warnings of one output (also when it was not rebuilt); fail with --strict."""
        if not warnings:
            return
        if self.strict:
            raise BuildError(warnings)
        self.log(f'  {self.lang}: {len(warnings)} Sphinx warning(s) in the {kind} (--strict fails on them):')
        for w in warnings[:20]:
            self.log(f'    {w}')
        if len(warnings) > 20:
            self.log(f'    ... and {len(warnings) - 20} more, see {self.work}/sphinx-*.log')

    # ---- stamps: which outputs are current -----------------------------------
    def _inputs_hash(self, kind):
        """Hash of everything the ``kind`` output ('html' or 'pdf') is made from: the reST tree
        (for the PDF without the HTML's _static) and ``_setup_hash``."""
        if kind not in self._inputs:
            h = hashlib.sha256(self._setup_hash(kind).encode())
            for path in sorted(p for p in self.rst_dir.rglob('*') if p.is_file()):
                rel = path.relative_to(self.rst_dir)
                if kind == 'pdf' and rel.parts[0] == '_static':
                    continue
                h.update(str(rel).encode() + b'\0' + path.read_bytes())
            self._inputs[kind] = h.hexdigest()
        return self._inputs[kind]

    def _setup_hash(self, kind):
        """What an output depends on besides the reST: the code that renders it, the tool versions,
        the book's static files (HTML) or the chapter numbering (PDF)."""
        h = hashlib.sha256(depends(kind).encode() + str(self.matter if kind == 'pdf' else '').encode())
        if DEPENDS[kind]['static']:
            for path in sorted(p for p in self.config.static_dir.rglob('*') if p.is_file()):
                h.update(str(path.relative_to(self.config.static_dir)).encode() + b'\0' + path.read_bytes())
        return h.hexdigest()

    def _stamp_path(self, kind):
        return self.work / f'{kind}.fingerprint'

    def output(self, kind):
        return self.html_dir / 'index.html' if kind == 'html' else self.latex_dir / f'{self.config.name}-{self.lang}.pdf'

    def current(self, kind):
        """True when the ``kind`` output was built from exactly the current inputs and passed its checks."""
        stamp = self._stamp_path(kind)
        return self.output(kind).is_file() and stamp.is_file() and stamp.read_text() == self._inputs_hash(kind)

    def _begin(self, kind):
        """Forget that the output is current before making it: a run cut short leaves no stamp."""
        self._stamp_path(kind).unlink(missing_ok=True)
        (self.work / f'{kind}.warnings.json').unlink(missing_ok=True)

    def _done(self, kind, warnings):
        write_atomic(self.work / f'{kind}.warnings.json',
                     json.dumps([[str(w.path), w.line, w.message] for w in warnings]))
        write_atomic(self._stamp_path(kind), self._inputs_hash(kind))

    def _saved_warnings(self, kind):
        path = self.work / f'{kind}.warnings.json'
        data = json.loads(path.read_text(encoding='utf-8')) if path.is_file() else []
        return [Problem(Path(p), line, message) for p, line, message in data]

    def html(self):
        if self.current('html'):
            self.log(f'  {self.lang}: html unchanged')
            self._report('HTML', self._saved_warnings('html'))
            return
        self._begin('html')
        theme = self._setup_hash('html')
        theme_stamp = self._stamp_path('html-theme')
        if not theme_stamp.is_file() or theme_stamp.read_text() != theme:
            # Sphinx never removes a static file, and rewrites only the pages whose source or
            # config changed: after a change to the theme, its assets or our extension, write
            # every page afresh (the doctrees stay: sources are not read again).
            for path in self.html_dir.glob('*'):
                if path.name != '.doctrees':
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
        warnings = self._sphinx('html', self.html_dir)
        write_atomic(theme_stamp, theme)
        self._done('html', warnings)
        self._report('HTML', warnings)

    def pdf(self):
        """LaTeX through Sphinx, then xelatex; the PDF is current only once it passed its checks."""
        if self.current('pdf'):
            self.stop_sphinx()
            self.log(f'  {self.lang}: pdf unchanged')
            self._report('PDF', self._saved_warnings('pdf'))
            return
        self._begin('pdf')
        tex = self.output('pdf').with_suffix('.tex')
        warnings = self._sphinx('latex', self.latex_dir)
        from d2lbook.build import process_latex
        process_latex(str(tex), None)
        unnumber_chapters(tex, *self.matter, LANGUAGES[self.lang].references)
        # -g: we only get here when the inputs changed, so always typeset. latexmk's own
        # bookkeeping can otherwise replay a failure left by a build that was killed mid-run.
        proc = subprocess.run(['latexmk', '-g', '-xelatex', '-interaction=nonstopmode', '-halt-on-error',
                               tex.name], cwd=self.latex_dir, capture_output=True, text=True)
        log_path = tex.with_suffix('.log')
        log_text = log_path.read_text(encoding='utf-8', errors='replace') if log_path.is_file() else ''
        if proc.returncode != 0 or not self.output('pdf').is_file():
            errors = [l for l in log_text.splitlines() if l.startswith('!')][:5]
            raise BuildError(Problem(tex, 1, 'xelatex failed: ' + ('; '.join(errors) or proc.stdout[-1500:]),
                                     f'see {log_path}'))
        missing = sorted(set(re.findall(r'Missing character: There is no (\S+)', log_text)))
        if missing:
            raise BuildError(Problem(tex, 1, f'the PDF is missing {len(missing)} glyph(s): {" ".join(missing[:20])}',
                                     'a font for this script is not configured'))
        self._done('pdf', warnings)
        self._report('PDF', warnings)


def _write_notebooks(sections, directory):
    """Write each section's notebook under ``directory``, remove the others; return the changed names."""
    changed, names = [], set()
    for s in sections:
        names.add(s.name)
        nb = nbformat.from_dict(s.notebook)
        for cell in nb.cells:
            cell.metadata.pop('md_line', None)
            cell.metadata.pop('origin', None)
            if cell.cell_type == 'markdown':    # the marks are for the slides (the line map reads them)
                cell.source = slidemarks.book_text(cell.source)
        nb.metadata.pop('executed_seconds', None)
        if write_if_changed(directory / f'{s.name}.ipynb', nbformat.writes(nb)):
            changed.append(s.name)
    for stale in directory.rglob('*.ipynb'):
        if stale.relative_to(directory).with_suffix('').as_posix() not in names:
            stale.unlink()
    return changed


@functools.lru_cache(maxsize=None)
def depends(kind):
    """Text naming what an output depends on besides its sources: code, packages, programs."""
    spec = DEPENDS[kind]
    parts = [hashlib.sha256(b''.join((HERE / f).read_bytes() for f in spec['code'])).hexdigest()]
    for name in spec['packages']:
        try:
            parts.append(f'{name} {metadata.version(name)}')
        except metadata.PackageNotFoundError:
            parts.append(f'{name} -')
    for cmd in spec['programs']:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout
        except OSError:
            out = ''
        parts.append(' '.join(cmd[:1] + (out.strip().splitlines() or ['-'])[:1]))
    return '\n'.join(parts)


def discussion_qr(url, label):
    """A QR code for the section's discussion page, at the end of the section in the PDF."""
    safe = url.replace('%', '\\%').replace('#', '\\#')
    return ('\n\n.. raw:: latex\n\n'
            f'   \\par\\medskip\\noindent\\qrcode[height=1.6cm]{{{safe}}}\\quad '
            f'\\parbox[b]{{0.7\\linewidth}}{{\\small {label}: \\url{{{safe}}}}}\\par\n')


REFERENCES_TOC = '\n\n.. toctree::\n   :hidden:\n\n   references\n'


def _parallel(fn, items):
    """``fn`` of each item, in order, up to one thread per core (the work waits mostly on pandoc)."""
    if len(items) < 2:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=min(len(items), os.cpu_count() or 1)) as pool:
        return list(pool.map(fn, items))


class PandocMemo:
    """pandoc's conversions of Markdown cells, kept between builds in ``_build/pandoc.json``.

    A conversion depends only on its input, its arguments and pandoc's version (in ``salt``):
    after an edit only the cells that changed start pandoc (each start costs tens of ms)."""

    LIMIT = 50_000      # entries; beyond it the memo starts afresh

    def __init__(self):
        self.path, self.salt, self.data, self.dirty = None, '', {}, False
        self.lock = threading.Lock()

    def load(self, path, salt):
        with self.lock:
            if (path, salt) == (self.path, self.salt):
                return
            try:
                data = json.loads(Path(path).read_text(encoding='utf-8'))
            except (OSError, ValueError):
                data = {}
            self.path, self.salt, self.data, self.dirty = path, salt, data if isinstance(data, dict) else {}, False

    def get(self, key, convert):
        k = hashlib.sha256(json.dumps([self.salt, key]).encode()).hexdigest()
        with self.lock:
            hit = self.data.get(k)
        if hit is None:
            hit = convert()
            with self.lock:
                if len(self.data) >= self.LIMIT:
                    self.data = {}
                self.data[k], self.dirty = hit, True
        return hit

    def save(self):
        with self.lock:
            if self.path and self.dirty:
                write_atomic(self.path, json.dumps(self.data))
                self.dirty = False


PANDOC = PandocMemo()


def _unwrapped_pandoc():
    """Make nbconvert call pandoc without line wrapping, through ``PANDOC``.

    At pandoc's default 72 columns, Markdown tables become reST grid tables whose
    cells are wrapped mid-word, which breaks inline roles such as :math: (and CJK
    text, counted double-width, wraps the most).
    """
    import nbconvert.filters.pandoc as nb_pandoc
    with PANDOC.lock:
        if not getattr(nb_pandoc.pandoc, 'unwrapped', False):
            nb_pandoc.pandoc = _through_memo(nb_pandoc.pandoc)


def _through_memo(original):

    def pandoc(source, fmt, to, extra_args=None, **kwargs):
        args = list(extra_args or []) + ['--columns=10000']
        return PANDOC.get([source, fmt, to, args, sorted(kwargs.items())],
                          lambda: original(source, fmt, to, extra_args=args, **kwargs))
    pandoc.unwrapped = True
    return pandoc


CHAPTER = re.compile(r'^\\chapter\{(?P<title>.*)\}(?P<rest>.*)$')


def unnumber_chapters(tex, frontmatter, backmatter, references_title):
    """Star the first ``frontmatter`` and last ``backmatter`` chapters (and their sections),
    so PDF chapter numbers match the HTML's numbered toc. The references page is
    dropped: LaTeX prints the bibliography as its own chapter."""
    lines = [l for l in tex.read_text(encoding='utf-8').split('\n')
             if not l.startswith(f'\\chapter{{{references_title}}}')]
    chapters = [i for i, l in enumerate(lines) if CHAPTER.match(l)]
    starred = chapters[:frontmatter] + (chapters[len(chapters) - backmatter:] if backmatter else [])
    bounds = chapters + [next(i for i, l in enumerate(lines) if l.startswith(r'\renewcommand{\indexname}')
                              or l.startswith(r'\end{document}'))]
    for idx in starred:
        end = bounds[bounds.index(idx) + 1]
        m = CHAPTER.match(lines[idx])
        title = m['title']
        lines[idx] = (rf'\chapter*{{{title}}}\addcontentsline{{toc}}{{chapter}}{{{title}}}'
                      rf'\markboth{{{title}}}{{{title}}}' + m['rest'])
        for j in range(idx + 1, end):
            lines[j] = re.sub(r'^\\(section|subsection)\{', r'\\\1*{', lines[j])
    tex.write_text('\n'.join(lines), encoding='utf-8')
