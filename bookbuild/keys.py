"""Cache keys of executions, and why two keys differ (storage is in cache.py).

A key has two levels. The *base* decides the program and where it runs: the code cells
(comments ignored), the kernel, the ``d2l`` library when the code uses it, the environment as
the kernel sees it and the devices the section gets. The files the program read from the book
are known only after it ran: they are recorded per base, and the full key adds their contents,
with those of the files the section declares (read by native code, which is not recorded).
"""
import hashlib
import json

from .notebooks import code_signature

FORMAT = 2


def _sha(text):
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def parts(code_sources, kernel, library_source, environment, devices, tab=None):
    """Everything but the files read, as a JSON-able dict (kept in each entry, for ``why``).
    ``tab``: a tab other than the book's default one, which executes on its own."""
    uses_library = any('d2l' in src for src in code_sources)
    return {'format': FORMAT, 'kernel': kernel, **({'tab': tab} if tab else {}),
            'code': [_sha(code_signature(src))[:16] for src in code_sources],
            'library': _sha(library_source)[:16] if uses_library else '-',
            'devices': devices, **environment.key_parts()}


def base_key(key_parts):
    return _sha(json.dumps(key_parts, sort_keys=True))


def file_hashes(root, files):
    """``{relative path: sha256}`` of book files (``missing`` for a file that is gone)."""
    hashes = {}
    for rel in sorted(files):
        path = root / rel
        hashes[rel] = _sha(path.read_bytes())[:16] if path.is_file() else 'missing'
    return hashes


def describe_reads(key_parts):
    """The book files of a key, those declared in the section marked, e.g. ``a.csv, w.params (declared)``."""
    declared = set(key_parts.get('declared', ()))
    return ', '.join(rel + (' (declared)' if rel in declared else '') for rel in key_parts['reads']) or 'none'


def full_key(base, reads):
    return _sha(base + json.dumps(reads, sort_keys=True))


def explain(old, new, code_lines=()):
    """Why ``new`` (parts + ``reads``) misses where ``old`` was cached: a list of short reasons.

    ``code_lines`` are the Markdown lines of the new code cells, to name the changed ones.
    """
    reasons = []
    if old.get('format') != new.get('format'):
        return ['the cache format changed']
    old_code, new_code = old['code'], new['code']
    changed = [i for i, (a, b) in enumerate(zip(old_code, new_code)) if a != b]
    if len(old_code) != len(new_code):
        reasons.append(f'{len(new_code)} code cells, were {len(old_code)}')
    for i in changed[:3]:
        where = f' (line {code_lines[i]})' if i < len(code_lines) else ''
        reasons.append(f'code cell {i + 1}{where} changed')
    if len(changed) > 3:
        reasons.append(f'and {len(changed) - 3} more code cells changed')
    if old['library'] != new['library']:
        reasons.append('the d2l library changed' if '-' not in (old['library'], new['library'])
                       else 'the code now uses the d2l library' if old['library'] == '-'
                       else 'the code no longer uses the d2l library')
    for name in ('tab', 'kernel', 'python', 'machine', 'devices'):
        if old.get(name) != new.get(name):
            reasons.append(f'{name}: {old.get(name)} -> {new.get(name)}')
    for module in sorted(set(old['frameworks']) | set(new['frameworks'])):
        a, b = old['frameworks'].get(module), new['frameworks'].get(module)
        if a != b:
            reasons.append(f'framework {module}: {a} -> {b}')
    a, b = old['packages'], new['packages']
    diff = [f'{n} {a.get(n, "(none)")} -> {b.get(n, "(none)")}'
            for n in sorted(set(a) | set(b)) if a.get(n) != b.get(n)]
    if diff:
        reasons.append('packages: ' + ', '.join(diff[:5]) + (f' and {len(diff) - 5} more' if len(diff) > 5 else ''))
    if reasons:
        return reasons      # another program: the files it reads are not comparable
    declared = set(old.get('declared', ())) | set(new.get('declared', ()))
    for rel in sorted(set(old.get('reads', {})) | set(new.get('reads', {}))):
        before, after = old.get('reads', {}).get(rel), new.get('reads', {}).get(rel)
        if before != after:
            reasons.append((f'{rel} was deleted' if after == 'missing' else f'{rel} changed'
                            if before else f'{rel} is read now') + (' (declared)' if rel in declared else ''))
    return reasons or ['the cached entry is gone (cleared, or dropped as corrupt)']
