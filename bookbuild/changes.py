"""What changed in an English section since a translation was recorded, and how the translation
lines up with the English section now.

Sections are compared as lists of units: paragraphs of prose (blocks between blank lines), code
cells and toc blocks, each with the line where it starts in its file.
"""
import difflib
import re
from dataclasses import dataclass, field

from .markdown import fences
from .notebooks import code_signature
from .references import LABEL

KIND_NAMES = {'prose': 'paragraph', 'code': 'code cell', 'toc': 'toc block'}
LABEL_ONLY = re.compile(r'^\s*:(label|eqlabel):`[^`]+`\s*$')


@dataclass
class Unit:
    kind: str          # 'prose', 'code' or 'toc'
    text: str
    line: int          # where the unit starts in its Markdown file
    attrs: str = ''    # code cells: the attributes of their fence

    @property
    def key(self):
        """What makes two units the same text: prose ignores line wrapping, code keeps comments."""
        if self.kind == 'code':
            return 'code:' + '\n'.join(l.rstrip() for l in self.text.strip('\n').split('\n'))
        return f'{self.kind}:' + ' '.join(self.text.split())

    @property
    def program(self):
        """What makes two code cells the same program (comments may be translated)."""
        return code_signature(self.text) if self.kind == 'code' else self.key

    @property
    def labels(self):
        return [m.group(2) for m in LABEL.finditer(self.text)] if self.kind == 'prose' else []

    @property
    def label_only(self):
        lines = [l for l in self.text.split('\n') if l.strip()]
        return self.kind == 'prose' and bool(lines) and all(LABEL_ONLY.match(l) for l in lines)


def units(cells):
    """Split the cells of a section (``markdown.Cell``) into units."""
    out = []
    for cell in cells:
        if cell.kind == 'code':
            out.append(Unit('code', cell.source, cell.line, cell.attrs))
        else:
            out.extend(_prose_units(cell.source, cell.line))
    return out


def _prose_units(text, first_line):
    out, block, start, in_math = [], [], 0, False
    lines = text.split('\n')
    fenced = {f.start: f for f in fences(lines)}

    def flush(kind='prose'):
        nonlocal block
        if any(l.strip() for l in block):
            out.append(Unit(kind, '\n'.join(block).strip('\n'), start))
        block = []

    i = 0
    while i < len(lines):
        fence = fenced.get(i)
        if fence:                                # a fenced block is kept whole; a toc is a unit
            is_toc = fence.info == 'toc'
            if is_toc:
                flush()
            if not block:
                start = first_line + i
            block.extend(lines[i:fence.end + 1])
            if is_toc:
                flush('toc')
            i = fence.end + 1
            continue
        line = lines[i]
        i += 1
        if not line.strip() and not in_math:
            flush()
            continue
        if not block:
            start = first_line + i - 1
        block.append(line)
        if line.count('$$') % 2:
            in_math = not in_math
    flush()
    return out


@dataclass
class Change:
    """One unit of the English section that changed, was added or was removed."""
    status: str          # 'changed', 'added' or 'removed'
    old: Unit = None     # the unit in the English text the translation was recorded against
    new: Unit = None     # the unit in the English text now
    at: int = 0          # index in the old units: the changed/removed unit, or where the new one goes

    @property
    def kind(self):
        return (self.new or self.old).kind


def diff(old, new):
    """The changes from the units ``old`` to ``new``, in reading order, and a map of the old
    units that still have a counterpart (same or edited) to the index of that counterpart."""
    matcher = difflib.SequenceMatcher(None, [u.key for u in old], [u.key for u in new], autojunk=False)
    changes, counterpart = [], {}
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == 'equal':
            counterpart.update({i1 + k: j1 + k for k in range(i2 - i1)})
            continue
        # Within an edited stretch, the n-th old unit of a kind became the n-th new unit of that kind.
        paired = {}
        for kind in KIND_NAMES:
            olds = [i for i in range(i1, i2) if old[i].kind == kind]
            news = [j for j in range(j1, j2) if new[j].kind == kind]
            paired.update(zip(news, olds))
        counterpart.update({i: j for j, i in paired.items()})
        for j in range(j1, j2):
            if j in paired:
                changes.append(Change('changed', old[paired[j]], new[j], paired[j]))
            else:
                later = [i for jj, i in paired.items() if jj > j]
                changes.append(Change('added', None, new[j], min(later) if later else i2))
        changes += [Change('removed', old[i], None, i) for i in range(i1, i2) if i not in paired.values()]
    return changes, counterpart


