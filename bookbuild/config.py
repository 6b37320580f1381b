"""Read a book's ``config.ini``: a few required keys, defaults for everything else."""
import configparser
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BuildError, Problem
from .languages import LANGUAGES, SOURCE

REQUIRED = {'project': ['name', 'title', 'author', 'release'], 'build': ['languages']}


@dataclass
class BookConfig:
    root: Path
    name: str
    title: str
    author: str
    release: str
    languages: list
    bibfile: Path
    timeout: int = 600       # seconds of code execution per section
    workers: int = 0
    data_dir: str = 'data'   # the book's data files, reachable from code as ../data
    titles: dict = field(default_factory=dict)     # per-language book title
    authors: dict = field(default_factory=dict)    # per-language author line
    colab_url: str = ''      # template with {lang} and {path}
    discuss_url: str = ''    # template with {lang} and {path}
    source_url: str = ''
    strict_translations: bool = False    # stale or missing translations are errors
    tabs: list = field(default_factory=list)        # [build] tabs, the default first; [] for none
    libraries: dict = field(default_factory=dict)   # tab -> its [library-<tab>] lib_file

    @property
    def default_tab(self):
        return self.tabs[0] if self.tabs else None

    @property
    def build_dir(self):
        return self.root / '_build'

    @property
    def static_dir(self):
        """Theme assets: the book's own ``static/``, else the build system's."""
        own = self.root / 'static'
        return own if own.is_dir() else Path(__file__).resolve().parent.parent / 'static'

    def chapters(self, lang):
        return self.root / 'chapters' / lang

    def title_for(self, lang):
        return self.titles.get(lang, self.title)

    def author_for(self, lang):
        return self.authors.get(lang, self.author)


def _line_of(path, section, key=None):
    """The line of ``[section]`` (or of ``key`` inside it) in an ini file, 1 if absent."""
    current, line_no = None, 1
    for i, line in enumerate(Path(path).read_text(encoding='utf-8').splitlines(), 1):
        s = line.strip()
        if s.startswith('[') and s.endswith(']'):
            current = s[1:-1].strip()
            if key is None and current == section:
                return i
            line_no = i if current == section else line_no
        elif current == section and key and s.split('=')[0].strip() == key:
            return i
    return line_no


def load(root):
    """Load and validate ``root/config.ini``."""
    root = Path(root).resolve()
    path = root / 'config.ini'
    if not path.is_file():
        raise BuildError(Problem(path, 1, 'config.ini not found', 'every book needs one at its root'))
    parser = configparser.ConfigParser()
    try:
        parser.read_string(path.read_text(encoding='utf-8'), source=str(path))
    except (configparser.Error, UnicodeDecodeError) as e:
        raise BuildError(Problem(path, getattr(e, 'lineno', 1) or 1, f'config.ini does not parse: {e}')) from None
    for section, keys in REQUIRED.items():
        for key in keys:
            if not parser.get(section, key, fallback='').strip():
                raise BuildError(Problem(path, _line_of(path, section, key),
                                         f'missing required key "{key}" in [{section}]'))
    languages = [l.strip() for l in parser['build']['languages'].split(',') if l.strip()]
    for lang in languages:
        if lang not in LANGUAGES:
            raise BuildError(Problem(path, _line_of(path, 'build', 'languages'),
                                     f'unknown language "{lang}"',
                                     'supported: ' + ', '.join(LANGUAGES)))
    if SOURCE not in languages:
        raise BuildError(Problem(path, _line_of(path, 'build', 'languages'),
                                 f'the source language "{SOURCE}" must be built'))
    build = parser['build']
    project = parser['project']
    html = parser['html'] if parser.has_section('html') else {}
    for key in ('colab_url', 'discuss_url'):
        if html.get(key) and '{path}' not in html[key]:
            raise BuildError(Problem(path, _line_of(path, 'html', key), f'[html] {key} has no {{path}}',
                                     'each section needs its own link, e.g. .../{lang}/{path}.ipynb'))
    try:
        strict = build.getboolean('strict_translations', fallback=False)
    except ValueError:
        raise BuildError(Problem(path, _line_of(path, 'build', 'strict_translations'),
                                 f'strict_translations = {build["strict_translations"]} is not yes or no')) from None
    tabs = [t.strip().lower() for t in build.get('tabs', '').split(',') if t.strip()]
    if len(set(tabs)) != len(tabs) or 'all' in tabs:
        raise BuildError(Problem(path, _line_of(path, 'build', 'tabs'), f'[build] tabs = {build["tabs"]}: '
                                 'each tab once, and "all" is not a tab name'))
    libraries = {t: root / parser[f'library-{t}']['lib_file'] for t in tabs
                 if parser.has_section(f'library-{t}') and parser[f'library-{t}'].get('lib_file', '').strip()}
    titles = {l: parser[l]['title'] for l in languages if parser.has_section(l) and 'title' in parser[l]}
    authors = {l: parser[l]['author'] for l in languages if parser.has_section(l) and 'author' in parser[l]}
    return BookConfig(
        root=root, name=project['name'], title=project['title'], author=project['author'],
        release=project['release'], languages=languages,
        bibfile=root / build.get('bibfile', 'references.bib'),
        timeout=int(build.get('timeout', '600')),
        workers=int(os.environ.get('BOOK_WORKERS', build.get('workers', '0'))),
        data_dir=build.get('data', 'data'),
        titles=titles, authors=authors,
        colab_url=html.get('colab_url', ''), discuss_url=html.get('discuss_url', ''),
        source_url=html.get('source_url', ''), strict_translations=strict,
        tabs=tabs, libraries=libraries)
