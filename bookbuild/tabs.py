"""Framework tabs as d2lbook 1.0 selects them, and the merged page that shows them side by side.

A book lists its tabs in ``[build] tabs`` (the first is the default). A code cell belongs to the
tabs named by its ``%%tab a, b`` or ``#@tab a, b`` line, to every tab with ``all``, and to the
default tab when it names none. Prose between ``:begin_tab:`a, b``` and ``:end_tab:`` belongs to
those tabs; other prose to every tab. Each tab's page keeps the cells of that tab, without their
tab lines; ``%load_ext d2lbook.tab`` cells (the notebook's tab chooser) are dropped.
"""
import copy
import html
import re

import nbformat

from .markdown import fences

TAB_LINE = re.compile(r'# *@tab +([\w, ]+)')           # d2lbook's source_tab_pattern
TAB_MAGIC = re.compile(r'%%tab +([\w, ]+)')            # d2lbook's source_tab_pattern_2
TEXT_MARK = re.compile(r'^:(begin_tab|end_tab):(`[^`]*`)?\s*$')
LOAD_EXT = '%load_ext d2lbook.tab'
SELECTED_IF = re.compile(r'^\s*(el)?if\b.*\btab\.selected\(')
# The module each tab's framework is imported as (a tab not listed is its own module name).
MODULES = {'pytorch': 'torch', 'tensorflow': 'tensorflow', 'mxnet': 'mxnet', 'jax': 'jax',
           'numpy': 'numpy', 'paddle': 'paddle'}


def module_of(tab):
    return MODULES.get(tab, tab)


def _names(text):
    return [t.strip() for t in text.split(',') if t.strip()]


def split_prose(nb):
    """A copy of ``nb`` whose Markdown cells are cut at ``:begin_tab:`` blocks (outside fences);
    a block's cell gets ``metadata.tab`` and loses its two mark lines."""
    cells = []
    for cell in nb.cells:
        if cell.cell_type != 'markdown' or ':begin_tab:' not in cell.source:
            cells.append(cell)
            continue
        lines = cell.source.split('\n')
        fenced = {i for f in fences(lines) for i in range(f.start, f.end + 1)}
        part, tab, start = [], None, 0
        for i, line in enumerate(lines + [None]):
            mark = TEXT_MARK.match(line) if line is not None and i not in fenced else None
            if line is not None and not mark:
                part.append(line)
                continue
            if mark and mark[1] == 'end_tab' and tab is None:
                continue                # a stray end mark is dropped, as d2lbook does
            text = '\n'.join(part).strip('\n')
            if text.strip():
                new = nbformat.v4.new_markdown_cell(text)
                new['id'] = f'{cell.get("id", "cell")}-{len(cells)}'     # stable: pages are written only when they change
                new.metadata = copy.deepcopy(cell.metadata)
                new.metadata['md_line'] = cell.metadata.get('md_line', 1) + start
                if tab is not None:
                    new.metadata['tab'] = tab
                cells.append(new)
            part, start = [], i + 1
            if mark:
                tab = _names((mark[2] or '``')[1:-1]) if mark[1] == 'begin_tab' else None
    out = copy.copy(nb)
    out.cells = cells
    return out


def cell_tabs(cell, default):
    """The tabs a cell belongs to: [] for prose of every tab, ['all'], or a list of names."""
    if 'tab' in cell.metadata:
        return list(cell.metadata['tab'])
    if cell.cell_type != 'code':
        return []
    match = TAB_LINE.search(cell.source) or TAB_MAGIC.search(cell.source)
    return _names(match[1]) if match else [default]


def _clean_source(source, tab):
    """Drop tab lines, and keep only the branch of ``if tab.selected('x'):`` that names ``tab``."""
    lines = [l for l in source.split('\n') if not (TAB_LINE.search(l) or TAB_MAGIC.search(l))]
    if not any('tab.selected' in l for l in lines):
        return '\n'.join(lines)
    out, mode, indent = [], 0, 0
    for line in lines:
        if 'if' in line and 'tab.selected' in line:
            mode = 1 if (f'"{tab}"' in line or f"'{tab}'" in line) else 2
            indent = len(line) - len(line.lstrip())
            continue
        if mode and line.strip() and len(line) - len(line.lstrip()) <= indent:
            mode = 0
        if mode == 0:
            out.append(line)
        elif mode == 1:
            out.append(line[4:])
    return '\n'.join(out)