def align(a, b):
    """Map indices of ``a`` to indices of ``b`` where the two sections line up: code and toc units
    in order, and prose paragraphs one to one between them where both have as many."""
    def layout(units):
        fixed = [i for i, u in enumerate(units) if u.kind != 'prose']
        bounds = [-1] + fixed + [len(units)]
        stretches = [list(range(bounds[k] + 1, bounds[k + 1])) for k in range(len(bounds) - 1)]
        return fixed, stretches

    fixed_a, stretches_a = layout(a)
    fixed_b, stretches_b = layout(b)
    if [a[i].kind for i in fixed_a] != [b[j].kind for j in fixed_b]:
        return {}
    mapping = dict(zip(fixed_a, fixed_b))
    for sa, sb in zip(stretches_a, stretches_b):
        if len(sa) == len(sb):
            mapping.update(zip(sa, sb))
    return mapping


def _labels(units):
    return {label: i for i, u in enumerate(units) for label in u.labels}


def structure_change(tr, new, old=None, labels=True):
    """Why the translation ``tr`` cannot be shown with the current English code, or ''.

    It can when its code cells line up with the English ones (same number, none moved), it has as
    many toc blocks and (with ``labels``) the same labels, and no label moved in English since ``old``.
    """
    code_tr = [u.program for u in tr if u.kind == 'code']
    code_new = [u.program for u in new if u.kind == 'code']
    if len(code_tr) != len(code_new):
        return f'the English section has {len(code_new)} code cells, the translation {len(code_tr)}'
    ops = difflib.SequenceMatcher(None, code_tr, code_new, autojunk=False).get_opcodes()
    if any(op != 'equal' and (op != 'replace' or i2 - i1 != j2 - j1) for op, i1, i2, j1, j2 in ops):
        return 'code cells were moved in the English section'
    tocs_tr, tocs_new = sum(u.kind == 'toc' for u in tr), sum(u.kind == 'toc' for u in new)
    if tocs_tr != tocs_new:
        return f'the English section has {tocs_new} toc blocks, the translation {tocs_tr}'
    if not labels:
        return ''
    labels_tr, labels_new = _labels(tr), _labels(new)
    for label in sorted(set(labels_new) - set(labels_tr)):
        return f'label "{label}" was added in English'
    for label in sorted(set(labels_tr) - set(labels_new)):
        return f'label "{label}" was removed in English'
    if old is not None:
        found, counterpart = diff(old, new)
        if any(c.kind == 'code' and c.status != 'changed' for c in found):
            return 'code cells were moved in the English section'
        for label, i in sorted(_labels(old).items()):
            if label in labels_new and counterpart.get(i) != labels_new[label]:
                return f'label "{label}" was moved in English'
    return ''


def code_problems(tr, new, old, english_name):
    """Code cells and toc blocks of a translation that match neither the English now nor the English
    it was recorded against (``old``; pass ``new`` when they are the same): [(line, message)]."""
    problems = []
    for kind in ('code', 'toc'):
        name = KIND_NAMES[kind]
        t, n, o = ([u for u in units if u.kind == kind] for units in (tr, new, old))
        for i, unit in enumerate(t):
            refs = [units[i] for units in (n, o) if i < len(units)]
            if refs and all(unit.program != ref.program for ref in refs):
                also = (' and from the English text the translation was recorded against'
                        if old is not new and i < len(o) else '')
                problems.append((unit.line, f'{name} differs from the English one at '
                                            f'{english_name}:{refs[0].line}{also}'))
                break
        if len(t) not in (len(n), len(o)):
            extra = t[min(len(n), len(o))].line if len(t) > min(len(n), len(o)) else 1
            had = f' (and had {len(o)} when the translation was recorded)' if len(o) != len(n) else ''
            problems.append((extra, f'{len(t)} {name}s, the English section has {len(n)}{had}'))
    return problems


@dataclass
class Comparison:
    """How one translation follows its English section."""
    stale: bool                  # English changed since the translation was recorded
    base_known: bool             # the English text it was recorded against is kept
    changes: list = field(default_factory=list)     # Change, English then -> English now
    structure: str = ''          # why the translation cannot be shown ('' when it can)
    where: dict = field(default_factory=dict)       # old unit index -> translation unit index
    translation: list = field(default_factory=list)  # the translation's units

    @property
    def shows_translation(self):
        return not self.structure

    def carried_over(self, change):
        """True for a code cell or toc block that the translation already has as English has it now."""
        at = self.where.get(change.at)
        return (change.status == 'changed' and change.kind != 'prose' and at is not None
                and at < len(self.translation) and self.translation[at].program == change.new.program)


