"""Run every section's code once per distinct program, in parallel, through the cache."""
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .cache import Cache, cache_key
from .errors import Problem

MAX_OUTPUT_CHARS = 20_000
ANSI = re.compile(r'\x1b\[[0-9;]*[A-Za-z]')


@dataclass
class Job:
    """One section to make outputs for: its notebook and where its cells came from."""
    name: str             # e.g. chapter_x/section
    path: Path            # the Markdown file (for error messages)
    notebook: object      # nbformat notebook, code cells carry metadata.md_line
    hints: dict = field(default_factory=dict)

    @property
    def code_cells(self):
        return [c for c in self.notebook.cells if c.cell_type == 'code']


@dataclass
class Report:
    executed: list = field(default_factory=list)   # (name, seconds)
    reused: int = 0          # sections whose outputs were already in the cache
    sections: int = 0        # sections with code, over all languages
    problems: list = field(default_factory=list)
    dropped: list = field(default_factory=list)


def framework_version():
    try:
        from importlib.metadata import version
        return version('mxnet')
    except Exception:
        return 'none'


def gpu_count():
    try:
        out = subprocess.run(['nvidia-smi', '-L'], capture_output=True, text=True, timeout=10)
        return out.stdout.count('GPU ')
    except (OSError, subprocess.TimeoutExpired):
        return 0


def merge_streams(outputs):
    """Join consecutive stdout/stderr chunks, as Jupyter shows them."""
    merged = []
    for out in outputs:
        prev = merged[-1] if merged else None
        if (prev and out.get('output_type') == 'stream' and prev.get('output_type') == 'stream'
                and prev.get('name') == out.get('name')):
            prev['text'] = prev.get('text', '') + out.get('text', '')
        else:
            merged.append(dict(out))
    return merged


def truncate_outputs(outputs, limit=MAX_OUTPUT_CHARS):
    """Cut very long text outputs so pages stay usable, saying how much was cut."""
    outputs = merge_streams(outputs)
    for out in outputs:
        text = out.get('text') if out.get('output_type') == 'stream' else None
        if isinstance(text, str) and len(text) > limit:
            cut = len(text) - limit
            out['text'] = (text[:limit - 2000] + f'\n... [output truncated: {cut:,} characters omitted] ...\n'
                           + text[-2000:])
        data = out.get('data', {})
        plain = data.get('text/plain')
        if isinstance(plain, str) and len(plain) > limit:
            data['text/plain'] = plain[:limit] + f'\n... [output truncated: {len(plain) - limit:,} characters omitted]'
    return outputs


