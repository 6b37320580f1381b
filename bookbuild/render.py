"""Render executed notebooks into HTML and PDF with d2lbook and Sphinx (the only module that knows them)."""
import configparser
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from .errors import BuildError, Problem
from .languages import LANGUAGES, SOURCE
from .outputs import prepare

TOOL_ROOT = Path(__file__).resolve().parent.parent
UI_TEXT = {
    'en': ('Download notebook', 'Open in Colab', 'Discuss'),
    'ja': ('ノートブックをダウンロード', 'Colab で開く', '議論する'),
    'zh': ('下载 notebook', '在 Colab 中打开', '讨论'),
    'ko': ('노트북 내려받기', 'Colab에서 열기', '토론하기'),
}


class Renderer:
    """Per-language work directory ``_build/<lang>/``: notebooks, rst, html, latex."""

    def __init__(self, config, lang, log=print):
        self.config, self.lang, self.log = config, lang, log
        self.work = config.build_dir / lang
        self.nb_dir = self.work / 'notebooks'
        self.rst_dir = self.work / 'rst'
        self.html_dir = self.work / 'html'
        self.latex_dir = self.work / 'latex'
        self._inputs = None    # hash of Sphinx's inputs, set after write_rst

    @property
    def pdf_name(self):
        return f'{self.config.name}-{self.lang}.pdf'

    # ---- notebooks -------------------------------------------------------
    def write_notebooks(self, sections):
        """Write each section's executed notebook; return the names that changed."""
        changed, names = [], set()
        for s in sections:
            names.add(s.name)
            nb = nbformat.from_dict(s.notebook)
            for cell in nb.cells:
                cell.metadata.pop('md_line', None)
            nb.metadata.pop('executed_seconds', None)
            text = nbformat.writes(nb)
            path = self.nb_dir / f'{s.name}.ipynb'
            if not path.is_file() or path.read_text(encoding='utf-8') != text:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding='utf-8')
                changed.append(s.name)
        for stale in self.nb_dir.rglob('*.ipynb'):
            if stale.relative_to(self.nb_dir).with_suffix('').as_posix() not in names:
                stale.unlink()
        return changed

    # ---- rst -------------------------------------------------------------
    def write_rst(self, sections):
        """Convert notebooks whose content, or whose conversion code, changed since last time."""
        from d2lbook import rst as d2lbook_rst
        self._inputs = None
        _unwrapped_pandoc()
        names = set()
        stamps_path = self.rst_dir / '.stamps.json'
        stamps = json.loads(stamps_path.read_text()) if stamps_path.is_file() else {}
        converter = hashlib.sha256(b''.join(Path(__file__).with_name(f).read_bytes()
                                            for f in ('render.py', 'outputs.py'))).hexdigest()
        for s in sections:
            names.add(s.name)
            src = self.nb_dir / f'{s.name}.ipynb'
            dst = self.rst_dir / f'{s.name}.rst'
            stamp = hashlib.sha256(src.read_bytes() + converter.encode()).hexdigest()
            if dst.is_file() and stamps.get(s.name) == stamp:
                continue
            nb = prepare(nbformat.read(src, as_version=4))
            key = 'output_' + Path(s.name).name + '_' + hashlib.sha1(s.name.encode()).hexdigest()[:6]
            body, resources = d2lbook_rst.convert_notebook(nb, {'unique_key': key})
            dst.parent.mkdir(parents=True, exist_ok=True)
            for fname, data in resources['outputs'].items():
                (dst.parent / fname).write_bytes(data)
            if s.name == 'index' and self.config.bibfile.is_file():
                body += REFERENCES_TOC
            elif self.config.discuss_url and s.name != 'index':
                body += discussion_qr(self.config.discuss_url.format(lang=self.lang, path=s.name),
                                      UI_TEXT[self.lang][2])
            dst.write_text(body, encoding='utf-8')
            stamps[s.name] = stamp
        self.rst_dir.mkdir(parents=True, exist_ok=True)
        stamps_path.write_text(json.dumps(stamps))
        if self.config.bibfile.is_file():
            names.add('references')
            title = LANGUAGES[self.lang].references
            _write_if_changed(self.rst_dir / 'references.rst',
                              f'{title}\n{"=" * 2 * len(title)}\n\n.. bibliography:: {self.config.bibfile.name}\n   :all:\n')
        for stale in self.rst_dir.rglob('*.rst'):
            if stale.relative_to(self.rst_dir).with_suffix('').as_posix() not in names:
                stale.unlink()
        self._sync_tree(self.config.root / 'img', self.rst_dir / 'img')
        if self.config.bibfile.is_file():
            _copy_if_changed(self.config.bibfile, self.rst_dir / self.config.bibfile.name)
        self._write_conf()

    def _sync_tree(self, src, dst):
        if not src.is_dir():
            return
        for path in src.rglob('*'):
            if path.is_file():
                _copy_if_changed(path, dst / path.relative_to(src))

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
        ini['project'] = {'name': f'{self.config.name}-{lang}', 'title': self.config.title_for(lang),
                          'author': self.config.author_for(lang), 'release': self.config.release,
                          'copyright': f'{self.config.author_for(lang)}', 'lang': lang}
        ini['build'] = {'source_dir': str(index_dir), 'output_dir': str(self.work / 'd2lbook'),
                        'sphinx_extensions': 'bookbuild.sphinx_ext',
                        'sphinx_configs': '\n'.join([
                            f'language = {LANGUAGES[lang].sphinx!r}',
                            f'd2l_language = {lang!r}',
                            f'd2l_languages = {self.config.languages!r}',
                            f'd2l_links = {json.dumps(links, ensure_ascii=False)}',
                        ])}
        ini['pdf'] = {'bibfile': self.config.bibfile.name if self.config.bibfile.is_file() else ''}
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
            (self.rst_dir / '_static' / name).write_text('', encoding='utf-8')
        if not self.config.bibfile.is_file():
            conf = self.rst_dir / 'conf.py'
            conf.write_text(conf.read_text(encoding='utf-8').replace('"sphinxcontrib.bibtex",', ''), encoding='utf-8')

    # ---- sphinx ----------------------------------------------------------
    def _sphinx(self, builder, out_dir):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TOOL_ROOT), os.environ.get('PYTHONPATH', '')]))
        cmd = [sys.executable, '-m', 'sphinx', '-b', builder, '-q', '-j', 'auto',
               str(self.rst_dir), str(out_dir), '-c', str(self.rst_dir)]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        warnings = [l for l in proc.stderr.splitlines() if 'WARNING' in l or 'ERROR' in l]
        (self.work / f'sphinx-{builder}.log').write_text(proc.stderr, encoding='utf-8')
        if proc.returncode != 0:
            raise BuildError(Problem(self.rst_dir / 'index.rst', 1,
                                     f'Sphinx {builder} build failed:\n{proc.stderr[-3000:]}'))
        if warnings:
            self.log(f'  {self.lang}: {len(warnings)} Sphinx {builder} warning(s), see {self.work.name}/sphinx-{builder}.log')
        return warnings

    def _inputs_hash(self):
        """Hash of everything Sphinx reads: the rst tree, the book's static files, this package.
        Computed once per edition, after ``write_rst``; html and pdf share it."""
        if self._inputs is None:
            h = hashlib.sha256()
            for base in (self.rst_dir, TOOL_ROOT / 'static', Path(__file__).parent):
                for path in sorted(p for p in base.rglob('*') if p.is_file() and '__pycache__' not in p.parts):
                    h.update(str(path.relative_to(base)).encode() + b'\0' + path.read_bytes())
            self._inputs = h.hexdigest()
        return self._inputs

    def _stamp_path(self, name):
        return self.work / f'{name}.fingerprint'

    def _stamp_value(self, extra):
        return hashlib.sha256(f'{self._inputs_hash()}:{extra}'.encode()).hexdigest()

    def _up_to_date(self, name, output, extra=''):
        """True when ``output`` was built from exactly the current inputs."""
        stamp = self._stamp_path(name)
        return output.is_file() and stamp.is_file() and stamp.read_text() == self._stamp_value(extra)

    def _stamp(self, name, extra=''):
        self._stamp_path(name).write_text(self._stamp_value(extra))

    def html(self):
        if self._up_to_date('html', self.html_dir / 'index.html'):
            self.log(f'  {self.lang}: html unchanged')
            return []
        theme = _theme_fingerprint()
        theme_stamp = self._stamp_path('html-theme')
        if not theme_stamp.is_file() or theme_stamp.read_text() != theme:
            # Sphinx never removes a static file, and rewrites only the pages whose source or
            # config changed: after a change to the theme, its assets or our extension, write
            # every page afresh (the doctrees stay: sources are not read again).
            for path in self.html_dir.glob('*'):
                if path.name != '.doctrees':
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
        warnings = self._sphinx('html', self.html_dir)
        theme_stamp.write_text(theme)
        self._stamp('html')
        return warnings

    def pdf(self, frontmatter, backmatter):
        """LaTeX through Sphinx, then xelatex; returns the PDF path."""
        tex = self.latex_dir / f'{self.config.name}-{self.lang}.tex'
        matter = f'{frontmatter},{backmatter}'
        if self._up_to_date('pdf', tex.with_suffix('.pdf'), matter):
            self.log(f'  {self.lang}: pdf unchanged')
            return tex.with_suffix('.pdf')
        self._sphinx('latex', self.latex_dir)
        from d2lbook.build import process_latex
        process_latex(str(tex), None)
        unnumber_chapters(tex, frontmatter, backmatter, LANGUAGES[self.lang].references)
        # -g: we only get here when the inputs changed, so always typeset. latexmk's own
        # bookkeeping can otherwise replay a failure left by a build that was killed mid-run.
        proc = subprocess.run(['latexmk', '-g', '-xelatex', '-interaction=nonstopmode', '-halt-on-error',
                               tex.name], cwd=self.latex_dir, capture_output=True, text=True)
        log_path = tex.with_suffix('.log')
        log_text = log_path.read_text(encoding='utf-8', errors='replace') if log_path.is_file() else ''
        pdf = tex.with_suffix('.pdf')
        if proc.returncode != 0 or not pdf.is_file():
            errors = [l for l in log_text.splitlines() if l.startswith('!')][:5]
            raise BuildError(Problem(tex, 1, 'xelatex failed: ' + ('; '.join(errors) or proc.stdout[-1500:]),
                                     f'see {log_path}'))
        missing = sorted(set(re.findall(r'Missing character: There is no (\S+)', log_text)))
        if missing:
            raise BuildError(Problem(tex, 1, f'the PDF is missing {len(missing)} glyph(s): {" ".join(missing[:20])}',
                                     'a font for this script is not configured'))
        self._stamp('pdf', matter)
        return pdf


