"""The real workload of the benchmark: chapters taken from this book, in one to four editions.

``write_ours`` lays them out as this project builds them (one tree, ``chapters/<lang>/``);
``write_d2lbook`` as plain d2lbook builds them (one book directory per language, as D2L keeps
d2l-en, d2l-ja, ...). Both copy the figures and the bibliography; the sections import the ``d2l`` library of this
repository (the benchmark puts it on PYTHONPATH for both tools). Standard library only.
"""
import hashlib
import json
import re
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
FENCE = '```'
TITLES = {'en': 'Benchmark Book', 'ja': 'ベンチマークの本', 'zh': '基准测试之书', 'ko': '벤치마크 책'}


def chapter_sections(chapter, lang='en'):
    """The sections of a chapter of this book, in the order of its toc."""
    index = (PROJECT / 'chapters' / lang / chapter / 'index.md').read_text(encoding='utf-8')
    names = []
    for block in re.findall(r'```toc\n(.*?)```', index, re.S):
        names += [l.strip() for l in block.splitlines() if l.strip() and not l.startswith(':')]
    return names


class RealBook:
    """Chapters of this book; ``sections`` limits how many sections (in toc order) are used."""

    def __init__(self, chapters, sections=0):
        self.chapters = list(chapters)
        picked, left = {}, sections or 10 ** 6
        for ch in self.chapters:
            names = chapter_sections(ch)[:left]
            if names:
                picked[ch] = names
                left -= len(names)
        self.picked = picked
        self.prose_rev = {}     # (chapter, section) -> prose edits made to the English file
        self.code_rev = {}      # (chapter, section) -> code edits made (every edition)
        self.tr_rev = {}        # (lang, chapter, section) -> prose edits made to a translation

    @property
    def count(self):
        return sum(len(v) for v in self.picked.values())

    def describe(self):
        return (f'{self.count} sections of this book ('
                + '; '.join(f'{ch}: {", ".join(names)}' for ch, names in self.picked.items()) + ')')

    def edit(self, kind):
        """Edit the first section: ``prose`` (English), ``code`` (every edition) or ``translation``
        (Japanese prose); return the languages whose files changed."""
        ch = next(iter(self.picked))
        name = self.picked[ch][0]
        if kind == 'translation':
            self.tr_rev[('ja', ch, name)] = self.tr_rev.get(('ja', ch, name), 0) + 1
            return ['ja']
        revs = self.prose_rev if kind == 'prose' else self.code_rev
        revs[(ch, name)] = revs.get((ch, name), 0) + 1
        return ['en'] if kind == 'prose' else ['en', 'ja', 'zh', 'ko']

    def write_ours(self, root, langs):
        write_ours(root, langs, self)

    def write_d2lbook(self, bookdir, lang):
        write_d2lbook(bookdir, lang, self)

    def files(self, lang):
        """{relative path: text} of one edition."""
        files = {'index.md': '\n'.join([TITLES[lang], '=' * 2 * len(TITLES[lang]), '', 'Benchmark.', '',
                                        FENCE + 'toc', ':maxdepth: 2', ':numbered:', '']
                                       + [f'{ch}/index' for ch in self.picked] + [FENCE, ''])}
        for ch, names in self.picked.items():
            src = PROJECT / 'chapters' / lang / ch
            index = (src / 'index.md').read_text(encoding='utf-8')
            files[f'{ch}/index.md'] = re.sub(r'```toc\n(.*?)```', lambda m: _keep(m.group(1), names), index,
                                             flags=re.S)
            for name in names:
                text = (src / f'{name}.md').read_text(encoding='utf-8')
                files[f'{ch}/{name}.md'] = self._edited(lang, ch, name, text)
        # references to sections left out become plain text
        labels = set(re.findall(r':(?:label|eqlabel):`([^`]+)`', ''.join(files.values())))
        ref = re.compile(r':(?:numref|ref|eqref):`([^`<]*?<)?([^`>]+)>?`')
        return {rel: ref.sub(lambda m: m.group(0) if m.group(2) in labels else f'``{m.group(2)}``', text)
                for rel, text in files.items()}

    def _edited(self, lang, ch, name, text):
        for i in range(self.prose_rev.get((ch, name), 0) if lang == 'en' else 0):
            text = _after_title(text, f'Edit {i + 1}: one more sentence of prose, which changes no code.')
        for i in range(self.tr_rev.get((lang, ch, name), 0)):
            text = _after_title(text, f'({i + 1}) ' + TITLES[lang] + '.')
        rev = self.code_rev.get((ch, name), 0)
        if rev:     # one more statement at the end of the first code cell, the same in every edition
            text = re.sub(r'(```\{\.python \.input\}\n.*?)\n```', lambda m: m.group(1) + f'\nrevision = {rev}\n```',
                          text, count=1, flags=re.S)
        return text


