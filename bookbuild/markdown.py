"""Split a d2lbook Markdown file into prose and code cells, keeping line numbers."""
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import BuildError, Problem

FENCE = re.compile(r'^(?P<fence>`{3,})\s*(?P<info>.*?)\s*$')
CODE_INFO = re.compile(r'^\{\.python\s+\.input(?P<attrs>[^}]*)\}$')


@dataclass
class Fence:
    """A fenced block: lines ``start`` (the opening backticks) to ``end`` (the closing ones), 0-based."""
    start: int
    end: int
    info: str           # what follows the backticks: '{.python .input}', 'toc', 'eval_rst', ...
    closed: bool


def fences(lines):
    """Every fenced block of a document in order; a block ends at a line of the same backticks.

    The one fence parser of the build: cells, toc blocks, reference checks and the
    renderer's protected regions all read fences through it.
    """
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        end = i + 1
        while end < len(lines) and lines[end].rstrip() != m['fence']:
            end += 1
        yield Fence(i, min(end, len(lines) - 1), m['info'], end < len(lines))
        i = end + 1


def fence_spans(text):
    """(start, end) character offsets of the fenced blocks of ``text``, closing line included."""
    lines = text.split('\n')
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    return [(offsets[f.start], min(offsets[f.end + 1] - 1, len(text))) for f in fences(lines)]


@dataclass
class Cell:
    """A run of Markdown, or one executable code block, starting at ``line`` (1-based)."""
    kind: str  # 'markdown' or 'code'
    source: str
    line: int
    attrs: str = ''


def read_text(path):
    """Read a source file as UTF-8, naming the line of the first invalid byte."""
    data = Path(path).read_bytes()
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b'\n') + 1
        raise BuildError(Problem(Path(path), line,
                                 f'invalid UTF-8 byte 0x{data[e.start]:02x}',
                                 'save the file as UTF-8')) from None


def split_cells(text):
    """Return the cells of a Markdown document in order."""
    cells, lines, prose_start = [], text.split('\n'), 0
    for fence in fences(lines):
        code = CODE_INFO.match(fence.info)
        if not code:
            continue        # other fences (toc, eval_rst, plain ```python) stay in the prose
        _flush(cells, lines[prose_start:fence.start], prose_start + 1)
        body = '\n'.join(lines[fence.start + 1:fence.end if fence.closed else fence.end + 1]).strip('\n')
        cells.append(Cell('code', body, fence.start + 2, code.group('attrs').strip()))
        prose_start = fence.end + 1
    _flush(cells, lines[prose_start:], prose_start + 1)
    return cells


def _flush(cells, prose, start):
    # Drop leading/trailing blank lines but keep the line number of the first kept one.
    prose = list(prose)
    while prose and not prose[0].strip():
        prose.pop(0)
        start += 1
    text = '\n'.join(prose).rstrip()
    if text:
        cells.append(Cell('markdown', text, start))


def read_cells(path):
    """Read and split ``path``."""
    return split_cells(read_text(path))
