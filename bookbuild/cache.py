"""Content-addressed store of executed code outputs, kept apart from how keys are made."""
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from .notebooks import code_signature

FORMAT = 1


def cache_key(code_sources, kernel, library_source, framework_version):
    """Hash of what decides a notebook's outputs: its code (comments ignored),
    the kernel, the d2l library (only when the code uses it) and the framework."""
    h = hashlib.sha256()
    uses_library = any('d2l' in src for src in code_sources)
    for part in (f'format:{FORMAT}', f'kernel:{kernel}', f'framework:{framework_version}',
                 'd2l:' + (hashlib.sha256(library_source.encode()).hexdigest() if uses_library else '-')):
        h.update(part.encode() + b'\0')
    for src in code_sources:
        h.update(code_signature(src).encode() + b'\1')
    return h.hexdigest()


def _digest(outputs):
    return hashlib.sha256(json.dumps(outputs, sort_keys=True).encode()).hexdigest()


@dataclass
class Entry:
    key: str
    outputs: list      # one list of nbformat outputs per code cell
    seconds: float
    source: str        # the section that produced it
    created: float


class Cache:
    """Entries live in ``<dir>/<key[:2]>/<key>.json``; writes are atomic."""

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
            return Entry(key, data['outputs'], data['seconds'], data['source'], data['created'])
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            path.unlink(missing_ok=True)
            self.dropped.append(key)
            return None

    def put(self, key, outputs, seconds, source):
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {'key': key, 'outputs': outputs, 'digest': _digest(outputs),
                'seconds': seconds, 'source': source, 'created': time.time()}
        tmp = path.with_suffix(f'.{os.getpid()}.tmp')
        tmp.write_text(json.dumps(data), encoding='utf-8')
        os.replace(tmp, path)

    def entries(self):
        """Every readable entry, newest first."""
        found = [self.get(p.stem) for p in self.dir.glob('*/*.json')]
        return sorted((e for e in found if e), key=lambda e: -e.created)

    def clear(self):
        for p in self.dir.glob('*/*.json'):
            p.unlink()
