"""Split a d2lbook Markdown file into prose and code cells, keeping line numbers."""
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import BuildError, Problem

CODE_FENCE = re.compile(r'^```\s*\{\.python\s+\.input(?P<attrs>[^}]*)\}\s*$')
ANY_FENCE = re.compile(r'^(`{3,})')


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
    cells, prose, prose_start = [], [], 1
    lines = text.split('\n')
    i = 0
    while i < len(lines):
        line = lines[i]
        code = CODE_FENCE.match(line)
        fence = ANY_FENCE.match(line)
        if code or fence:
            end = i + 1
            closing = '```' if code else fence.group(1)
            while end < len(lines) and lines[end].rstrip() != closing:
                end += 1
            if code:
                _flush(cells, prose, prose_start)
                body = '\n'.join(lines[i + 1:end]).strip('\n')
                cells.append(Cell('code', body, i + 2, code.group('attrs').strip()))
                prose, prose_start = [], end + 2
            else:
                prose.extend(lines[i:end + 1])
            i = end + 1
            continue
        prose.append(line)
        i += 1
    _flush(cells, prose, prose_start)
    return cells


def _flush(cells, prose, start):
    # Drop leading/trailing blank lines but keep the line number of the first kept one.
    while prose and not prose[0].strip():
        prose.pop(0)
        start += 1
    text = '\n'.join(prose).rstrip()
    if text:
        cells.append(Cell('markdown', text, start))


def read_cells(path):
    """Read and split ``path``."""
    return split_cells(read_text(path))
