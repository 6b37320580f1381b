"""Writing files so that a reader (or a killed build) never sees half of one."""
import os
import threading
from pathlib import Path


def write_atomic(path, data):
    """Write ``data`` (str as UTF-8, or bytes) to ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f'.{path.name}.{os.getpid()}-{threading.get_ident()}.tmp')
    tmp.write_bytes(data.encode('utf-8') if isinstance(data, str) else data)
    os.replace(tmp, path)


def write_if_changed(path, data):
    """``write_atomic`` unless ``path`` already holds ``data``; True when it wrote."""
    path = Path(path)
    raw = data.encode('utf-8') if isinstance(data, str) else data
    if path.is_file() and path.stat().st_size == len(raw) and path.read_bytes() == raw:
        return False
    write_atomic(path, raw)
    return True
