"""The translation lock: which English text each translated file follows.

``translations.lock`` maps ``{lang: {relative path: hash of the English file}}``. The English text
itself is kept next to it, in ``translations.base/<path without .md>.<hash>.md``, so that once
English moves on the build can tell the translator exactly what changed since.
"""
import hashlib
import json
from pathlib import Path, PurePosixPath

from . import changes
from .buildlock import exclusive
from .errors import Collector
from .files import write_atomic as write_atomically    # the build's one atomic-write helper
from .languages import SOURCE
from .markdown import read_cells

LOCK_NAME = 'translations.lock'
BASE_NAME = 'translations.base'


def file_hash(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


class Lock:
    """The lock file of a book and the English texts it names."""

    def __init__(self, root):
        self.path = Path(root) / LOCK_NAME
        self.base_dir = Path(root) / BASE_NAME
        self.data = json.loads(self.path.read_text(encoding='utf-8')) if self.path.is_file() else {}

    def follows(self, lang, rel):
        """The hash of the English text ``lang``'s ``rel`` was recorded against, or None."""
        return self.data.get(lang, {}).get(rel)

    def _base_path(self, rel, digest):
        rel = PurePosixPath(rel)
        return self.base_dir / rel.parent / f'{rel.stem}.{digest}.md'

    def base_text(self, lang, rel):
        """The English text the translation was recorded against, or None when it is not kept."""
        digest = self.follows(lang, rel)
        path = self._base_path(rel, digest) if digest else None
        if path is None or not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest()[:16] != digest:
            return None
        return path.read_text(encoding='utf-8')

    def record(self, lang, rel, english_path):
        """Note that ``lang``'s ``rel`` now follows the English file as it is."""
        data = Path(english_path).read_bytes()
        digest = hashlib.sha256(data).hexdigest()[:16]
        base = self._base_path(rel, digest)
        if not base.is_file() or base.read_bytes() != data:
            write_atomically(base, data)
        self.data.setdefault(lang, {})[rel] = digest

    def save(self):
        """Write the lock in one rename, then drop English texts no entry names any more.

        Run under the build lock (``buildlock.exclusive``): a build never reads a half-written state.
        """
        data = {lang: dict(sorted(files.items())) for lang, files in sorted(self.data.items())}
        write_atomically(self.path, (json.dumps(data, indent=1, ensure_ascii=False) + '\n').encode('utf-8'))
        named = {self._base_path(rel, digest) for files in data.values() for rel, digest in files.items()}
        if self.base_dir.is_dir():
            for path in self.base_dir.rglob('*.md'):
                if path not in named:
                    path.unlink()
            for folder in sorted(self.base_dir.rglob('*'), reverse=True):
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()


def status(config, lang, lock=None):
    """Return dict of lists: missing, stale, orphan (relative paths) for one edition."""
    lock = lock or Lock(config.root)
    en, tr = config.chapters(SOURCE), config.chapters(lang)
    en_files = {p.relative_to(en).as_posix() for p in en.rglob('*.md')}
    tr_files = {p.relative_to(tr).as_posix() for p in tr.rglob('*.md')} if tr.is_dir() else set()
    stale = [rel for rel in sorted(en_files & tr_files)
             if lock.follows(lang, rel) != file_hash(en / rel)]
    return {'missing': sorted(en_files - tr_files), 'stale': stale, 'orphan': sorted(tr_files - en_files)}


def record(config, entries, log=print):
    """Record that each ``(lang, rel)`` translation follows the current English text.

    A translation is recorded only when it keeps the English code, toc blocks and labels; otherwise
    nothing is recorded and the problems name file and line. Runs under the build lock.
    """
    problems = Collector(keep_going=True)
    en_dir = config.chapters(SOURCE)
    for lang, rel in entries:
        en_path, path = en_dir / rel, config.chapters(lang) / rel
        new, tr = changes.units(read_cells(en_path)), changes.units(read_cells(path))
        for line, message in changes.code_problems(tr, new, new, en_path.name):
            problems.add(path, line, message, 'translations keep the English code; only comments may change')
        have = {label for unit in tr for label in unit.labels}
        for label in sorted({label for unit in new for label in unit.labels} - have):
            problems.add(path, 1, f'label "{label}" of {en_path.name} is missing in this translation',
                         'translations keep every label of the English section')
    problems.raise_if_any()
    with exclusive(config.build_dir, log=log):
        lock = Lock(config.root)
        for lang, rel in entries:
            lock.record(lang, rel, en_dir / rel)
        lock.save()
    for lang, rel in entries:
        log(f'{lang}: {rel} follows the current English text')
