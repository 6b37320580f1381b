"""Slide decks: one HTML page per section with slide marks (slidemarks.py), made from the section's
executed notebook as d2lbook makes its slides, and shown offline with the vendored MathJax.

A deck holds the section's title, the marked passages (``[...]`` marks start a new slide) and every
code cell without its comments, with its outputs; code cells without outputs join the next one.
``build.py slides`` puts the decks into the published site by themselves (``publish_slides``).
"""
import base64
import html
import io
import mimetypes
import os
import posixpath
import re
import shutil
import tokenize
from pathlib import Path

from .files import write_if_changed
from .languages import SOURCE
from .publish import publish
from .slidemarks import slide_text

ASSETS = '_static'          # the deck's own scripts, styles and MathJax, inside the slides directory
TOOL_STATIC = Path(__file__).resolve().parent.parent / 'static'
LABEL = {'en': 'Slides', 'ja': 'スライド', 'zh': '幻灯片', 'ko': '슬라이드'}
ROLE = re.compile(r':(label|eqlabel|numref|ref|eqref|cite|citet|citep):`([^`]*)`')
IMG_SRC = re.compile(r'(<img\b[^>]*?\bsrc=")([^"]+)(")')
ANSI = re.compile(r'\x1b\[[0-9;]*[A-Za-z]')

PAGE = '''<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{assets}/slides.css">
<link rel="stylesheet" href="{assets}/pygments.css">
<script>window.MathJax = {{tex: {{inlineMath: [['$', '$'], ['\\\\(', '\\\\)']], processEscapes: true}},
  options: {{enableMenu: false}}}};</script>
<script defer src="{assets}/mathjax/tex-chtml-full.js"></script>
<script defer src="{assets}/slides.js"></script>
</head><body>
<main class="deck">
{slides}
</main>
<nav class="deck-bar"><a class="deck-book" href="{page}">{book}</a>
<span class="deck-nav"><button class="deck-prev" type="button" aria-label="previous">&#8249;</button>
<span class="deck-counter">1 / {count}</span>
<button class="deck-next" type="button" aria-label="next">&#8250;</button></span></nav>
</body></html>
'''


def without_comments(source):
    """Code as shown on a slide: comments (``#@save`` too) removed, lines left empty by them dropped."""
    lines = source.split('\n')
    try:
        comments = [t.start for t in tokenize.generate_tokens(io.StringIO(source + '\n').readline)
                    if t.type == tokenize.COMMENT]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source.strip()
    emptied = set()
    for row, col in comments:
        lines[row - 1] = lines[row - 1][:col].rstrip()
        if not lines[row - 1].strip():
            emptied.add(row - 1)
    return '\n'.join(l for i, l in enumerate(lines) if i not in emptied).strip()


def deck_items(nb):
    """The slides of a section's notebook: lists of items, each ``['markdown', text, starts a slide]``
    or ``['code', source, outputs]``; None when the section has no slide marks."""
    items, marked = [], False
    for cell in nb.cells:
        if cell.cell_type == 'code':
            items.append(['code', without_comments(cell.source), list(cell.get('outputs', []))])
            continue
        text, new_slide = slide_text(cell.source)
        marked = marked or bool(text) or new_slide
        heading = next((l for l in cell.source.splitlines() if l.strip().startswith('# ')), None)
        if heading:
            text = heading + '\n\n' + text
        if text.strip():
            items.append(['markdown', text, new_slide])
    if not marked:
        return None
    merged, pending = [], []

    def flush(outputs):
        if pending:
            merged.append(['code', '\n\n'.join(pending), outputs])
            pending.clear()
    for item in items:      # code cells in a row: those without outputs join the next one (d2lbook)
        if item[0] == 'code':
            pending.append(item[1])
            if item[2]:
                flush(item[2])
        else:
            flush([])
            merged.append(item)
    flush([])
    slides = [[]]
    for item in merged:
        if item[0] == 'markdown' and item[2] and slides[-1]:
            slides.append([])
        slides[-1].append(item)
    return slides


