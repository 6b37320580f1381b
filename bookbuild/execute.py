"""Run every section's code once per distinct program, in parallel, through the cache.

Each execution runs in a directory of its own, ``_build/run/<key>/<chapter>/``, where ``../data``
is a fresh copy of the book's ``data/`` directory and ``../img`` the book's images. The files it
reads from the book are recorded (readlog.py), or declared in its prose when native code reads
them (``<!-- reads: data/x.params -->``), and become part of its cache key (keys.py).
"""
import hashlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from . import keys
from .cache import Cache
from .environment import FRAMEWORKS, Environment, probe_source
from .errors import BuildError, Problem
from .files import write_atomic

MAX_OUTPUT_CHARS = 20_000
ANSI = re.compile(r'\x1b\[[0-9;]*[A-Za-z]')
KERNEL = 'python3'
STARTUP_ALLOWANCE = 120     # seconds for a kernel to start (twice) and stop, beyond the section's budget
READLOG = Path(__file__).with_name('readlog.py')


@dataclass
class Job:
    """One section to make outputs for: its notebook and where its cells came from."""
    name: str             # e.g. chapter_x/section
    path: Path            # the Markdown file (for error messages)
    notebook: object      # nbformat notebook, code cells carry metadata.md_line
    hints: dict = field(default_factory=dict)
    tab: str = None       # a tab other than the book's default one: its own executions

    @property
    def label(self):
        """The section, and its tab when that is not the default one."""
        return f'{self.name} [{self.tab}]' if self.tab else self.name

    @property
    def code_cells(self):
        return [c for c in self.notebook.cells if c.cell_type == 'code']

    @property
    def code_lines(self):
        return [c.metadata.get('md_line', 1) for c in self.code_cells]


@dataclass
class Planned:
    """One distinct program: its key, and the sections (over all languages) that share it."""
    key: str
    base: str
    parts: dict
    job: Job
    gpus: int
    note: str = ''                 # why the section does not get the GPUs it asks for
    group: list = field(default_factory=list)
    reasons: list = field(default_factory=list)    # why it is not in the cache
    failed: bool = False
    kernel_seconds: float = 0.0
    kernel_waited: float = 0.0


@dataclass
class Report:
    executed: list = field(default_factory=list)   # (name, seconds)
    reused: int = 0          # sections whose outputs were already in the cache
    sections: int = 0        # sections with code, over all languages
    problems: list = field(default_factory=list)
    dropped: list = field(default_factory=list)
    reasons: dict = field(default_factory=dict)    # name -> why it was executed
    kernel_seconds: float = 0.0    # start-up of the kernels (runner, kernel, framework), summed over the executions
    kernel_waited: float = 0.0     # the part of it sections waited for (the rest ran while other sections ran)


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


def book_reads(root, exec_dir, logged, data_dir='data'):
    """The book files (relative paths) among the paths a kernel logged as opened for reading.

    A read of ``<exec_dir>/data/x`` is a read of the book's ``data/x`` (it was copied there).
    """
    files = set()
    copy = exec_dir / 'data'
    for line in logged:
        path = Path(line)
        if path == copy or copy in path.parents:
            rel = Path(data_dir) / path.relative_to(copy)
        else:
            real = Path(os.path.realpath(path))
            if root not in real.parents:
                continue
            rel = real.relative_to(root)
        parts = rel.parts
        library_code = parts[0] == 'd2l' and rel.suffix in ('.py', '.pyc')     # keyed on its source
        if (parts[0] == '_build' or library_code or any(p.startswith('.') or p == '__pycache__' for p in parts)
                or not (root / rel).is_file()):
            continue
        files.add(rel.as_posix())
    return sorted(files)


def declared_files(root, declared):
    """The book files (relative paths) a section declares it reads: each file named, and every
    file under a directory named."""
    files = set()
    for rel in declared:
        path = root / rel
        if path.is_dir():
            files.update(p.relative_to(root).as_posix() for p in path.rglob('*')
                         if p.is_file() and not p.name.startswith('.'))
        else:
            files.add(Path(rel).as_posix())
    return files


