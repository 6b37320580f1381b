"""Check labels, references, citations and images of one edition, with file and line."""
import re
from collections import defaultdict
from pathlib import PurePosixPath

from .markdown import fence_spans

LABEL = re.compile(r':(label|eqlabel):`([^`]+)`')
REF = re.compile(r':(numref|ref|eqref):`([^`]+)`')
CITE = re.compile(r':(cite|citet|citep):`([^`]+)`')
IMAGE = re.compile(r'!\[[^\]]*\]\(([^)\s]+)')
BIB_KEY = re.compile(r'^\s*@\w+\s*\{\s*([^,\s]+)\s*,', re.M)


def _without_fences(text):
    # Keep line numbers: blank out fenced blocks instead of removing them.
    for start, end in reversed(fence_spans(text)):
        text = text[:start] + '\n' * text.count('\n', start, end) + text[end:]
    return text


def scan(section):
    """Yield (kind, role, target, line) for every mark in a section's prose.

    ``section`` has ``path`` and ``cells`` (markdown.Cell objects).
    """
    for cell in section.cells:
        if cell.kind != 'markdown':
            continue
        text = _without_fences(cell.source)
        for kind, pattern in (('label', LABEL), ('ref', REF), ('cite', CITE)):
            for m in pattern.finditer(text):
                yield kind, m.group(1), m.group(2).strip(), cell.line + text.count('\n', 0, m.start())
        for m in IMAGE.finditer(text):
            yield 'image', 'image', m.group(1), cell.line + text.count('\n', 0, m.start())


def ref_target(role, target):
    """`:numref:`text <label>`` names ``label``."""
    m = re.search(r'<([^>]+)>\s*$', target)
    return m.group(1) if m else target


def bib_keys(bibfile):
    if not bibfile or not bibfile.is_file():
        return set()
    return set(BIB_KEY.findall(bibfile.read_text(encoding='utf-8')))


def check(sections, bibfile, image_roots, problems):
    """Report unknown/duplicate labels, unknown citations and missing images.

    Returns ``{label: (path, line)}`` for the edition.
    """
    labels, marks = {}, []
    for section in sections:
        # A section shown in English in a translated edition was checked with the English edition.
        quiet = section.fallback
        for kind, role, target, line in scan(section):
            if kind == 'label':
                if target in labels and not quiet:
                    first = labels[target]
                    problems.add(section.path, line, f'duplicate label "{target}"',
                                 f'first defined at {first[0]}:{first[1]}')
                else:
                    labels.setdefault(target, (section.path, line))
            elif not quiet:
                marks.append((section, kind, role, target, line))
    keys = bib_keys(bibfile)
    for section, kind, role, target, line in marks:
        if kind == 'ref':
            label = ref_target(role, target)
            if label not in labels:
                problems.add(section.path, line, f'unknown label "{label}" in :{role}:',
                             'define it with :label: or :eqlabel:')
        elif kind == 'cite':
            for key in (k.strip() for k in target.split(',')):
                if key not in keys:
                    problems.add(section.path, line, f'unknown citation key "{key}"',
                                 f'add it to {bibfile.name if bibfile else "the bibliography"}')
        elif kind == 'image' and '://' not in target:
            rel = PurePosixPath(section.name).parent / target
            parts = []
            for p in rel.parts:
                if p == '..':
                    if parts:
                        parts.pop()
                elif p != '.':
                    parts.append(p)
            resolved = '/'.join(parts)
            if not any((root / resolved).is_file() for root in image_roots):
                problems.add(section.path, line, f'missing image "{target}"',
                             f'looked for {resolved} in ' + ', '.join(str(r) for r in image_roots))
    return labels


def missing_labels(source_labels, labels, sections, problems):
    """Labels of the source edition that a translated section does not define."""
    by_path = defaultdict(set)
    for label, (path, _) in source_labels.items():
        by_path[path].add(label)
    have = set(labels)
    for section in sections:
        if section.fallback or section.source_path is None:
            continue
        for label in sorted(by_path.get(section.source_path, ())):
            if label not in have:
                problems.add(section.path, 1, f'label "{label}" of {section.source_path.name} is missing in this translation',
                             'translations keep every label of the English section')
