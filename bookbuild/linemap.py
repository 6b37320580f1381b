"""Map lines of the generated reST back to the Markdown they came from, so that Sphinx's
warnings name the file and line an author edits instead of ``_build/en/rst/x.rst:41``.

Before conversion every cell is preceded by a one-paragraph cell ``BOOKBUILDCELL<i>``; pandoc
keeps it as a line of its own, which ``unmark`` removes, noting which cell each reST line came
from. Within a cell, a reST line maps to the Markdown line sharing the most words with it.
"""
import json
import re
from pathlib import Path

import nbformat

from .errors import Problem

MARK = 'BOOKBUILDCELL'
MARK_LINE = re.compile(rf'^{MARK}(\d+)\s*$')
WORD = re.compile(r'\w+')
WARNING = re.compile(r'^(?:(?P<file>\S.*?\.rst)(?::(?P<line>\d+))?: )?(?P<level>WARNING|ERROR|CRITICAL|SEVERE): '
                     r'(?P<message>.*)$')


def mark_cells(nb):
    """Put a mark cell before every cell of ``nb`` (in place)."""
    cells = []
    for i, cell in enumerate(nb.cells):
        cells += [nbformat.v4.new_markdown_cell(f'{MARK}{i}'), cell]
    nb.cells = cells
    return nb


def cell_lines(nb):
    """``(Markdown line, source)`` of each cell of a section's notebook (``metadata.md_line``)."""
    return [(c.metadata.get('md_line', 1), c.source) for c in nb.cells]


def _best_line(line, source, text):
    words = set(WORD.findall(text))
    best, score = line, 0
    for offset, md in enumerate(source.split('\n')):
        common = len(words & set(WORD.findall(md)))
        if common > score:
            best, score = line + offset, common
    return best


def unmark(body, cells):
    """Remove the marks from reST ``body``; return it and the Markdown line of each of its lines.

    ``cells``: ``cell_lines`` of the notebook that was marked.
    """
    out, lines, current, after_mark = [], [], 0, False
    for text in body.split('\n'):
        m = MARK_LINE.match(text)
        if m:
            current, after_mark = int(m[1]), True
            continue
        if after_mark and not text.strip():
            after_mark = False
            continue
        after_mark = False
        out.append(text)
        lines.append(_best_line(*cells[min(current, len(cells) - 1)], text) if cells else 1)
    return '\n'.join(out), lines


def save(path, md_path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({'path': str(md_path), 'lines': lines}), encoding='utf-8')


def warnings(stderr, rst_dir, map_dir, builder):
    """Sphinx's warnings as Problems at Markdown file and line (the reST place kept in the message)."""
    problems = []
    for text in stderr.splitlines():
        m = WARNING.match(text.strip())
        if not m:
            continue
        message, line = m['message'].strip(), int(m['line'] or 0)
        where = f'Sphinx {builder}'
        path, md_line = rst_dir / 'conf.py', 1
        if m['file']:
            rst = Path(m['file'])
            try:
                name = rst.resolve().relative_to(rst_dir.resolve()).with_suffix('').as_posix()
            except ValueError:
                name = None
            where += f', {rst.name}:{line}' if line else f', {rst.name}'
            path = rst
            mapping = map_dir / f'{name}.json' if name else None
            if mapping and mapping.is_file():
                data = json.loads(mapping.read_text(encoding='utf-8'))
                path = Path(data['path'])
                lines = data['lines']
                md_line = lines[min(max(line, 1), len(lines)) - 1] if lines else 1
            else:
                md_line = line or 1
        problems.append(Problem(path, md_line, f'{message} ({where})'))
    return problems