def select(nb, tab, default):
    """The page of ``tab``: a new notebook, each cell's position in ``nb`` in ``metadata.origin``.

    In a section with code that names ``tab`` nowhere (``all`` does not count for a tab other than
    the default one) or that has no code cell for it, the page is the prose of every tab: d2lbook
    skips such a section for that tab."""
    nb = split_prose(nb)
    has_code = any(c.cell_type == 'code' for c in nb.cells)
    named = tab == default or any(tab in cell_tabs(c, None) for c in nb.cells)
    cells, matched = [], False
    for i, cell in enumerate(nb.cells):
        tabs = cell_tabs(cell, default)
        if tabs and 'all' not in tabs and tab not in tabs:
            continue
        new = copy.deepcopy(cell)
        new.metadata['origin'] = i
        if tabs:
            if LOAD_EXT in new.source:
                continue
            new.metadata['tab'] = [tab]
            new.source = _clean_source(new.source, tab)
            matched = True
        cells.append(new)
    if has_code and not (matched and named):
        cells = [c for c in cells if c.cell_type != 'code']
    out = copy.copy(nb)
    out.cells = cells
    return out


def _raw(markup, line):
    cell = nbformat.v4.new_markdown_cell(f'```eval_rst\n.. raw:: html\n\n   {markup}\n```')
    cell.metadata['md_line'] = line
    return cell


def _same(a, b):
    return a.source == b.source and a.cell_type == b.cell_type and not a.get('outputs') and not b.get('outputs')


def merge(pages, tabs):
    """One page from the pages of every tab (``pages[i]`` is the page of ``tabs[i]``): prose of
    every tab once, and each run of tab-specific cells as a group of tabs (raw HTML for the
    web page; the script in static/tabs.js switches them)."""
    slots = {}
    for page in pages:
        for cell in page.cells:
            slots.setdefault(cell.metadata.get('origin', -1), []).append(cell)
    merged = []         # (cell, tabs it shows in; None for every tab)
    for origin in sorted(slots):
        plain = False
        for cell in slots[origin]:
            if 'tab' not in cell.metadata:      # prose of every tab: the same cell in each page
                if not plain:
                    merged.append((cell, None))
                plain = True
                continue
            prev = merged[-1] if merged else None
            if prev and prev[1] is not None and prev[0].metadata.get('origin') == origin and _same(prev[0], cell):
                prev[1].extend(cell.metadata['tab'])
            else:
                merged.append((cell, list(cell.metadata['tab'])))
    cells, group = [], []

    def flush():
        if not group:
            return
        if all(set(t) == set(tabs) for _, t in group):
            cells.extend(c for c, _ in group)
        else:
            shown = [t for t in tabs if any(t in g for _, g in group)]
            line = group[0][0].metadata.get('md_line', 1)
            kind = 'code' if group[0][0].cell_type == 'code' else 'text'
            buttons = ''.join(f'<button type="button" role="tab" data-tab="{html.escape(t)}">{html.escape(t)}</button>'
                              for t in shown)
            cells.append(_raw(f'<div class="d2l-tabs d2l-tabs-{kind}"><div class="d2l-tab-bar" role="tablist">'
                              f'{buttons}</div>', line))
            for t in shown:
                cells.append(_raw(f'<div class="d2l-tab-panel" role="tabpanel" data-tab="{html.escape(t)}">', line))
                cells.extend(c for c, g in group if t in g)
                cells.append(_raw('</div>', line))
            cells.append(_raw('</div>', line))
        group.clear()

    for cell, shown in merged:
        if shown is None:
            flush()
            cells.append(cell)
        else:
            group.append((cell, shown))
    flush()
    out = copy.copy(pages[0])
    out.cells = []
    for i, cell in enumerate(cells):        # each tab's page has the same cell ids: number them anew
        cell = copy.copy(cell)
        cell['id'] = f'cell-{i}'
        out.cells.append(cell)
    return out
