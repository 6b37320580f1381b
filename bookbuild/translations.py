"""The translation lock: which English revision each translated file follows."""
import hashlib
import json
from pathlib import Path

from .languages import SOURCE
from .markdown import read_cells
from .notebooks import code_signature

LOCK_NAME = 'translations.lock'


def file_hash(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


class Lock:
    """``{lang: {relative path: hash of the English file it was translated from}}``."""

    def __init__(self, path):
        self.path = Path(path)
        self.data = json.loads(self.path.read_text(encoding='utf-8')) if self.path.is_file() else {}

    def follows(self, lang, rel):
        return self.data.get(lang, {}).get(rel)

    def record(self, lang, rel, english_path):
        self.data.setdefault(lang, {})[rel] = file_hash(english_path)

    def save(self):
        data = {lang: dict(sorted(files.items())) for lang, files in sorted(self.data.items())}
        self.path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')


def status(config, lang, lock=None):
    """Return dict of lists: missing, stale, orphan (relative paths) for one edition."""
    lock = lock or Lock(config.root / LOCK_NAME)
    en, tr = config.chapters(SOURCE), config.chapters(lang)
    en_files = {p.relative_to(en).as_posix() for p in en.rglob('*.md')}
    tr_files = {p.relative_to(tr).as_posix() for p in tr.rglob('*.md')} if tr.is_dir() else set()
    stale = [rel for rel in sorted(en_files & tr_files)
             if lock.follows(lang, rel) != file_hash(en / rel)]
    return {'missing': sorted(en_files - tr_files), 'stale': stale, 'orphan': sorted(tr_files - en_files)}


def code_drift(english_path, translated_path):
    """The line of the first translated code cell that differs from English, or None."""
    en_code = [c for c in read_cells(english_path) if c.kind == 'code']
    tr_code = [c for c in read_cells(translated_path) if c.kind == 'code']
    for e, t in zip(en_code, tr_code):
        if code_signature(e.source) != code_signature(t.source):
            return t.line, f'code cell differs from the English one at {english_path.name}:{e.line}'
    if len(en_code) != len(tr_code):
        line = tr_code[len(en_code)].line if len(tr_code) > len(en_code) else 1
        return line, f'{len(tr_code)} code cells, the English section has {len(en_code)}'
    return None
