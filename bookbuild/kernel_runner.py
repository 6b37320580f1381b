"""Execute one notebook in a fresh Jupyter kernel (run as a child process of the build).

Usage: python -m bookbuild.kernel_runner JOB.json, where the job names ``src`` and ``dst``
(notebooks), ``cwd``, ``budget`` (seconds for all cells together) and ``progress`` (a file
where the index of the running code cell is kept, for the build to report on a hard kill).
Or: python -m bookbuild.kernel_runner --ahead KERNEL [MODULE...]: start the kernel and import the
modules (the framework) at once, while other sections run; then read JOB.json's path from stdin.
Each section still runs in a kernel of its own.

Writes ``dst`` with outputs; on a failing cell the notebook's metadata holds
``error = {cell, ename, evalue, traceback}``. ``kernel_seconds`` in its metadata is the start-up:
from when the build started this runner until the kernel was ready (and had imported the modules);
``kernel_waited`` the part of it the section waited for.
Exit status 0 either way. A kernel that fails to start is started once more (port races,
papermill#511). When the build that started this runner dies, the runner ends its kernel and itself.
"""
import json
import os
import sys
import time
from pathlib import Path

from . import startup  # noqa: F401  (first: keeps start-up short)

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from .procs import watch_parent  # noqa: E402


def start_kernel(client, cwd):
    """Start the kernel and its client, once more if the first start fails.

    Returns what went wrong the first time ('' when nothing did)."""
    first = ''
    for attempt in (1, 2):
        client.km = client.create_kernel_manager()
        try:
            client.start_new_kernel(cwd=cwd)
            client.start_new_kernel_client()
            return first
        except Exception as e:      # jupyter_client raises RuntimeError, TimeoutError, zmq errors
            if client.km is not None:   # nbclient cleans up itself when the client fails
                try:
                    client._cleanup_kernel()
                except Exception:
                    pass
            client.km = client.kc = None
            if attempt == 2:
                raise
            first = f'the kernel failed to start ({type(e).__name__}: {e}); started it again'


def _end_kernel(client):
    km = client.km
    if km is not None and getattr(km, 'provisioner', None) is not None:
        pid = getattr(km.provisioner, 'pid', None) or getattr(getattr(km.provisioner, 'process', None), 'pid', None)
        if pid:
            try:
                os.killpg(pid, 9)       # the kernel leads a session of its own
            except OSError:
                pass
    os._exit(3)


def ahead(kernel, modules):
    """Start a kernel in the current directory and import ``modules`` in it before the job is known;
    then read the job's path from stdin (nothing: end the kernel) and run it there."""
    launched = float(os.environ.get('BOOKBUILD_LAUNCHED') or time.time())
    client = NotebookClient(nbformat.v4.new_notebook(), kernel_name=kernel, allow_errors=False)
    watch_parent(lambda: _end_kernel(client))
    started = None
    try:
        retried = start_kernel(client, os.getcwd())
        for module in modules:      # imported, but no name is left behind in the section's namespace
            _quietly(client, f'import {module} as _bookbuild_ahead\ndel _bookbuild_ahead')
        started = (retried, time.time() - launched)
    except CellExecutionError:      # e.g. not installed: the section's own import reports it
        started = (retried, time.time() - launched)
    except Exception:               # the job starts a kernel of its own
        if client.km is not None:
            try:
                client._cleanup_kernel()
            except Exception:
                pass
        client.km = client.kc = None
    ready = time.time()
    job_path = sys.stdin.readline().strip()
    if not job_path:
        if client.km is not None:
            client._cleanup_kernel()
        return
    main(job_path, client if started else None)
    if started:     # rewrite the start-up figures: the kernel started before the job came
        job = json.loads(Path(job_path).read_text())
        nb = nbformat.read(job['dst'], as_version=4)
        sent = job.get('launched', ready)     # when the build handed the job over
        if started[0]:
            nb.metadata['kernel_retried'] = started[0]
        nb.metadata['kernel_seconds'] = round(started[1], 3)
        nb.metadata['kernel_waited'] = round(max(0.0, ready - sent), 3)
        nbformat.write(nb, job['dst'])


def _quietly(client, code):
    """Run ``code`` in the kernel without a trace in the notebook or the kernel's history
    (nbclient stores an executed cell at its index in ``client.nb``: a scratch notebook here)."""
    cell = nbformat.v4.new_code_cell(code)
    saved, client.nb = client.nb, nbformat.v4.new_notebook(cells=[cell])
    try:
        client.execute_cell(cell, 0, store_history=False)
    finally:
        client.nb = saved


def main(job_path, client=None):
    """Run the job; ``client``: a kernel started ahead (its working directory is changed to the job's)."""
    job = json.loads(Path(job_path).read_text())
    nb = nbformat.read(job['src'], as_version=4)
    code_cells = [c for c in nb.cells if c.cell_type == 'code']
    progress = Path(job['progress'])
    error = None
    if client is not None:
        client.nb = nb
        _quietly(client, f'__import__("os").chdir({job["cwd"]!r})')
    else:
        client = NotebookClient(nb, kernel_name=job.get('kernel', 'python3'), allow_errors=False,
                                resources={'metadata': {'path': job['cwd']}})
        watch_parent(lambda: _end_kernel(client))
        try:
            retried = start_kernel(client, job['cwd'])
            nb.metadata['kernel_seconds'] = round(time.time() - job.get('launched', time.time()), 3)
            nb.metadata['kernel_waited'] = nb.metadata['kernel_seconds']
            if retried:
                nb.metadata['kernel_retried'] = retried
        except Exception as e:
            nb.metadata['error'] = {'cell': 0, 'ename': 'KernelStart', 'traceback': '',
                                    'evalue': f'the kernel failed to start twice; last: {type(e).__name__}: {e}'}
            nbformat.write(nb, job['dst'])
            return
    budget = float(job['budget'])
    deadline = time.monotonic() + budget
    client.timeout_func = lambda cell: max(0.01, deadline - time.monotonic())   # what is left of the budget
    index = 0
    try:
        for cell_index, cell in enumerate(nb.cells):
            if cell.cell_type != 'code':
                continue
            progress.write_text(str(index))
            if time.monotonic() >= deadline:
                raise CellTimeoutError('')
            client.execute_cell(cell, cell_index, execution_count=index + 1)
            index += 1
    except CellExecutionError as e:
        error = {'ename': e.ename, 'evalue': e.evalue, 'traceback': e.traceback}
    except CellTimeoutError:
        error = {'ename': 'Timeout', 'evalue': f'the section ran out of its {budget:g} s budget during this cell',
                 'traceback': ''}
    except DeadKernelError as e:
        error = {'ename': 'DeadKernel', 'evalue': 'the kernel died while running this cell', 'traceback': str(e)}
    finally:
        if client.km is not None:
            client._cleanup_kernel()
    if error is not None:
        error['cell'] = min(index, len(code_cells) - 1)
        nb.metadata['error'] = error
    nbformat.write(nb, job['dst'])


if __name__ == '__main__':
    if sys.argv[1] == '--ahead':
        ahead(sys.argv[2], sys.argv[3:])
    else:
        main(sys.argv[1])
