"""Prepare executed notebooks for rendering: DataFrame outputs become reST tables so the PDF keeps
them, display math sits on one line so d2lbook can attach its equation label, and text that reST
would read as markup is escaped."""
import re
from html.parser import HTMLParser

import nbformat

from .markdown import fence_spans

DISPLAY_MATH = re.compile(r'\$\$(.+?)\$\$', re.S)
RST_INLINE = re.compile(r'([\\|*_`])')


def rst_escape(text):
    """Backslash-escape the characters reST reads as inline markup."""
    return RST_INLINE.sub(r'\\\1', text)


class _TableParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.row, self.cell, self.depth = [], None, None, 0

    def handle_starttag(self, tag, attrs):
        if tag == 'table':
            self.depth += 1
        elif tag == 'tr' and self.depth == 1:
            self.row = []
        elif tag in ('td', 'th') and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ('td', 'th') and self.cell is not None:
            self.row.append(' '.join(''.join(self.cell).split()))
            self.cell = None
        elif tag == 'tr' and self.row is not None:
            self.rows.append(self.row)
            self.row = None
        elif tag == 'table':
            self.depth -= 1

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def html_table_rows(html):
    """The rows (lists of cell texts) of the first HTML table, as pandas writes DataFrames."""
    parser = _TableParser()
    parser.feed(html)
    rows = [r for r in parser.rows if any(c for c in r)]
    if len(rows) < 2:
        return None
    width = max(len(r) for r in rows)
    rows = [r + [''] * (width - len(r)) for r in rows]
    # pandas puts the index name on a second header row with empty cells; merge it.
    if len(rows) > 2 and rows[1][0] and not any(rows[1][1:]) and not rows[0][0]:
        rows[0][0] = rows[1][0]
        del rows[1]
    return rows


def rows_to_list_table(rows):
    """A reST list-table (no cell wrapping, works in HTML and LaTeX) in an eval_rst block."""
    lines = ['```eval_rst', '.. list-table::', '   :header-rows: 1', '   :class: d2l-output-table', '']
    for row in rows:
        for i, cell in enumerate(row):
            text = rst_escape(cell) if cell else '\\ '
            lines.append(('   * - ' if i == 0 else '     - ') + text)
    return '\n'.join(lines + ['```'])


def tables_as_rst(nb):
    """Move DataFrame outputs into reST tables right after their cell, so the PDF keeps them."""
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        if cell.cell_type != 'code':
            continue
        kept = []
        for out in cell.get('outputs', []):
            rows = html_table_rows(out.get('data', {}).get('text/html', ''))
            if rows:
                cells.append(nbformat.v4.new_markdown_cell(rows_to_list_table(rows)))
            else:
                kept.append(out)
        cell.outputs = kept
    nb.cells = cells
    return nb


def _protected(text, math=True):
    """Spans of ``text`` to leave alone: fenced blocks, and (with ``math``) ``$$...$$`` outside them."""
    spans, last = [], 0
    for start, end in fence_spans(text) + [(len(text), len(text))]:
        if math:
            spans += [(last + m.start(), last + m.end()) for m in DISPLAY_MATH.finditer(text[last:start])]
        spans.append((start, end))
        last = end
    return spans[:-1]


def _outside(pattern_fn, text, math=True):
    """Apply ``pattern_fn`` to the parts of ``text`` that ``_protected`` does not cover."""
    parts, last = [], 0
    for start, end in _protected(text, math):
        parts.append(pattern_fn(text[last:start]))
        parts.append(text[start:end])
        last = end
    parts.append(pattern_fn(text[last:]))
    return ''.join(parts)


INLINE_MATH = re.compile(r'\$[^$\n]+\$')
CODE_SPAN = re.compile(r'`[^`\n]+`')
STARS = re.compile(r'(?<![\\*])\*{1,2}(?!\*)')


def _unemphasize_math(text):
    """Pair emphasis stars in order within each paragraph; drop a pair that encloses math."""
    codes = CODE_SPAN.findall(text)
    paragraphs = re.split(r'(\n\s*\n)', CODE_SPAN.sub('\1', text))
    for i, para in enumerate(paragraphs):
        maths = INLINE_MATH.findall(para)
        masked = INLINE_MATH.sub('\0', para)
        stars = [m for m in STARS.finditer(masked)
                 if not (m.group(0) == '*' and re.match(r'^[ \t]*$', masked[:m.start()].rsplit('\n', 1)[-1])
                         and masked[m.end():m.end() + 1] == ' ')]          # a list bullet
        drop, open_ = set(), {}
        for m in stars:
            kind = m.group(0)
            if kind in open_:
                start = open_.pop(kind)
                if '\0' in masked[start.end():m.start()]:
                    drop.update({start.start(), m.start()})
            else:
                open_[kind] = m
        out, last = [], 0
        for m in stars:
            if m.start() in drop:
                out.append(masked[last:m.start()])
                last = m.end()
        out.append(masked[last:])
        restored = iter(maths)
        paragraphs[i] = re.sub('\0', lambda _: next(restored), ''.join(out))
    restored = iter(codes)
    return re.sub('\1', lambda _: next(restored), ''.join(paragraphs))


def plain_emphasized_math(text):
    """Drop emphasis around text holding inline math (``*$n$-dimensional array*``):
    reST cannot nest the math role inside emphasis and would print it literally."""
    return _outside(_unemphasize_math, text)


FULLWIDTH_CLOSE = '。，、；：！？）」』”'
FULLWIDTH_OPEN = '（「『“，。、；：'
GAP_BEFORE_PUNCT = re.compile(r'(`) +([' + FULLWIDTH_CLOSE + '])')
GAP_AFTER_PUNCT = re.compile(r'([' + FULLWIDTH_OPEN + r']) +(:[a-z]+:`|`)')


def tight_fullwidth_punctuation(text):
    """Drop the spaces between a reference or code span and full-width punctuation
    (``:numref:`x` 。`` and ``（ :cite:`k```): the markup does not need them there, since reST
    accepts such punctuation next to inline markup, and Chinese and Japanese never set a gap."""
    def tighten(prose):
        return GAP_AFTER_PUNCT.sub(r'\1\2', GAP_BEFORE_PUNCT.sub(r'\1\2', prose))
    return _outside(tighten, text)


def one_line_math(text):
    """Join the lines of every ``$$...$$`` block (outside code fences).

    d2lbook turns ``:eqlabel:`` into a ``:label:`` option of the math directive,
    which only works when pandoc emits the formula as the directive's argument,
    i.e. when it is written on one line.
    """
    def join(match):
        return '$$' + ' '.join(l.strip() for l in match.group(1).strip().splitlines()) + '$$'
    return _outside(lambda prose: DISPLAY_MATH.sub(join, prose), text, math=False)


def escape_text_outputs(cell):
    """d2lbook shows text outputs as reST ``parsed-literal`` blocks, where ``|x|``,
    ``name_`` or ``*`` would be read as markup; escape them so the text shows as printed."""
    for out in cell.get('outputs', []):
        if out.get('output_type') == 'stream':
            out['text'] = rst_escape(out['text'])
        elif 'text/plain' in out.get('data', {}) and len(out['data']) == 1:
            out['data']['text/plain'] = rst_escape(out['data']['text/plain'])


def prepare(nb):
    """Everything the renderer needs changed in an executed notebook, in place."""
    tables_as_rst(nb)
    for cell in nb.cells:
        if cell.cell_type == 'markdown':
            cell.source = tight_fullwidth_punctuation(plain_emphasized_math(one_line_math(cell.source)))
        elif cell.cell_type == 'code':
            escape_text_outputs(cell)
    return nb
