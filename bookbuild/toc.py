"""Find the sections of a book by following the ``toc`` blocks from ``index.md`` (once per build)."""
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from .errors import Collector
from .markdown import fences, read_text

OPTIONS = ('maxdepth', 'numbered', 'titlesonly')


@dataclass
class TocBlock:
    options: dict
    entries: list = field(default_factory=list)  # (name, line)


@dataclass
class Toc:
    order: list         # the documents (paths without .md) in reading order, 'index' first
    front: int = 0      # unnumbered entries of index.md before the numbered ones (front matter)
    back: int = 0       # and after them (back matter)


def parse_toc_blocks(text, path, problems):
    """Return the toc blocks of a document; report unclosed blocks."""
    blocks, lines = [], text.split('\n')
    for fence in fences(lines):
        if fence.info != 'toc':
            continue
        if not fence.closed:
            problems.add(path, fence.start + 1, 'toc block is never closed', 'end it with ```')
        block = TocBlock({})
        for i in range(fence.start + 1, fence.end if fence.closed else fence.end + 1):
            entry = lines[i].strip()
            if entry.startswith(':'):
                key, _, value = entry[1:].partition(':')
                if key not in OPTIONS:
                    problems.add(path, i + 1, f'unknown toc option "{entry}"', 'use :maxdepth: N or :numbered:')
                block.options[key] = value.strip()
            elif entry:
                block.entries.append((entry, i + 1))
        blocks.append(block)
    return blocks


def read(src_dir, problems=None):
    """The book's table of contents.

    Each toc entry is relative to the directory of the document holding it; a missing
    file is a problem at that line.
    """
    problems = problems or Collector()
    order, seen, index_blocks = [], set(), []

    def visit(name):
        order.append(name)
        seen.add(name)
        path = src_dir / f'{name}.md'
        parent = PurePosixPath(name).parent
        blocks = parse_toc_blocks(read_text(path), path, problems)
        if name == 'index':
            index_blocks.extend(blocks)
        for block in blocks:
            for entry, line in block.entries:
                child = str(parent / entry) if str(parent) != '.' else entry
                if child in seen:
                    problems.add(path, line, f'toc entry "{entry}" is listed twice')
                elif not (src_dir / f'{child}.md').is_file():
                    problems.add(path, line, f'toc entry "{entry}" names a missing file {child}.md')
                else:
                    visit(child)

    visit('index')
    numbered = [i for i, b in enumerate(index_blocks) if 'numbered' in b.options]
    if not numbered:
        return Toc(order)
    front = sum(len(b.entries) for b in index_blocks[:numbered[0]])
    back = sum(len(b.entries) for b in index_blocks[numbered[-1] + 1:])
    return Toc(order, front, back)


def sections(src_dir, problems=None):
    """The documents in reading order (``read(...).order``)."""
    return read(src_dir, problems).order


def unreachable(src_dir, order):
    """Markdown files under ``src_dir`` that no toc reaches."""
    reached = {f'{name}.md' for name in order}
    return sorted(p.relative_to(src_dir).as_posix() for p in src_dir.rglob('*.md')
                  if p.relative_to(src_dir).as_posix() not in reached
                  and not any(part.startswith(('_', '.')) for part in p.relative_to(src_dir).parts))
