"""The quick "nothing changed" check: a rebuild with no change only stats files.

A successful build records the size, modification time and inode of every file it could have
read (the whole book tree but ``_build``, the theme, the build system's own code), every file it
published, and a fingerprint of the tools (``tools``). The next build of the same command first
stats them all again; when nothing differs it reports the last build's result and stops, without
importing Jupyter, Sphinx or the framework. The snapshot is taken before the build reads anything
and kept only if the inputs are the same after it, so an edit made during a build is never lost.
"""
import glob
import json
import os
import shutil
import sys
import time
from pathlib import Path

from .files import write_atomic

TOOL = Path(__file__).resolve().parent
SKIP = {'_build', '.git', '.venv', '__pycache__', '.pytest_cache', '.ipynb_checkpoints', 'node_modules'}
PROGRAMS = ('pandoc', 'xelatex', 'latexmk', 'rsvg-convert', 'nvidia-smi')
KERNEL_DIRS = ('share/jupyter/kernels',)


def _skipped(name):
    return name in SKIP


def walk(top, out, skip=_skipped):
    """(path, size, mtime, inode) of every file under ``top`` (a file, a directory or nothing),
    leaving out the entries whose name ``skip`` accepts; (path, None) for what cannot be read."""
    try:
        entries = sorted(os.scandir(top), key=lambda e: e.name)
    except NotADirectoryError:
        try:
            st = os.stat(top)
            out.append((str(top), st.st_size, st.st_mtime_ns, st.st_ino))
        except OSError:
            out.append((str(top), None))
        return
    except OSError:
        out.append((str(top), None))
        return
    for e in entries:
        if skip(e.name):
            continue
        try:
            if e.is_dir():
                walk(e.path, out, skip)
            else:
                st = e.stat()
                out.append((e.path, st.st_size, st.st_mtime_ns, st.st_ino))
        except OSError:
            out.append((e.path, None))


def _packages(directory, out):
    """The directory and the metadata of each distribution installed in it."""
    st = os.stat(directory)
    out.append((directory, st.st_mtime_ns, st.st_ino))
    for e in sorted(os.scandir(directory), key=lambda e: e.name):
        if e.name.endswith(('.dist-info', '.egg-info')):
            for meta in ('METADATA', 'PKG-INFO'):
                if os.path.exists(os.path.join(e.path, meta)):
                    walk(os.path.join(e.path, meta), out)


def tools():
    """What the outputs depend on outside the book, cheaply: this Python and its installed
    packages (a package installed, upgraded or removed changes its directory), the Jupyter kernels,
    the programs the build runs, the GPUs the kernels may see, and the variables that choose them."""
    out = [('python', sys.executable, sys.version)]
    for d in sys.path:
        if d and os.path.isdir(d):
            _packages(d, out)
    prefixes = {sys.prefix, sys.base_prefix, os.path.expanduser('~/.local'), '/usr/local', '/usr'}
    kernel_dirs = [os.path.join(p, k) for p in sorted(prefixes) for k in KERNEL_DIRS]
    kernel_dirs += [os.path.join(p, 'kernels') for p in os.environ.get('JUPYTER_PATH', '').split(os.pathsep) if p]
    kernel_dirs.append(os.path.expanduser('~/.local/share/jupyter/kernels'))
    for d in kernel_dirs:
        walk(d, out)
        for spec in glob.glob(os.path.join(d, '*', 'kernel.json')):     # a kernel in another environment
            try:
                python = json.loads(Path(spec).read_text())['argv'][0]
            except (OSError, ValueError, KeyError, IndexError):
                continue
            if os.path.isabs(python):
                prefix = os.path.dirname(os.path.dirname(python))
                for site in glob.glob(os.path.join(prefix, 'lib', 'python*', 'site-packages')):
                    _packages(site, out)
    for name in PROGRAMS:
        path = shutil.which(name)
        if path:
            st = os.stat(path)
            out.append((name, os.path.realpath(path), st.st_size, st.st_mtime_ns))
        else:
            out.append((name, None))
    out.append(('gpus', sorted(glob.glob('/dev/nvidia*'))))
    out.append(('env', [os.environ.get(k) for k in ('CUDA_VISIBLE_DEVICES', 'PYTHONPATH', 'JUPYTER_PATH',
                                                    'PATH', 'LANG', 'LC_ALL')]))
    return out


def inputs(config):
    """Everything a build of ``config``'s book could read: the tree, the theme, our code, the tools."""
    out = []
    walk(config.root, out)
    if not str(config.static_dir).startswith(str(config.root) + os.sep):
        walk(config.static_dir, out)
    if not str(TOOL).startswith(str(config.root) + os.sep):
        walk(TOOL, out)
    return out + tools()


def outputs(config):
    out = []
    for name in ('site', 'colab'):
        walk(config.build_dir / name, out, skip=lambda name: False)
    if (config.build_dir / 'site').is_symlink():
        out.append(('site ->', os.readlink(config.build_dir / 'site')))
    return out


class Stamp:
    """The record of the last successful build of one command (``key``) on one tree."""

    def __init__(self, config, key):
        self.config = config
        self.path = config.build_dir / 'uptodate' / (key + '.json')

    def check(self):
        """The last build's report when no input or output changed since it, else None."""
        start = time.perf_counter()
        try:
            data = json.loads(self.path.read_text(encoding='utf-8'))
        except (OSError, ValueError):
            return None
        now = inputs(self.config)
        if json.loads(json.dumps(now)) != data['inputs'] or json.loads(json.dumps(outputs(self.config))) != data['outputs']:
            return None
        return dict(data['report'], files=len(now), seconds=time.perf_counter() - start, built=data['built'])

    def begin(self):
        """Before the build reads anything: forget the record, snapshot the inputs."""
        self.path.unlink(missing_ok=True)
        self._before = inputs(self.config)
        self._started = time.time()

    def done(self, report):
        """After a successful build: keep the record, unless an input changed while it ran."""
        if inputs(self.config) != self._before:
            return False
        write_atomic(self.path, json.dumps({'built': self._started, 'inputs': self._before,
                                            'outputs': outputs(self.config), 'report': report}))
        return True
