"""Kernel start-up file (PYTHONSTARTUP): log every file under the book that the code opens to read.

Runs inside the kernel with the standard library only. ``BOOKBUILD_READLOG`` names the log,
``BOOKBUILD_READROOT`` the book; the build maps the logged paths to book files (execute.py).
Files opened by C code that bypasses Python's ``open`` are not seen.
"""


def _bookbuild_log_reads():
    import os
    import sys
    log_path, root = os.environ.get('BOOKBUILD_READLOG'), os.environ.get('BOOKBUILD_READROOT')
    if not log_path or not root:
        return
    root = os.path.join(os.path.realpath(root), '')
    log = open(log_path, 'a', encoding='utf-8', buffering=1)
    seen = set()
    writing = os.O_WRONLY | os.O_RDWR

    def hook(event, args):
        if event != 'open' or len(args) < 3 or isinstance(args[0], int):
            return
        path, mode, flags = args
        reading = not any(c in mode for c in 'wax+') if isinstance(mode, str) else not (flags or 0) & writing
        if not reading:
            return
        try:
            full = os.path.abspath(os.fsdecode(path))
        except (TypeError, ValueError):
            return
        if not full.startswith(root) or full in seen or '/.' in full[len(root) - 1:] or '__pycache__' in full:
            return
        seen.add(full)
        log.write(full + '\n')
    sys.addaudithook(hook)


_bookbuild_log_reads()
del _bookbuild_log_reads