class Executor:
    """Executes jobs whose outputs are not cached; fills every job's notebook."""

    def __init__(self, cache_dir, library_source, run_dir, timeout=600, workers=0,
                 pythonpath=(), log=print):
        self.cache = Cache(cache_dir)
        self.library_source = library_source
        self.run_dir = Path(run_dir)
        self.timeout = timeout
        self.gpus = gpu_count()
        self.workers = workers or self.gpus or os.cpu_count() or 1
        self.pythonpath = [str(p) for p in pythonpath]
        self.version = framework_version()
        self.log = log
        self._free_gpus = list(range(self.gpus))
        self._lock = threading.Lock()
        self._running = set()      # child process groups, killed if the build is interrupted

    def key(self, job):
        return cache_key([c.source for c in job.code_cells], 'python3',
                         self.library_source, self.version)

    def run(self, jobs):
        """Fill outputs into every job's notebook; return a Report."""
        report = Report()
        by_key = {}
        for job in jobs:
            by_key.setdefault(self.key(job), []).append(job)
        todo = []
        for key, group in by_key.items():
            if not group[0].code_cells:
                continue        # prose only: nothing to run
            report.sections += len(group)
            entry = self.cache.get(key)
            if entry is None:
                todo.append((key, group[0]))
            else:
                report.reused += len(group)
        report.dropped = list(self.cache.dropped)
        for key in report.dropped:
            self.log(f'cache: dropped a corrupt entry {key[:12]}; it will be recomputed')
        if todo:
            self.log(f'executing {len(todo)} notebook(s) with {min(self.workers, len(todo))} worker(s)')
        done = 0
        pool = ThreadPoolExecutor(max_workers=self.workers)
        try:
            futures = {pool.submit(self._execute, key, job): (key, job) for key, job in todo}
            for future in as_completed(futures):
                key, job = futures[future]
                done += 1
                seconds, problem = future.result()
                status = 'FAILED' if problem else 'ok'
                self.log(f'  [{done}/{len(todo)}] {job.name}  {seconds:.1f}s  {status}')
                if problem:
                    report.problems.append(problem)
                else:
                    report.executed.append((job.name, seconds))
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            self.kill_running()
            raise
        pool.shutdown()
        for key, group in by_key.items():
            entry = self.cache.get(key) if group[0].code_cells else None
            if entry is None:
                continue
            for job in group:
                for cell, outputs in zip(job.code_cells, entry.outputs):
                    cell.outputs = [nbformat.from_dict(o) for o in outputs]
                job.notebook.metadata['executed_seconds'] = entry.seconds
        return report

    def kill_running(self):
        with self._lock:
            for pid in list(self._running):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def _acquire_gpu(self, wanted):
        with self._lock:
            if not self._free_gpus or not wanted:
                return None
            return self._free_gpus.pop(0)

    def _release_gpu(self, gpu):
        if gpu is not None:
            with self._lock:
                self._free_gpus.append(gpu)

    def _execute(self, key, job):
        cwd = self.run_dir / Path(job.name).parent
        cwd.mkdir(parents=True, exist_ok=True)
        nb = nbformat.from_dict(job.notebook)
        for cell in nb.cells:
            if cell.cell_type == 'code':
                cell.outputs = []
        gpu = self._acquire_gpu(job.hints.get('gpus', 1))
        env = dict(os.environ, PYTHONWARNINGS='ignore', MPLBACKEND='module://matplotlib_inline.backend_inline',
                   PYTHONPATH=os.pathsep.join(self.pythonpath + [os.environ.get('PYTHONPATH', '')]))
        if self.gpus:
            env['CUDA_VISIBLE_DEVICES'] = '' if gpu is None else str(gpu)
        if self.workers > 1:
            env.setdefault('OMP_NUM_THREADS', '1')
        start = time.time()
        try:
            with tempfile.TemporaryDirectory(dir=self.run_dir) as tmp:
                src, dst = Path(tmp) / 'in.ipynb', Path(tmp) / 'out.ipynb'
                nbformat.write(nb, src)
                proc = subprocess.Popen(
                    [sys.executable, '-m', 'bookbuild.kernel_runner', str(src), str(dst), str(cwd),
                     str(self.timeout)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                    start_new_session=True)
                with self._lock:
                    self._running.add(proc.pid)
                try:
                    log, _ = proc.communicate(timeout=self.timeout + 60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.communicate()
                    return time.time() - start, self._problem(job, 0, 'Timeout', f'the section ran longer than {self.timeout} s', '')
                finally:
                    with self._lock:
                        self._running.discard(proc.pid)
                if proc.returncode != 0 or not dst.is_file():
                    text = log.decode(errors='replace')[-2000:]
                    return time.time() - start, Problem(job.path, 1, f'the notebook runner failed: {text}')
                result = nbformat.read(dst, as_version=4)
        finally:
            self._release_gpu(gpu)
        seconds = time.time() - start
        error = result.metadata.get('error')
        if error:
            return seconds, self._problem(job, error['cell'], error['ename'], error['evalue'],
                                          error['traceback'])
        outputs = [truncate_outputs([dict(o) for o in c.outputs])
                   for c in result.cells if c.cell_type == 'code']
        self.cache.put(key, _plain(outputs), seconds, job.name)
        return seconds, None

    def _problem(self, job, index, ename, evalue, traceback):
        cells = job.code_cells
        cell = cells[min(index, len(cells) - 1)] if cells else None
        line = cell.metadata.get('md_line', 1) if cell else 1
        if isinstance(traceback, list):
            traceback = '\n'.join(traceback)
        hint = {'Timeout': 'make the section faster or raise [build] timeout',
                'DeadKernel': 'the code ended the Python process (os._exit, a crash, or out of memory)'}
        code = '\n'.join('    | ' + l for l in (cell.source if cell else '').splitlines())
        detail = ANSI.sub('', traceback or '').strip()
        message = f'code cell failed with {ename}: {evalue}\n{code}'
        if detail:
            message += '\n' + '\n'.join('    ' + l for l in detail.splitlines()[-15:])
        return Problem(job.path, line, message, hint.get(ename, ''))


def _plain(value):
    """nbformat nodes to plain JSON-able dicts/lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
