"""Writing files so that a reader (or a killed build) never sees half of one: the build's one helper."""
import os
import tempfile
from pathlib import Path


def write_atomic(path, data):
    """Replace ``path`` with ``data`` (str as UTF-8, or bytes) in one rename: readers see the old
    file or the new one, never a part."""
    path = Path(path)
    data = data.encode('utf-8') if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_if_changed(path, data):
    """``write_atomic`` unless ``path`` already holds ``data``; True when it wrote."""
    path = Path(path)
    raw = data.encode('utf-8') if isinstance(data, str) else data
    if path.is_file() and path.stat().st_size == len(raw) and path.read_bytes() == raw:
        return False
    write_atomic(path, raw)
    return True
