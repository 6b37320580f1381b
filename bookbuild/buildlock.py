"""One build at a time per book tree: a second one says who holds the tree, waits, then refuses."""
import fcntl
import os
import sys
import time
from contextlib import contextmanager

from .errors import BuildError, Problem

_held = set()       # lock files this process holds: taking one again (nested) is a no-op


def _holder(f):
    f.seek(0)
    return f.read().strip() or 'a process that does not say which'


@contextmanager
def exclusive(build_dir, wait=600, log=print, command=None):
    """Hold ``_build/.lock`` (an OS lock: released even when the process is killed).

    The lock file names its holder (``build.py html (pid 123, started 14:02:11)``) for the others.
    """
    build_dir.mkdir(parents=True, exist_ok=True)
    path = (build_dir / '.lock').resolve()
    if path in _held:
        yield
        return
    with open(path, 'a+') as f:
        deadline = time.time() + wait
        announced = False
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.time() > deadline:
                    raise BuildError(Problem(path, 1, f'{_holder(f)} is still running on this tree',
                                             'wait for it to finish')) from None
                if not announced:
                    log(f'another build is running on this tree; waiting for it to finish: {_holder(f)}')
                    announced = True
                time.sleep(0.5)
        command = command or 'build.py ' + ' '.join(sys.argv[1:])
        f.seek(0)
        f.truncate()
        f.write(f'{command} (pid {os.getpid()}, started {time.strftime("%H:%M:%S")})')
        f.flush()
        _held.add(path)
        try:
            yield
        finally:
            _held.discard(path)
            fcntl.flock(f, fcntl.LOCK_UN)