def compare(tr, new, old, stale):
    """Compare the units of a translation with the English units now and then (``old``: None
    when the recorded English text is not kept)."""
    if not stale:      # the translator's own label slips are reported as such, not hidden here
        return Comparison(False, True, structure=structure_change(tr, new, labels=False), translation=tr)
    if old is None:
        return Comparison(True, False, structure=structure_change(tr, new), translation=tr)
    changes, _ = diff(old, new)
    where = align(old, tr)
    where[len(old)] = len(tr)          # units added at the end go at the end
    return Comparison(True, True, changes, structure_change(tr, new, old), where, tr)


def compose(tr, new):
    """The translation with the English code and toc blocks. A translated code cell is kept when it
    is the same program as the English one, so its translated comments stay; code cells carry the
    English line, where a failure is reported."""
    code_new = iter([u for u in new if u.kind == 'code'])
    toc_new = iter([u for u in new if u.kind == 'toc'])
    out = []
    for unit in tr:
        if unit.kind == 'code':
            en = next(code_new)
            out.append(Unit('code', unit.text if unit.program == en.program else en.text, en.line, en.attrs))
        elif unit.kind == 'toc':
            out.append(next(toc_new))
        else:
            out.append(unit)
    return out


def excerpt(change, width=60):
    """A short plain-text quote of the English text of a change (the new text when there is one):
    for code, its first line that changed, or else its first line that is not a comment."""
    unit = change.new or change.old
    if unit.kind == 'code':
        before = {l.strip() for l in change.old.text.split('\n')} if change.old and change.new else set()
        lines = [l.strip() for l in unit.text.split('\n') if l.strip()]
        text = next((l for l in lines if l not in before),
                    next((l for l in lines if not l.startswith('#')), unit.text.strip()))
    else:
        text = re.sub(r':\w+:`([^`]*)`', r'\1', unit.text)
        text = re.sub(r'!?\[([^\]]*)\]\([^)]*\)', r'\1', text)
        text = ' '.join(text.replace('`', '').split())
    return text if len(text) <= width else text[:width - 1].rstrip() + '…'


def _ndiff(old, new, context=1):
    """A line diff of two texts, with ``context`` unchanged lines around each change."""
    lines = list(difflib.ndiff(old.split('\n'), new.split('\n')))
    keep = set()
    for i, line in enumerate(lines):
        if line[:1] in '-+?':
            keep.update(range(i - context, i + context + 1))
    out, skipped = [], False
    for i, line in enumerate(lines):
        if i in keep:
            out.append(line.rstrip())
            skipped = False
        elif not skipped:
            out.append('  ...')
            skipped = True
    return out


def report(comparison, en_rel, tr_rel):
    """The lines ``build.py check`` prints for one stale translation: every English change since the
    translation was recorded, with the line it is at in English now and in the translation."""
    c, tr = comparison, comparison.translation
    out = []
    if c.structure:
        out.append(f'the page shows the English section until the translation follows it: {c.structure}')
    else:
        out.append('the page shows this translation with the current English code, its changes marked')
    if not c.base_known:
        out.append(f'the English text it was recorded against is not kept; compare with the history of {en_rel}')
        return out
    if not c.changes:
        out.append('English changed only in layout (line breaks, blank lines); nothing to carry over')
    for change in c.changes:
        name = KIND_NAMES[change.kind]
        if change.status == 'added':
            where = f'{en_rel}:{change.new.line}'
        elif change.status == 'removed':
            where = f'was {en_rel}:{change.old.line}'
        else:
            where = f'{en_rel}:{change.new.line}'
        target = c.where.get(change.at)
        if target is not None and target < len(tr):
            verb = 'before' if change.status == 'added' else 'at'
            where += f', translation {verb} {tr_rel}:{tr[target].line}'
        elif target is not None:
            where += f', translation: at the end of {tr_rel}'
        done = ', already in the translation' if c.carried_over(change) else ''
        out.append(f'{name} {change.status} ({where}{done}):')
        if change.status == 'changed':
            body = _ndiff(change.old.text, change.new.text, context=1 if change.kind == 'code' else 3)
        else:
            sign = '+' if change.status == 'added' else '-'
            body = [f'{sign} {line}'.rstrip() for line in (change.new or change.old).text.split('\n')]
        out += ['    ' + line for line in body]
    return out