def _theme_fingerprint():
    """Hash of what the HTML looks like apart from its sources: the theme and extension versions,
    the book's static files and its Sphinx extension."""
    from importlib.metadata import version
    h = hashlib.sha256(' '.join(version(d) for d in ('sphinx', 'furo', 'sphinx-copybutton')).encode())
    for path in [Path(__file__).with_name('sphinx_ext.py')] + sorted(p for p in (TOOL_ROOT / 'static').rglob('*')
                                                                      if p.is_file()):
        h.update(path.name.encode() + b'\0' + path.read_bytes())
    return h.hexdigest()


def discussion_qr(url, label):
    """A QR code for the section's discussion page, at the end of the section in the PDF."""
    safe = url.replace('%', '\\%').replace('#', '\\#')
    return ('\n\n.. raw:: latex\n\n'
            f'   \\par\\medskip\\noindent\\qrcode[height=1.6cm]{{{safe}}}\\quad '
            f'\\parbox[b]{{0.7\\linewidth}}{{\\small {label}: \\url{{{safe}}}}}\\par\n')


REFERENCES_TOC = '\n\n.. toctree::\n   :hidden:\n\n   references\n'


def _unwrapped_pandoc():
    """Make nbconvert call pandoc without line wrapping.

    At pandoc's default 72 columns, Markdown tables become reST grid tables whose
    cells are wrapped mid-word, which breaks inline roles such as :math: (and CJK
    text, counted double-width, wraps the most).
    """
    import nbconvert.filters.pandoc as nb_pandoc
    if getattr(nb_pandoc.pandoc, 'unwrapped', False):
        return
    original = nb_pandoc.pandoc

    def pandoc(source, fmt, to, extra_args=None, **kwargs):
        return original(source, fmt, to, extra_args=list(extra_args or []) + ['--columns=10000'], **kwargs)
    pandoc.unwrapped = True
    nb_pandoc.pandoc = pandoc


def _write_if_changed(path, text):
    if not path.is_file() or path.read_text(encoding='utf-8') != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding='utf-8')


def _copy_if_changed(src, dst):
    if dst.is_file() and dst.stat().st_size == src.stat().st_size and dst.read_bytes() == src.read_bytes():
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)


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