class Renderer:
    """Turns deck items of one section into HTML."""

    def __init__(self, config, lang, name):
        self.config, self.lang, self.name = config, lang, name
        self.roots = [config.root, config.chapters(lang), config.chapters(SOURCE)]

    def markdown(self, text):
        from nbconvert.filters.markdown_mistune import markdown2html_mistune

        def role(m):
            kind, target = m[1], m[2]
            target = re.sub(r'^.*<([^>]+)>\s*$', r'\1', target)
            if kind in ('label', 'eqlabel'):
                return ''
            return f'({target})' if kind == 'eqref' else f'[{target}]' if kind.startswith('cite') else target
        return IMG_SRC.sub(self._inline_image, markdown2html_mistune(ROLE.sub(role, text)))

    def _inline_image(self, m):
        """Figures are put into the deck itself, so a deck needs nothing from the book's pages."""
        src = m[2]
        if '://' in src or src.startswith('data:'):
            return m[0]
        rel = posixpath.normpath(posixpath.join(posixpath.dirname(self.name), src)).lstrip('./')
        for root in self.roots:
            path = root / rel
            if path.is_file():
                kind = mimetypes.guess_type(path.name)[0] or 'application/octet-stream'
                data = base64.b64encode(path.read_bytes()).decode('ascii')
                return f'{m[1]}data:{kind};base64,{data}{m[3]}'
        return m[0]

    def code(self, source, outputs):
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer
        parts = [highlight(source, PythonLexer(), HtmlFormatter())] if source else []
        parts += [self.output(out) for out in outputs]
        return '<div class="code">' + ''.join(parts) + '</div>'

    def output(self, out):
        kind = out.get('output_type')
        if kind == 'stream':
            return f'<pre class="output">{html.escape(out.get("text", ""))}</pre>'
        if kind == 'error':
            return f'<pre class="output error">{html.escape(ANSI.sub("", chr(10).join(out.get("traceback", []))))}</pre>'
        data = out.get('data', {})
        if 'image/svg+xml' in data:
            return f'<div class="output">{_text(data["image/svg+xml"])}</div>'
        if 'image/png' in data:
            return f'<div class="output"><img src="data:image/png;base64,{_text(data["image/png"]).strip()}" alt=""></div>'
        if 'text/html' in data:
            return f'<div class="output">{_text(data["text/html"])}</div>'
        if 'text/plain' in data:
            return f'<pre class="output">{html.escape(_text(data["text/plain"]))}</pre>'
        return ''

    def slide(self, items):
        body = ''.join(self.markdown(item[1]) if item[0] == 'markdown' else self.code(item[1], item[2])
                       for item in items)
        return f'<section class="slide">{body}</section>'


def _text(value):
    return ''.join(value) if isinstance(value, list) else value


def title_of(nb):
    for cell in nb.cells:
        if cell.cell_type == 'markdown':
            for line in cell.source.splitlines():
                if line.startswith('# '):
                    return re.sub(r'[*_`]', '', line[2:]).strip()
    return ''


def deck_html(config, lang, name, nb, slides):
    depth = name.count('/') + 1
    renderer = Renderer(config, lang, name)
    title = title_of(nb) or name
    return PAGE.format(lang=lang, title=html.escape(f'{title} — {LABEL.get(lang, LABEL[SOURCE])}'),
                       assets='/'.join(['..'] * (depth - 1) + [ASSETS]) if depth > 1 else ASSETS,
                       slides='\n'.join(renderer.slide(s) for s in slides), count=len(slides),
                       page='/'.join(['..'] * depth + [f'{name}.html']),
                       book=html.escape(config.title_for(lang)))


def _asset(config, name):
    """A file or directory of the book's ``static/``, else of the build system's."""
    own = config.static_dir / name
    return own if own.exists() else TOOL_STATIC / name


def write_assets(config, out_dir):
    from pygments.formatters import HtmlFormatter
    assets = out_dir / ASSETS
    for name in ('slides.css', 'slides.js'):
        write_if_changed(assets / name, _asset(config, f'slides/{name}').read_bytes())
    write_if_changed(assets / 'pygments.css', HtmlFormatter().get_style_defs('.highlight'))
    mathjax = _asset(config, 'mathjax')
    for path in mathjax.rglob('*'):
        if path.is_file():
            write_if_changed(assets / 'mathjax' / path.relative_to(mathjax), path.read_bytes())


def deck_names(out_dir):
    """The sections with a deck in ``out_dir``."""
    if not out_dir.is_dir():
        return []
    return sorted(p.relative_to(out_dir).with_suffix('').as_posix() for p in out_dir.rglob('*.html')
                  if p.relative_to(out_dir).parts[0] != ASSETS)


def write_decks(config, lang, sections, out_dir):
    """Write the deck of every section of ``lang`` that has slide marks into ``out_dir``
    (``<chapter>/<section>.html``); remove decks of sections that no longer have any.
    Returns the names of the sections with a deck."""
    names = []
    for s in sections:
        slides = deck_items(s.notebook)
        if slides is None:
            continue
        write_if_changed(out_dir / f'{s.name}.html', deck_html(config, lang, s.name, s.notebook, slides))
        names.append(s.name)
    if names:
        write_assets(config, out_dir)
    for old in set(deck_names(out_dir)) - set(names):
        (out_dir / f'{old}.html').unlink()
    if not names and out_dir.is_dir():
        shutil.rmtree(out_dir)
    return names


def publish_slides(config, decks, log=print):
    """``decks``: {lang: directory of its decks}. Put each into the published site as the edition's
    ``slides`` directory, swapped in with one rename; without a published site, start an empty one."""
    link = config.build_dir / 'site'
    if not link.is_dir():
        publish(config, {}, log)
    site = link.resolve()
    for lang, src in decks.items():
        dst = site / lang / 'slides'
        tmp, old = dst.with_name(f'.slides-{os.getpid()}'), dst.with_name(f'.slides-old-{os.getpid()}')
        for path in (tmp, old):
            shutil.rmtree(path, ignore_errors=True)
        if src.is_dir():
            shutil.copytree(src, tmp)
        if dst.exists():
            os.replace(dst, old)
        if tmp.exists():
            os.replace(tmp, dst)
        shutil.rmtree(old, ignore_errors=True)
        if dst.parent.is_dir() and not any(dst.parent.iterdir()):
            dst.parent.rmdir()
    return link
