"""The build's child processes: marked, so that none outlives the build.

Every process the build starts (kernel runners, Jupyter kernels, pandoc, Sphinx and its workers,
latexmk, xelatex) inherits ``BOOKBUILD_TREE=<build dir>`` and ``BOOKBUILD_PID=<build pid>``.
Kernels start in sessions of their own and latexmk's children outlive latexmk, so children are
found by this mark, not by process group. When a build ends, for any reason, it ends every
process that carries its mark; a build that was killed (SIGKILL) cannot, so the next build on
the tree ends the processes of the dead one before it starts.
"""
import os
import signal
import time
from contextlib import contextmanager
from pathlib import Path

TREE, OWNER = 'BOOKBUILD_TREE', 'BOOKBUILD_PID'


def _environ(pid):
    try:
        data = Path(f'/proc/{pid}/environ').read_bytes()
    except OSError:
        return {}
    pairs = (item.partition(b'=') for item in data.split(b'\0') if item)
    return {k.decode(errors='replace'): v.decode(errors='replace') for k, _, v in pairs}


def _command(pid):
    try:
        return Path(f'/proc/{pid}/cmdline').read_bytes().replace(b'\0', b' ').decode(errors='replace').strip()
    except OSError:
        return '?'


def marked(build_dir):
    """``{pid: (owner pid, command)}`` of the live processes started by builds of this tree."""
    tree, found = str(build_dir), {}
    for entry in Path('/proc').iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        env = _environ(entry.name)
        if env.get(TREE) == tree:
            found[int(entry.name)] = (int(env.get(OWNER) or 0), _command(entry.name))
    return found


def end(pids, grace=0.0):
    """SIGKILL these processes (after SIGTERM and ``grace`` seconds, when given)."""
    signals = ([signal.SIGTERM] if grace else []) + [signal.SIGKILL]
    for sig in signals:
        for pid in pids:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        if sig == signal.SIGTERM:
            time.sleep(grace)


def end_marked(build_dir, owner=None, rounds=20):
    """End every marked process of this tree (only ``owner``'s when given), including those
    started while we were ending the others; return ``{pid: command}`` of what was ended."""
    ended = {}
    for _ in range(rounds):
        found = {pid: cmd for pid, (who, cmd) in marked(build_dir).items() if owner is None or who == owner}
        found = {pid: cmd for pid, cmd in found.items() if pid not in ended or _alive(pid)}
        if not found:
            break
        end(found)
        ended.update(found)
        time.sleep(0.1)
    return ended


def _alive(pid):
    try:
        state = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != 'Z'


@contextmanager
def owned(build_dir, log=print):
    """Mark this build's children; end leftovers of killed builds first, and ours at the end.

    Call it while holding the build lock: any marked process of the tree that is not ours then
    belongs to a build that is gone.
    """
    build_dir = Path(build_dir).resolve()
    left = end_marked(build_dir)
    if left:
        log(f'ended {len(left)} process(es) left running by an earlier build that was killed:')
        for pid, cmd in sorted(left.items()):
            log(f'  pid {pid}: {cmd[:100]}')
    saved = {k: os.environ.get(k) for k in (TREE, OWNER)}
    os.environ[TREE], os.environ[OWNER] = str(build_dir), str(os.getpid())
    try:
        yield
    finally:
        end_marked(build_dir, owner=os.getpid())
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def watch_parent(on_orphaned, interval=0.5):
    """Call ``on_orphaned()`` from a daemon thread as soon as this process's parent is gone."""
    import threading
    parent = os.getppid()

    def poll():
        while os.getppid() == parent:
            time.sleep(interval)
        on_orphaned()
    threading.Thread(target=poll, daemon=True).start()
