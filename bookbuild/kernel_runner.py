"""Execute one notebook in a fresh Jupyter kernel (run as a child process of the build).

Usage: python -m bookbuild.kernel_runner IN.ipynb OUT.ipynb CWD TIMEOUT
Writes OUT.ipynb with outputs; on a failing cell the notebook's metadata holds
``error = {cell, ename, evalue, traceback}``. Exit status 0 either way.
"""
import sys

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


def main(src, dst, cwd, timeout):
    nb = nbformat.read(src, as_version=4)
    current = {'cell': 0}
    code_index = {id(c): i for i, c in enumerate(c for c in nb.cells if c.cell_type == 'code')}

    def on_cell_execute(cell, cell_index):
        current['cell'] = code_index.get(id(cell), current['cell'])

    client = NotebookClient(nb, timeout=int(timeout), kernel_name='python3',
                            resources={'metadata': {'path': cwd}}, on_cell_execute=on_cell_execute)
    error = None
    try:
        client.execute()
    except CellExecutionError as e:
        error = {'ename': e.ename, 'evalue': e.evalue, 'traceback': e.traceback}
    except CellTimeoutError as e:
        error = {'ename': 'Timeout', 'evalue': f'a cell ran longer than {timeout} s', 'traceback': str(e)}
    except DeadKernelError as e:
        error = {'ename': 'DeadKernel', 'evalue': 'the kernel died while running this cell', 'traceback': str(e)}
    if error is not None:
        error['cell'] = current['cell']
        nb.metadata['error'] = error
    nbformat.write(nb, dst)


if __name__ == '__main__':
    main(*sys.argv[1:5])