def _keep(block, names):
    options = [l for l in block.splitlines() if l.startswith(':')]
    entries = [l for l in block.splitlines() if l.strip() in names]
    return FENCE + 'toc\n' + '\n'.join(options + [''] + entries) + '\n' + FENCE


def _after_title(text, sentence):
    """A paragraph after the first paragraph that follows the title (so labels stay put)."""
    parts = text.split('\n\n')
    parts.insert(min(2, len(parts)), sentence)
    return '\n\n'.join(parts)


def write_if_changed(path, data):
    """Only touch files whose content changes (d2lbook decides by modification time)."""
    path = Path(path)
    data = data.encode('utf-8') if isinstance(data, str) else data
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


def _shared(root, d2l=False):
    """Figures and bibliography (the d2l library is imported from this repository: PYTHONPATH)."""
    root = Path(root)
    for sub in ('img',) + (('d2l',) if d2l else ()):
        for p in (PROJECT / sub).rglob('*'):
            if p.is_file() and '__pycache__' not in p.parts:
                write_if_changed(root / sub / p.relative_to(PROJECT / sub), p.read_bytes())
    write_if_changed(root / 'd2l.bib', (PROJECT / 'd2l.bib').read_bytes())


def write_ours(root, langs, book):
    """This project's layout: config.ini, chapters/<lang>/, img/, the bibliography, translations.lock."""
    root = Path(root)
    config = ['[project]', 'name = benchbook', f'title = {TITLES["en"]}', 'author = The Benchmark',
              'release = 0.1.0', '', '[build]', 'languages = ' + ', '.join(langs), 'bibfile = d2l.bib', '']
    for lang in langs[1:]:
        config += [f'[{lang}]', f'title = {TITLES[lang]}', '']
    write_if_changed(root / 'config.ini', '\n'.join(config))
    _shared(root)
    for lang in langs:
        for rel, text in book.files(lang).items():
            write_if_changed(root / 'chapters' / lang / rel, text)
    # a new translation is recorded as following the English text of the benchmark book as it is now
    # (translations.lock and translations.base/ as ``build.py translated`` writes them)
    lock_path = root / 'translations.lock'
    data = json.loads(lock_path.read_text(encoding='utf-8')) if lock_path.is_file() else {}
    for lang in langs[1:]:
        if lang in data:
            continue
        data[lang] = {}
        for rel in sorted(book.files(lang)):
            english = (root / 'chapters' / 'en' / rel).read_bytes()
            digest = hashlib.sha256(english).hexdigest()[:16]
            data[lang][rel] = digest
            path = Path(rel)
            write_if_changed(root / 'translations.base' / path.parent / f'{path.stem}.{digest}.md', english)
    write_if_changed(lock_path, json.dumps(data, indent=1, ensure_ascii=False) + '\n')


CJK = {'ja': 'JP', 'zh': 'SC', 'ko': 'KR'}


def d2lbook_fonts(lang):
    """``sphinx_configs`` for a plain d2lbook book: the fonts this machine has (Sphinx's default, FreeSerif,
    is not installed), and CJK fonts for ja/zh/ko, as this project's PDFs use. Only fonts change."""
    fonts = r'\\setmainfont{Latin Modern Roman}\\setsansfont{Latin Modern Sans}\\setmonofont{DejaVu Sans Mono}[Scale=0.82]'
    if lang in CJK:
        fonts += (r'\\usepackage{xeCJK}\\setCJKmainfont{Noto Serif CJK %s}\\setCJKsansfont{Noto Sans CJK %s}'
                  r'\\setCJKmonofont{Noto Sans Mono CJK %s}' % ((CJK[lang],) * 3))
    return f"sphinx_configs = latex_elements['fontpkg'] = '{fonts}'"


def write_d2lbook(bookdir, lang, book):
    """One plain d2lbook book of one language."""
    bookdir = Path(bookdir)
    config = ['[project]', f'name = benchbook-{lang}', f'title = {TITLES[lang]}', 'author = The Benchmark',
              'release = 0.1.0', f'lang = {lang}', '', '[build]', 'index = index', 'notebooks = **/*.md',
              'resources = img', 'eval_notebook = True', d2lbook_fonts(lang), '', '[pdf]', 'bibfile = d2l.bib', '']
    write_if_changed(bookdir / 'config.ini', '\n'.join(config))
    _shared(bookdir)
    for rel, text in book.files(lang).items():
        write_if_changed(bookdir / rel, text)
