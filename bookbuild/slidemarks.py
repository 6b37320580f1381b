"""Slide marks in a section's prose, with d2lbook's meaning:

- ``[** text **]``: in the book and on the slides; starts a new slide;
- ``(** text **)``: in the book and on the slides; continues the current slide;
- ``[~~ text ~~]``: only on the slides; starts a new slide;
- ``(~~ text ~~)``: only on the slides; continues the current slide.

Marks are read outside code (fenced blocks and inline code spans), so ``f(**kwargs)`` in a code
span is text, and ``[**bold**](url)`` is a link. Marks do not nest.
"""
import re
from dataclasses import dataclass

from .markdown import fence_spans

OPEN = {'[**': '**]', '(**': '**)', '[~~': '~~]', '(~~': '~~)'}
TOKEN = re.compile(r'\[\*\*|\(\*\*|\[~~|\(~~|\*\*\]|\*\*\)|~~\]|~~\)')
CODE_SPAN = re.compile(r'(`+)(?!`).*?(?<!`)\1(?!`)', re.S)
HINT = 'slide marks pair up as [** **], (** **), [~~ ~~] or (~~ ~~) and do not nest'


@dataclass
class Mark:
    """One marked passage: ``text[start:end]`` is the whole passage, marks included."""
    opener: str
    start: int
    end: int

    @property
    def inner(self):
        return slice(self.start + 3, self.end - 3)

    @property
    def new_slide(self):
        return self.opener.startswith('[')

    @property
    def slides_only(self):
        return self.opener.endswith('~~')


class MarkError(ValueError):
    def __init__(self, offset, message):
        super().__init__(message)
        self.offset, self.message = offset, message


def _masked(text):
    """``text`` with code (fenced blocks, code spans) blanked out, offsets kept."""
    chars = list(text)
    spans = fence_spans(text)
    last, prose = 0, []
    for start, end in spans + [(len(text), len(text))]:
        prose.append((last, start))
        chars[start:end] = [' '] * (end - start)
        last = end
    for lo, hi in prose:
        for m in CODE_SPAN.finditer(text, lo, hi):
            chars[m.start():m.end()] = [' '] * (m.end() - m.start())
    return ''.join(chars)


def marks(text):
    """The marked passages of Markdown ``text`` in order; raises MarkError at a mark that does not pair."""
    found, open_ = [], None
    masked = _masked(text)
    for m in TOKEN.finditer(masked):
        token = m.group(0)
        if token in OPEN:
            if open_ is not None:
                raise MarkError(m.start(), f'slide mark "{token}" inside the passage opened by "{open_.group(0)}"')
            open_ = m
        elif open_ is not None and token == OPEN[open_.group(0)]:
            if token == '**]' and masked.startswith('(', m.end()):
                open_ = None            # [**bold**](url) is a link
                continue
            found.append(Mark(open_.group(0), open_.start(), m.end()))
            open_ = None
        elif open_ is not None:
            raise MarkError(m.start(), f'slide mark "{token}" closes "{open_.group(0)}"')
        # a closing mark with nothing open is text: "(see **this**)"
    if open_ is not None:
        raise MarkError(open_.start(), f'slide mark "{open_.group(0)}" is never closed by "{OPEN[open_.group(0)]}"')
    return found


def check(sections, problems):
    """Report marks that do not pair, at their Markdown file and line."""
    for section in sections:
        if section.fallback:         # English text, checked with the English edition
            continue
        for cell in section.cells:
            if cell.kind != 'markdown':
                continue
            try:
                marks(cell.source)
            except MarkError as e:
                problems.add(section.path, cell.line + cell.source.count('\n', 0, e.offset), e.message, HINT)


def _line_bounds(text, start, end):
    """Widen ``[start, end)`` to whole lines when nothing else is on them."""
    lo = text.rfind('\n', 0, start) + 1
    hi = text.find('\n', end)
    hi = len(text) if hi < 0 else hi
    if not text[lo:start].strip() and not text[end:hi].strip():
        return lo, min(hi + 1, len(text))
    return start, end


def book_text(text):
    """Markdown ``text`` as the book shows it: ``**`` marks removed (their text kept), ``~~``
    passages removed; a line left empty by a mark goes with it, so ``(**$$ ... $$**)`` followed
    by ``:eqlabel:`` keeps its label."""
    cuts = []
    for mark in marks(text):
        if mark.slides_only:
            start, end = _line_bounds(text, mark.start, mark.end)
            if (start, end) == (mark.start, mark.end) and start > 0 and text[start - 1] == ' ' \
                    and (end == len(text) or text[end] in ' .,;:!?)\n'):
                start -= 1        # "a (~~b~~) c" -> "a c"
            cuts.append((start, end))
        else:
            cuts.append(_line_bounds(text, mark.start, mark.start + 3))
            cuts.append(_line_bounds(text, mark.end - 3, mark.end))
    out, last = [], 0
    for start, end in cuts:
        out.append(text[last:start])
        last = max(last, end)
    out.append(text[last:])
    return ''.join(out)


def slide_text(text):
    """What a Markdown cell puts on the slides: its marked passages joined, as d2lbook does
    (sentences capitalized, trailing punctuation dropped), and whether it starts a new slide."""
    found = marks(text)
    parts = [text[m.inner] for m in found]
    src = '\n'.join(parts)
    if src:
        for sep in ('.\n', '. '):
            src = sep.join(s[:1].upper() + s[1:] for s in (s.strip() for s in src.split(sep)))
        src = src.replace('.$$', '$$').replace(',$$', '$$').rstrip(',. \n:，。：')
    return src, any(m.new_slide for m in found)