def fill(planned, cache):
    """Put the cached outputs into every section's notebook; a missing entry is a problem."""
    problems = []
    for item in planned:
        if item.failed:
            continue
        entry = cache.get(item.key)
        if entry is None:
            for job in item.group:
                problems.append(Problem(job.path, job.code_lines[0],
                                        f'the outputs of this section are not in the cache after it ran '
                                        f'(entry {item.key[:12]} in {cache.dir})',
                                        'something removed or damaged the cache during the build; build again'))
            continue
        for job in item.group:
            for cell, outputs in zip(job.code_cells, entry.outputs):
                cell.outputs = [nbformat.from_dict(o) for o in outputs]
            job.notebook.metadata['executed_seconds'] = entry.seconds
    return problems


class Executor:
    """Executes jobs whose outputs are not cached; fills every job's notebook."""

    def __init__(self, root, library_source, timeout=600, workers=0, log=print, data_dir='data', frameworks=None):
        self.root = Path(root)
        self.cache = Cache(self.root / '_build' / 'cache')
        self.run_dir = self.root / '_build' / 'run'
        self.library_source = library_source
        self.timeout = timeout
        self.workers = workers
        self.data_dir = data_dir
        self.log = log
        self.frameworks = frameworks       # modules whose distributions key the cache (default: mxnet)
        self.environment = None
        self._lock = threading.Lock()
        self._gpus_free = threading.Condition(self._lock)
        self._free = []
        self._running = set()      # kernel runners, ended if the build is interrupted
        self._stopping = False
        self._ahead = []           # runners whose kernel starts before a section needs it: (process, directory)
        self._left = 0             # sections not started yet
        self._slots = itertools.count()

    # ---- the environment -------------------------------------------------------
    def _env(self, extra=None):
        env = dict(os.environ, PYTHONWARNINGS='ignore', MPLBACKEND='module://matplotlib_inline.backend_inline',
                   PYTHONPATH=os.pathsep.join(filter(None, [str(self.root), os.environ.get('PYTHONPATH')])))
        env.update(extra or {})
        return env

    def probe(self):
        """The environment as a kernel sees it, probed again only when the tools changed (``uptodate.tools``:
        installed packages, kernels, programs, devices); the probe takes a Python start-up per build."""
        from .uptodate import tools
        saved = self.root / '_build' / 'environment.json'
        fingerprint = hashlib.sha256(json.dumps([tools(), KERNEL, probe_source(self.frameworks)]).encode()).hexdigest()
        try:
            data = json.loads(saved.read_text(encoding='utf-8'))
            if data['fingerprint'] == fingerprint:
                return Environment(**data['environment'])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        environment = self._probe()
        write_atomic(saved, json.dumps({'fingerprint': fingerprint, 'environment': asdict(environment)}))
        return environment

    def _probe(self):
        """The environment as a kernel sees it: ``environment.PROBE`` run by the kernel's Python
        with the kernel's environment, or, for a kernelspec that is not a plain ipykernel, in a kernel."""
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
        try:
            spec = KernelSpecManager().get_kernel_spec(KERNEL)
        except NoSuchKernel:
            spec = None
        if spec and spec.argv[1:3] == ['-m', 'ipykernel_launcher']:
            python = spec.argv[0]
            if python in ('python', f'python{sys.version_info[0]}', 'python%i.%i' % sys.version_info[:2]):
                python = sys.executable     # as jupyter_client starts such kernels
            proc = subprocess.run([python, '-c', probe_source(self.frameworks)], env={**self._env(), **(spec.env or {})},
                                  capture_output=True, text=True, timeout=300)
            if proc.returncode == 0:
                return Environment.parse(proc.stdout)
        return self._probe_in_kernel()

    def _probe_in_kernel(self):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(probe_source(self.frameworks))])
        workdir = self.run_dir / 'probe'
        workdir.mkdir(parents=True, exist_ok=True)
        result, log, _, _ = self._launch(nb, workdir, workdir, 120, self._env())
        error = result.metadata.get('error') if result else None
        if result is None or error:
            detail = f'{error["ename"]}: {error["evalue"]}' if error else log[-1500:]
            raise BuildError(Problem(self.root / 'config.ini', 1,
                                     f'a {KERNEL} kernel could not report its environment: {detail}',
                                     'is ipykernel installed in the environment of the kernel?'))
        if result.metadata.get('kernel_retried'):
            self.log(f'environment probe: {result.metadata["kernel_retried"]}')
        out = ''.join(o.get('text', '') for o in result.cells[0].outputs if o.get('output_type') == 'stream')
        shutil.rmtree(workdir, ignore_errors=True)
        return Environment.parse(out)

    # ---- keys ------------------------------------------------------------------
    def _gpus_for(self, job):
        """How many GPUs a section gets, and a note when that is not what it asked for."""
        have = len(self.environment.gpus)
        asked = job.hints.get('gpus')
        wanted = (1 if have else 0) if asked is None else asked
        if wanted <= have:
            return wanted, ''
        if have:
            return have, f'asks for {wanted} GPUs; this machine has {have}: it runs with {have}'
        return 0, f'asks for {wanted} GPU(s); this machine has none: it runs on the CPU'

    def plan(self, jobs):
        """Key every job with code; jobs with the same program share one ``Planned``."""
        planned = {}
        for job in jobs:
            if not job.code_cells:
                continue
            gpus, note = self._gpus_for(job)
            parts = keys.parts([c.source for c in job.code_cells], KERNEL, self.library_source,
                               self.environment, self.environment.devices(gpus), job.tab)
            base = keys.base_key(parts)
            declared = declared_files(self.root, job.hints.get('reads', ()))
            reads = keys.file_hashes(self.root, set(self.cache.reads(base)) | declared)
            key = keys.full_key(base, reads)
            known = {**parts, 'reads': reads, **({'declared': sorted(declared)} if declared else {})}
            item = planned.setdefault(key, Planned(key, base, known, job, gpus, note))
            item.group.append(job)
        return list(planned.values())

    def why(self, item, last_keys=None):
        """Why ``item`` is not in the cache: compared with the key its section used last."""
        last_keys = self.cache.last_keys() if last_keys is None else last_keys
        old_key = last_keys.get(item.job.label)
        if old_key is None:
            return ['no earlier execution of this section is recorded']
        if old_key == item.key:
            return ['the cached entry is gone (cleared, or dropped as corrupt)']
        old = self.cache.get(old_key)
        if old is None or not old.parts:
            return ['the entry of its last execution is gone, so the difference is unknown']
        return keys.explain(old.parts, item.parts, item.job.code_lines)

    # ---- running -------------------------------------------------------------
    def run(self, jobs):
        """Fill outputs into every job's notebook; return a Report."""
        report = Report()
        shutil.rmtree(self.run_dir, ignore_errors=True)     # left by a killed build
        if self.environment is None:
            self.environment = self.probe()
        self._free = list(range(len(self.environment.gpus)))
        planned = self.plan(jobs)
        last_keys = self.cache.last_keys()
        todo = []
        for item in planned:
            report.sections += len(item.group)
            if self.cache.get(item.key) is None:
                item.reasons = self.why(item, last_keys)
                todo.append(item)
            else:
                report.reused += len(item.group)
        report.dropped = list(self.cache.dropped)
        for key in report.dropped:
            self.log(f'cache: dropped a corrupt entry {key[:12]}; it will be recomputed')
        workers = self.workers or len(self.environment.gpus) or os.cpu_count() or 1
        if todo:
            self.log(f'executing {len(todo)} notebook(s) with {min(workers, len(todo))} worker(s) '
                     f'on {self.environment.describe()}')
        self._left, self._workers = len(todo), workers
        code = '\n'.join(c.source for item in todo for c in item.job.code_cells)
        self._preload = [m for m in self.frameworks or FRAMEWORKS
                         if re.search(rf'^\s*(import|from)\s+{m}\b', code, re.M)]
        pool = ThreadPoolExecutor(max_workers=workers)
        try:
            futures = {pool.submit(self._execute, item, workers > 1): item for item in todo}
            for done, future in enumerate(as_completed(futures), 1):
                item = futures[future]
                try:
                    seconds, problem = future.result()
                except Exception as e:      # e.g. a full disk while copying data or writing the cache
                    seconds, problem = 0.0, Problem(item.job.path, item.job.code_lines[0],
                                                    f'could not execute this section: {type(e).__name__}: {e}')
                status = 'FAILED' if problem else 'ok'
                why = '; '.join(item.reasons)
                self.log(f'  [{done}/{len(todo)}] {item.job.label}  {seconds:.1f}s  {status}  ({why})')
                if item.note:
                    self.log(f'      {item.job.label} {item.note}')
                if problem:
                    item.failed = True
                    report.problems.append(problem)
                else:
                    report.executed.append((item.job.label, seconds))
                    report.kernel_seconds += item.kernel_seconds
                    report.kernel_waited += item.kernel_waited
                    report.reasons[item.job.label] = item.reasons
        except BaseException:
            with self._lock:
                self._stopping = True       # no runner starts after this
            pool.shutdown(wait=False, cancel_futures=True)
            self.kill_running()
            self._ahead = []
            raise
        pool.shutdown()
        self._end_ahead()
        report.problems += fill(planned, self.cache)
        self.cache.record_last_keys({job.label: item.key for item in planned if not item.failed
                                     for job in item.group})
        return report

    def kill_running(self):
        with self._lock:
            for proc in list(self._running):
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def _acquire_gpus(self, count):
        with self._gpus_free:
            self._gpus_free.wait_for(lambda: len(self._free) >= count)
            taken, self._free = self._free[:count], self._free[count:]
            return taken

    def _release_gpus(self, taken):
        with self._gpus_free:
            self._free += taken
            self._gpus_free.notify_all()

    # ---- kernels started ahead ----------------------------------------------------
    def _take_ahead(self, parallel):
        """A runner whose kernel was started (and imported the framework) ahead of need, if one is;
        then start as many more as there are sections left to start, up to one per worker.
        Not with GPUs: a kernel sees the GPUs it gets when it starts."""
        with self._lock:
            if self._stopping:
                raise KeyboardInterrupt
            self._left -= 1
            taken = self._ahead.pop(0) if self._ahead else self._start_ahead(parallel)
            while len(self._ahead) < min(self._left, self._workers):
                self._ahead.append(self._start_ahead(parallel))
            return taken

    def _start_ahead(self, parallel):
        """Start a runner in a new directory of its own; the caller holds the lock."""
        workdir = self.run_dir / f'kernel-{next(self._slots)}'
        workdir.mkdir(parents=True)
        env = self._env({'PYTHONSTARTUP': str(READLOG), 'BOOKBUILD_READLOG': str(workdir / 'reads.log'),
                         'BOOKBUILD_READROOT': str(self.root), 'BOOKBUILD_LAUNCHED': repr(time.time())})
        if parallel:
            env.setdefault('OMP_NUM_THREADS', '1')
        proc = subprocess.Popen([sys.executable, '-m', 'bookbuild.kernel_runner', '--ahead', KERNEL, *self._preload],
                                cwd=workdir, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self._running.add(proc)
        return proc, workdir

    def _end_ahead(self):
        """End the runners started ahead that no section needed (none, unless sections failed)."""
        with self._lock:
            left, self._ahead = self._ahead, []
        for proc, workdir in left:
            try:
                proc.communicate(input=b'', timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
            with self._lock:
                self._running.discard(proc)
            shutil.rmtree(workdir, ignore_errors=True)

    def _launch(self, nb, workdir, cwd, budget, env, proc=None):
        """Run ``nb`` with kernel_runner (``proc``: one started ahead); return (executed notebook or
        None, runner log, index of the code cell running at the end, whether the runner had to be killed)."""
        src, dst, progress, job = (workdir / n for n in ('in.ipynb', 'out.ipynb', 'progress', 'job.json'))
        nbformat.write(nb, src)
        job.write_text(json.dumps({'src': str(src), 'dst': str(dst), 'cwd': str(cwd), 'budget': budget,
                                   'progress': str(progress), 'kernel': KERNEL, 'launched': time.time()}))
        with self._lock:
            if self._stopping:
                raise KeyboardInterrupt
            if proc is None:
                proc = subprocess.Popen([sys.executable, '-m', 'bookbuild.kernel_runner', str(job)], env=env,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        start_new_session=True)
                self._running.add(proc)
                given = None
            else:
                given = f'{job}\n'.encode()
        killed = False
        try:
            log, _ = proc.communicate(input=given, timeout=budget + STARTUP_ALLOWANCE)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            log, _ = proc.communicate()
            killed = True
        finally:
            with self._lock:
                self._running.discard(proc)
        cell = int(progress.read_text() or 0) if progress.is_file() else 0
        ok = not killed and proc.returncode == 0 and dst.is_file()
        return (nbformat.read(dst, as_version=4) if ok else None), log.decode(errors='replace'), cell, killed

    def _execute(self, item, parallel):
        job = item.job
        ahead = None if self.environment.gpus else self._take_ahead(parallel)
        exec_dir = ahead[1] if ahead else self.run_dir / item.base[:20]
        parent = Path(job.name).parent
        cwd = exec_dir / (parent if str(parent) != '.' else 'top')
        cwd.mkdir(parents=True, exist_ok=True)
        data = self.root / self.data_dir
        if data.is_dir():
            shutil.copytree(data, exec_dir / 'data')
        else:
            (exec_dir / 'data').mkdir()
        if (self.root / 'img').is_dir():
            (exec_dir / 'img').symlink_to(self.root / 'img')
        nb = nbformat.from_dict(job.notebook)
        for cell in nb.cells:
            if cell.cell_type == 'code':
                cell.outputs = []
        readlog = exec_dir / 'reads.log'
        env = self._env({'PYTHONSTARTUP': str(READLOG), 'BOOKBUILD_READLOG': str(readlog),
                         'BOOKBUILD_READROOT': str(self.root)})
        if parallel:
            env.setdefault('OMP_NUM_THREADS', '1')
        gpus = self._acquire_gpus(item.gpus)
        if self.environment.gpus:
            env['CUDA_VISIBLE_DEVICES'] = ','.join(map(str, gpus))
        start = time.time()
        try:
            result, log, cell, killed = self._launch(nb, exec_dir, cwd, self.timeout, env,
                                                     ahead[0] if ahead else None)
        finally:
            self._release_gpus(gpus)
        seconds = time.time() - start
        if killed:
            return seconds, self._problem(job, cell, 'Timeout', f'the section was stopped after {seconds:.0f} s; '
                                          f'its budget is {self.timeout} s', '')
        if result is None:
            return seconds, Problem(job.path, job.code_lines[0], f'the notebook runner failed: {log[-2000:]}')
        if result.metadata.get('kernel_retried'):
            self.log(f'  {job.name}: {result.metadata["kernel_retried"]}')
        item.kernel_seconds = result.metadata.get('kernel_seconds', 0.0)
        item.kernel_waited = result.metadata.get('kernel_waited', item.kernel_seconds)
        error = result.metadata.get('error')
        if error:
            return seconds, self._problem(job, error['cell'], error['ename'], error['evalue'], error['traceback'])
        logged = readlog.read_text(encoding='utf-8').splitlines() if readlog.is_file() else []
        reads = sorted(set(book_reads(self.root, exec_dir, logged, self.data_dir))
                       | declared_files(self.root, job.hints.get('reads', ())))
        hashes = keys.file_hashes(self.root, reads)
        item.key = keys.full_key(item.base, hashes)
        item.parts = {**item.parts, 'reads': hashes}
        outputs = [truncate_outputs([dict(o) for o in c.outputs]) for c in result.cells if c.cell_type == 'code']
        self.cache.put(item.key, _plain(outputs), seconds, job.label, item.parts)
        self.cache.record_reads(item.base, reads)
        shutil.rmtree(exec_dir, ignore_errors=True)
        return seconds, None

    def _problem(self, job, index, ename, evalue, traceback):
        cells = job.code_cells
        cell = cells[min(index, len(cells) - 1)] if cells else None
        line = cell.metadata.get('md_line', 1) if cell else 1
        if isinstance(traceback, list):
            traceback = '\n'.join(traceback)
        hint = {'Timeout': 'make the section faster or raise [build] timeout',
                'DeadKernel': 'the code ended the Python process (os._exit, a crash, or out of memory)',
                'KernelStart': 'the kernel failed to start twice; see the message above'}
        code = '\n'.join('    | ' + l for l in (cell.source if cell else '').splitlines())
        detail = ANSI.sub('', traceback or '').strip()
        where = f' (tab {job.tab})' if job.tab else ''
        message = f'code cell{where} failed with {ename}: {evalue}\n{code}'
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
