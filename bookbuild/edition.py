"""One edition (language) of the book: its sections, in reading order, ready to execute.

English is the source of code, translations the source of prose: a translated page is the
translation's prose with the current English code cells. When English changed since the translation
was recorded, the page says what changed; when the translation no longer lines up with the English
cells and labels, the page shows the English section instead.
"""
from dataclasses import dataclass, field
from pathlib import Path

from . import changes, notices, references, slidemarks, toc, translations
from .languages import SOURCE
from .markdown import Cell, read_cells, split_cells
from .notebooks import declared_reads, resource_hint, to_notebook

CODE_HINT = 'translations keep the English code; only comments may change'
STRICT = 'strict translations: --strict-translations or [build] strict_translations'


@dataclass
class Section:
    name: str               # path without .md, relative to the language's chapters dir
    path: Path              # the file the text comes from
    cells: list             # the cells of that file, as written (checks report their lines)
    notebook: object        # what is executed and rendered: the page, notices included
    source_path: Path = None    # the English file (None for English itself)
    fallback: bool = False      # English text shown: no translation, or it no longer lines up
    stale: bool = False         # translation follows an older English revision
    hints: dict = field(default_factory=dict)
    comparison: object = None   # changes.Comparison, for translated files


def load(config, lang, problems, strict=False, order=None):
    """Read every section of ``lang`` in the English reading order.

    ``strict``: missing and stale translations are problems (release builds); ``order``: the toc,
    when it was read already."""
    en_dir = config.chapters(SOURCE)
    order = toc.sections(en_dir, problems) if order is None else order
    if lang == SOURCE:
        for rel in toc.unreachable(en_dir, order):
            problems.add(en_dir / rel, 1, 'section is not reachable from any toc',
                         'list it in a toc block of its chapter index.md')
        sections = []
        for name in order:
            cells = read_cells(en_dir / f'{name}.md')
            for line, rel in declared_reads(cells):
                if not (config.root / rel).exists():
                    problems.add(en_dir / f'{name}.md', line, f'declared read {rel} does not exist',
                                 'name files relative to the book root, e.g. <!-- reads: data/x.params -->')
            sections.append(Section(name, en_dir / f'{name}.md', cells, to_notebook(cells),
                                    hints=resource_hint(cells)))
        return sections
    lock = translations.Lock(config.root)
    return [_translated(config, lang, name, lock, problems, strict) for name in order]


def _translated(config, lang, name, lock, problems, strict):
    rel = f'{name}.md'
    en_path, path = config.chapters(SOURCE) / rel, config.chapters(lang) / rel
    en_cells = read_cells(en_path)
    new = changes.units(en_cells)
    hints = resource_hint(en_cells)      # resources belong to the code, which is English
    if not path.is_file():
        if strict:
            problems.add(path, 1, f'no translation of {en_path} ({STRICT})', 'translate it')
        return Section(name, en_path, en_cells, _page(new, notices.missing(lang)), en_path,
                       fallback=True, hints=hints)
    cells = read_cells(path)
    tr = changes.units(cells)
    stale = lock.follows(lang, rel) != translations.file_hash(en_path)
    base = lock.base_text(lang, rel) if stale else None
    old = changes.units(split_cells(base)) if base is not None else None
    comparison = changes.compare(tr, new, old, stale)
    if not stale or old is not None:     # without the recorded English, a difference may be English's
        for line, message in changes.code_problems(tr, new, old or new, en_path.name):
            problems.add(path, line, message, CODE_HINT)
    if stale and strict:
        lines = [tr[comparison.where[c.at]].line for c in comparison.changes
                 if comparison.where.get(c.at, len(tr)) < len(tr)]
        problems.add(path, min(lines, default=1),
                     f'stale translation: {en_path} changed since the translation was recorded ({STRICT})',
                     f'"python3 build.py check --lang {lang}" shows what to carry over; then record it '
                     f'with "python3 build.py translated --lang {lang} {path}"')
    if not comparison.shows_translation:
        return Section(name, en_path, en_cells, _page(new, notices.structure(lang)), en_path,
                       fallback=True, stale=stale, hints=hints, comparison=comparison)
    page = changes.compose(tr, new)
    notice, marks = '', {}
    if stale and (comparison.changes or not comparison.base_known):
        notice = notices.stale(lang, name, comparison.changes, comparison.base_known)
        start = _title_end(page)
        for change in comparison.changes:
            at = comparison.where.get(change.at)
            if comparison.carried_over(change):
                continue
            if at is not None and at >= start and not (at < len(page) and page[at].label_only):
                marks.setdefault(at, []).append(notices.mark(lang, change))
    return Section(name, path, cells, _page(page, notice, marks), en_path, stale=stale, hints=hints,
                   comparison=comparison)


def _title_end(units):
    """The index of the first unit after the title and its labels (0 when there is no title)."""
    if not units or units[0].kind != 'prose':
        return 0
    lines = units[0].text.split('\n')
    setext = len(lines) > 1 and lines[1].strip() and set(lines[1].strip()) <= {'=', '-'}
    if not (lines[0].startswith('#') or setext):
        return 0
    at = 1
    while at < len(units) and units[at].label_only:
        at += 1
    return at


def _page(units, notice='', marks=None):
    """The notebook of a page: ``units`` with the notice after the title and each mark before the
    unit it is about. Notices live only in the notebook, so they shift no line of the text; they
    share a Markdown cell with the prose around them, so that adjacent quotes stay apart."""
    inserts = dict(marks or {})
    if notice:
        inserts.setdefault(_title_end(units), []).insert(0, notice)
    cells, prose = [], []

    def flush():
        if prose:
            cells.append(Cell('markdown', '\n\n'.join(text for text, _ in prose), prose[0][1]))
            prose.clear()

    for i, unit in enumerate(units + [None]):
        line = unit.line if unit else (units[-1].line if units else 1)
        prose.extend((text, line) for text in inserts.get(i, []))
        if unit is None:
            break
        if unit.kind == 'code':
            flush()
            cells.append(Cell('code', unit.text, unit.line, unit.attrs))
        else:
            prose.append((unit.text, unit.line))
    flush()
    return to_notebook(cells)


def check(config, lang, sections, problems, source_labels=None):
    """Every check of one edition; returns its labels."""
    image_roots = [config.root, config.chapters(lang), config.chapters(SOURCE)]
    labels = references.check(sections, config.bibfile, image_roots, problems)
    slidemarks.check(sections, problems)
    if lang != SOURCE:
        for rel in translations.status(config, lang)['orphan']:
            problems.add(config.chapters(lang) / rel, 1, 'translation of a file that does not exist in English',
                         'delete it or move it to match the English path')
        if source_labels is not None:
            references.missing_labels(source_labels, labels, sections, problems)
    return labels
