"""Make ``book-prose.txt``, the text corpus of the chapters on sequence models.

The corpus is the English prose of the book itself: every section of ``chapters/en`` in reading
order, with code cells, display math, tables, figures and reStructuredText roles removed, and
sentences that lean on inline math or on cross-references dropped. One paragraph per line, plain
ASCII. The file is built once by hand and committed (the book build does not regenerate it, so the
corpus stays fixed while the prose changes):

    python3 d2l/data/make_book_prose.py            # from the repository root

It needs only the standard library and ``bookbuild.toc`` (to read the table of contents).
"""
import re
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bookbuild.toc import sections  # noqa: E402

TARGET = Path(__file__).resolve().parent / 'book-prose.txt'
MAX_CHARS = 300_000   # keep the package small; the book's beginning comes first
# The chapters on sequences are written from this corpus; leave them out of it.
SKIP = ('chapter_recurrent', 'chapter_attention')

REPLACE = {'\u2019': "'", '\u2018': "'", '\u201c': '"', '\u201d': '"', '\u2014': ' - ',
           '\u2013': '-', '\u2026': '...', '\u00d7': 'x', '\u2192': 'to', '\u00a0': ' '}
ROLE = re.compile(r':(numref|eqref|cite|ref|label|eqlabel|numref):`[^`]*`')
PAREN_WITH_ROLE = re.compile(r'\s*\([^()]*:(?:numref|eqref|cite|ref):`[^`]*`[^()]*\)')
SIMPLE_MATH = re.compile(r'\$([A-Za-z0-9])\$')        # $x$ -> x, $3$ -> 3
SENTENCE_END = re.compile(r'(?<=[.!?])\s+(?=[A-Z])')


def blocks(text):
    """Yield the paragraphs of a Markdown text that are prose (no code, math, tables, figures)."""
    in_fence, in_math, in_comment, para = False, False, False, []
    for line in text.split('\n'):
        stripped = line.strip()
        if in_comment:
            in_comment = '-->' not in stripped
            continue
        if stripped.startswith('<!--'):
            in_comment = '-->' not in stripped
            continue
        if stripped.startswith('```'):
            in_fence = not in_fence
            if para:
                yield ' '.join(para)
            para = []
            continue
        if in_fence:
            continue
        if stripped.startswith('$$'):
            if para:
                yield ' '.join(para)
            para = []
            if not (stripped.endswith('$$') and len(stripped) > 2):
                in_math = not in_math
            continue
        if in_math:
            continue
        if (not stripped or stripped.startswith(('|', '![', ':label:', ':eqlabel:', '<'))
                or stripped.startswith('#')):
            if para:
                yield ' '.join(para)
            para = []
            if stripped.startswith('#'):
                yield stripped.lstrip('#').strip()
            continue
        stripped = re.sub(r'^([*+-]|\d+\.)\s+', '', stripped)   # list markers
        para.append(stripped)
    if para:
        yield ' '.join(para)


def clean_sentence(sentence):
    """Return the sentence as plain text, or None when it cannot be read without markup."""
    sentence = PAREN_WITH_ROLE.sub('', sentence)
    sentence = SIMPLE_MATH.sub(r'\1', sentence)
    if '$' in sentence or ROLE.search(sentence) or '\\' in sentence:
        return None
    sentence = re.sub(r'!?\[([^\]]*)\]\([^)]*\)', r'\1', sentence)     # links keep their text
    sentence = re.sub(r'`([^`]*)`', r'\1', sentence)                   # inline code keeps its text
    sentence = re.sub(r'(\*\*|\*|__)(\S(?:.*?\S)?)\1', r'\2', sentence)  # emphasis
    for old, new in REPLACE.items():
        sentence = sentence.replace(old, new)
    sentence = unicodedata.normalize('NFKD', sentence).encode('ascii', 'ignore').decode()
    sentence = re.sub(r'\s*\(\s*\)', '', sentence)   # parentheses emptied by the above
    sentence = re.sub(r'\s*={3,}\s*', ' ', sentence)   # setext heading underlines
    sentence = ' '.join(sentence.split())
    return sentence or None


def main():
    paragraphs = []
    src = ROOT / 'chapters' / 'en'
    for name in sections(src):
        if name.startswith(SKIP):
            continue
        text = (src / f'{name}.md').read_text(encoding='utf-8')
        for block in blocks(text):
            kept = [s for s in map(clean_sentence, SENTENCE_END.split(block)) if s]
            if kept:
                paragraphs.append(' '.join(kept))
    out, size = [], 0
    for p in paragraphs:
        if size + len(p) + 1 > MAX_CHARS:
            break
        out.append(p)
        size += len(p) + 1
    TARGET.write_text('\n'.join(out) + '\n', encoding='ascii')
    print(f'{TARGET}: {len(out)} paragraphs, {size} characters, '
          f'{sum(len(p.split()) for p in out)} words')


if __name__ == '__main__':
    main()
