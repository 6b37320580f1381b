"""One build at a time per book tree: a second one waits, then refuses with a clear message."""
import fcntl
import os
import time
from contextlib import contextmanager

from .errors import BuildError, Problem


@contextmanager
def exclusive(build_dir, wait=600, log=print):
    """Hold ``_build/.lock`` (an OS lock: released even when the process is killed)."""
    build_dir.mkdir(parents=True, exist_ok=True)
    path = build_dir / '.lock'
    with open(path, 'a+') as f:
        deadline = time.time() + wait
        announced = False
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.time() > deadline:
                    f.seek(0)
                    raise BuildError(Problem(path, 1, f'another build (pid {f.read().strip() or "?"}) '
                                                      'is running on this tree', 'wait for it to finish'))
                if not announced:
                    log('another build is running on this tree; waiting for it to finish ...')
                    announced = True
                time.sleep(0.5)
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
