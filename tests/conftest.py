"""Shared helpers: copy a fixture book and run the real build on it; fixed seeds for library tests."""
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from skipguard import pytest_addoption, pytest_configure, pytest_runtest_makereport, pytest_runtest_setup  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / 'fixtures'


@pytest.fixture(scope='module')
def browser():
    """One headless Chromium per test module."""
    from browsing import chromium
    with chromium() as b:
        yield b


def build_env(pythonpath=(), **extra):
    """The environment of a build started by a test: this checkout first on the Python path."""
    return {**os.environ, 'PYTHONPATH': os.pathsep.join([str(ROOT), *map(str, pythonpath)]), **extra}


def interruptible():
    """For Popen's ``preexec_fn``: Ctrl-C (SIGINT) interrupts the child, even when this test run was
    started with SIGINT ignored (as a shell does for background jobs) and the child would inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_build(root, *args, timeout=900, env=None):
    """Run ``python -m bookbuild`` on a book; return the completed process (text output)."""
    return subprocess.run([sys.executable, '-m', 'bookbuild', *args, '--root', str(root)],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env or build_env())


def edit(root, rel, old, new):
    """Replace the first ``old`` by ``new`` in the book file ``rel``; return its path."""
    path = root / rel
    text = path.read_text(encoding='utf-8')
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding='utf-8')
    return path


def copy_book(tmp_path, name='minibook'):
    dst = tmp_path / name
    shutil.copytree(FIXTURES / name, dst, ignore=shutil.ignore_patterns('_build'))
    return dst


def executed_count(output):
    """The number of notebooks a build executed, from its summary line."""
    for line in output.splitlines():
        if line.startswith('notebooks executed:'):
            return int(line.split(':')[1].split(',')[0])
    raise AssertionError('no summary line in:\n' + output)


@pytest.fixture(scope='session')
def built_book(tmp_path_factory):
    """The fixture book built once in full (HTML + PDF, en + ja)."""
    root = copy_book(tmp_path_factory.mktemp('built'))
    result = run_build(root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root, result


@pytest.fixture(autouse=True)
def seeded_and_closed(request):
    """Tests of the ``d2l`` library start from fixed seeds and leave no figure open."""
    if not request.module.__name__.startswith(('test_library', 'test_training')):
        yield
        return
    import numpy as onp
    from mxnet import npx
    from d2l import mxnet as d2l
    npx.random.seed(0)
    onp.random.seed(0)
    yield
    d2l.plt.close('all')
