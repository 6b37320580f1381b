"""Turn section Markdown into Jupyter notebooks, and compare code across editions."""
import io
import re
import tokenize

import nbformat

from .markdown import read_cells

RESOURCE_HINT = re.compile(r'<!--\s*resources:\s*(?P<spec>[^>]*?)\s*-->')
READS_HINT = re.compile(r'<!--\s*reads:\s*(?P<files>[^>]*?)\s*-->')
SKIP_TOKENS = (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER)


def code_signature(source):
    """The code of a cell with comments and layout-only whitespace removed.

    Two cells with the same signature run the same program; translations may
    change comments freely.
    """
    try:
        tokens = tokenize.generate_tokens(io.StringIO(source + '\n').readline)
        return ' '.join(f'{t.type}:{t.string}' for t in tokens if t.type not in SKIP_TOKENS)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source.strip()


def resource_hint(cells):
    """A section's hints from its prose: ``<!-- resources: gpus=1 -->`` as ints, and under ``reads``
    the book files it declares with ``<!-- reads: data/w.params -->``."""
    hints = {}
    for cell in cells:
        match = RESOURCE_HINT.search(cell.source) if cell.kind == 'markdown' else None
        if match:
            pairs = (item.split('=') for item in match['spec'].split(',') if '=' in item)
            hints = {k.strip(): int(v) for k, v in pairs}
            break
    reads = [rel for _, rel in declared_reads(cells)]
    return {**hints, 'reads': reads} if reads else hints


def declared_reads(cells):
    """``(Markdown line, path)`` of every file named in a ``<!-- reads: a b -->`` comment: files the
    code reads without Python's ``open`` (native loaders such as ``mx.nd.load``), which the build
    cannot see. Paths are relative to the book root; a directory stands for every file in it."""
    found = []
    for cell in cells:
        if cell.kind == 'markdown':
            for match in READS_HINT.finditer(cell.source):
                line = cell.line + cell.source.count('\n', 0, match.start())
                found += [(line, rel) for rel in re.split(r'[\s,]+', match['files']) if rel]
    return found


def to_notebook(cells):
    """A notebook whose cells keep their Markdown line in ``metadata.md_line``."""
    nb_cells = []
    for i, cell in enumerate(cells):
        make = nbformat.v4.new_code_cell if cell.kind == 'code' else nbformat.v4.new_markdown_cell
        nb_cell = make(cell.source)
        nb_cell['id'] = f'cell-{i}'     # stable, so an unchanged section writes an identical notebook
        nb_cell.metadata['md_line'] = cell.line
        nb_cells.append(nb_cell)
    nb = nbformat.v4.new_notebook(cells=nb_cells)
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}
    nb.metadata['language_info'] = {'name': 'python'}
    return nb


def read_notebook(path):
    """Read a section and return (cells, notebook)."""
    cells = read_cells(path)
    return cells, to_notebook(cells)
