"""One edition (language) of the book: its sections, in reading order, ready to execute."""
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import references, toc, translations
from .languages import LANGUAGES, SOURCE
from .markdown import read_cells
from .notebooks import resource_hint, to_notebook


@dataclass
class Section:
    name: str               # path without .md, relative to the language's chapters dir
    path: Path              # the file the text comes from
    cells: list
    notebook: object
    source_path: Path = None    # the English file (None for English itself)
    fallback: bool = False      # English text shown because no translation exists
    stale: bool = False         # translation follows an older English revision
    hints: dict = field(default_factory=dict)


def _insert_notice(cells, notice):
    """Put a notice right after the title (and its label) of the first prose cell."""
    first = next((c for c in cells if c.kind == 'markdown'), None)
    if first is None:
        return
    lines = first.source.split('\n')
    at = 1
    if len(lines) > 1 and set(lines[1].strip()) <= {'=', '-'} and lines[1].strip():
        at = 2
    while at < len(lines) and lines[at].strip().startswith(':label:'):
        at += 1
    lines[at:at] = ['', f'> *{notice}*', '']
    first.source = '\n'.join(lines)


def load(config, lang, problems, order=None):
    """Read every section of ``lang`` in the English reading order (``order``: the toc, when read)."""
    en_dir, dir_ = config.chapters(SOURCE), config.chapters(lang)
    order = toc.sections(en_dir, problems) if order is None else order
    if lang == SOURCE:
        for rel in toc.unreachable(en_dir, order):
            problems.add(en_dir / rel, 1, 'section is not reachable from any toc',
                         'list it in a toc block of its chapter index.md')
    lock = translations.Lock(config.root / translations.LOCK_NAME)
    language = LANGUAGES[lang]
    sections = []
    for name in order:
        en_path = en_dir / f'{name}.md'
        path = dir_ / f'{name}.md'
        fallback = lang != SOURCE and not path.is_file()
        if fallback or lang == SOURCE:
            path = en_path
        cells = read_cells(path)
        stale = (lang != SOURCE and not fallback
                 and lock.follows(lang, f'{name}.md') != translations.file_hash(en_path))
        if fallback:
            _insert_notice(cells, language.fallback_notice)
        elif stale:
            _insert_notice(cells, language.stale_notice)
        sections.append(Section(name, path, cells, to_notebook(cells),
                                None if lang == SOURCE else en_path, fallback, stale,
                                resource_hint(cells)))
    return sections


def check(config, lang, sections, problems, source_labels=None):
    """Every check of one edition; returns its labels."""
    image_roots = [config.root, config.chapters(lang), config.chapters(SOURCE)]
    labels = references.check(sections, config.bibfile, image_roots, problems)
    if lang != SOURCE:
        for section in sections:
            if not section.fallback:
                drift = translations.code_drift(section.source_path, section.path)
                if drift:
                    problems.add(section.path, drift[0], drift[1],
                                 'translations keep the English code; only comments may change')
        for rel in translations.status(config, lang)['orphan']:
            problems.add(config.chapters(lang) / rel, 1, 'translation of a file that does not exist in English',
                         'delete it or move it to match the English path')
        if source_labels is not None:
            references.missing_labels(source_labels, labels, sections, problems)
    return labels
