"""Content-addressed store of executed code outputs (keys are made in keys.py).

``<dir>/<key[:2]>/<key>.json``  one entry: outputs per code cell, the key's parts and the files read
``<dir>/reads/<base>.json``     the book files that the program with this base key read
``<dir>/sections.json``         the key each section used last, so ``build.py cache why`` can compare
"""
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from .files import write_atomic


def _digest(outputs):
    return hashlib.sha256(json.dumps(outputs, sort_keys=True).encode()).hexdigest()


@dataclass
class Entry:
    key: str
    outputs: list      # one list of nbformat outputs per code cell
    seconds: float
    source: str        # the section that produced it
    created: float
    parts: dict = field(default_factory=dict)   # keys.parts() plus 'reads': {file: hash}


class Cache:
    """Writes are atomic; an entry that does not read back whole is dropped."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.dropped = []  # keys of corrupt entries found and removed

    def _path(self, key):
        return self.dir / key[:2] / f'{key}.json'

    def get(self, key):
        path = self._path(key)
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding='utf-8'))
            if data.get('digest') != _digest(data['outputs']) or data['key'] != key:
                raise ValueError('digest mismatch')
            return Entry(key, data['outputs'], data['seconds'], data['source'], data['created'],
                         data.get('parts', {}))
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            path.unlink(missing_ok=True)
            self.dropped.append(key)
            return None

    def put(self, key, outputs, seconds, source, parts=None):
        data = {'key': key, 'outputs': outputs, 'digest': _digest(outputs), 'seconds': seconds,
                'source': source, 'created': time.time(), 'parts': parts or {}}
        write_atomic(self._path(key), json.dumps(data))

    # ---- the files each program read ---------------------------------------
    def reads(self, base):
        path = self.dir / 'reads' / f'{base}.json'
        try:
            return json.loads(path.read_text(encoding='utf-8'))
        except (OSError, ValueError):
            return []

    def record_reads(self, base, files):
        write_atomic(self.dir / 'reads' / f'{base}.json', json.dumps(sorted(files)))

    # ---- the last key of each section --------------------------------------
    def last_keys(self):
        try:
            return json.loads((self.dir / 'sections.json').read_text(encoding='utf-8'))
        except (OSError, ValueError):
            return {}

    def record_last_keys(self, keys):
        write_atomic(self.dir / 'sections.json', json.dumps({**self.last_keys(), **keys}, indent=0, sort_keys=True))

    def entries(self):
        """Every readable entry, newest first."""
        found = [self.get(p.stem) for p in self.dir.glob('??/*.json')]
        return sorted((e for e in found if e), key=lambda e: -e.created)

    def clear(self):
        for p in list(self.dir.glob('??/*.json')) + list(self.dir.glob('reads/*.json')):
            p.unlink()
        (self.dir / 'sections.json').unlink(missing_ok=True)
