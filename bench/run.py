#!/usr/bin/env python3
"""Build benchmark: this project's pipeline side by side with plain d2lbook.

    python3 build.py bench [--workloads sleeping,real] [--outputs html,pdf] [--langs 1,4] [--reps 3] ...

Workloads (each built by both tools from the same sources):
  sleeping  a generated book whose code only sleeps (sleepbook.py): it isolates the build's overhead
  real      sections of this book with their MXNet code, in up to four editions (realbook.py)
Outputs: ``html`` (HTML only: ``build.py html``, ``d2lbook build eval html``) and ``pdf`` (HTML + PDF:
``build.py all``, ``d2lbook build eval html pdf``).
Scenarios, one after another on one tree: cold (nothing built), nochange, prose (one English section's
prose edited), code (one section's code edited in every edition), translation (the Japanese prose of one
section edited), add (one more language: this project builds it in the same tree; d2lbook builds one
more book, cold). This project builds all editions in one tree; d2lbook builds one book per language
(as D2L keeps d2l-en, d2l-ja, ...), and its time for L languages is the sum over the L books.
Method: every repetition runs each case with both tools, one after the other, the first tool
alternating (ours, d2lbook, d2lbook, ours, ...); results are min and median over repetitions.
Scaling: both tools on the sleeping book at several numbers of sections (``--scaling``), with a
straight line fitted per tool and scenario (seconds per section); per language from the cases.

Writes bench/results.json and, from it alone, bench/RESULTS.md (``--report-only`` rewrites RESULTS.md
from results.json). Both tools run offline and on CPU. Standard library only; run it with the
project's virtual environment so that bookbuild and d2lbook are importable.
"""
import argparse
import fnmatch
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import realbook  # noqa: E402
import sleepbook  # noqa: E402

PROJECT = Path(__file__).resolve().parent.parent
ALL_LANGS = sleepbook.ALL_LANGS
SCENARIOS = ['cold', 'nochange', 'prose', 'code', 'translation', 'add']
OUTPUTS = {'html': ('html', ('html',)), 'pdf': ('all', ('html', 'pdf'))}   # ours command, d2lbook targets
OUTPUT_NAMES = {'html': 'HTML', 'pdf': 'HTML + PDF'}

# ---------------------------------------------------------------------------------------------
# Running the tools
# ---------------------------------------------------------------------------------------------

def offline_prefix():
    """A private network namespace with only loopback (Jupyter kernels talk over 127.0.0.1)."""
    probe = ['unshare', '-n', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh']
    try:
        ok = subprocess.run(probe + ['true'], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    if not ok:
        probe = ['unshare', '-rn', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh']
        try:
            ok = subprocess.run(probe + ['true'], capture_output=True, timeout=20).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
    return (probe, 'private network namespace (unshare -n), loopback only') if ok else \
        ([], 'no namespace available: proxies pointed at a closed port')


class Runner:
    def __init__(self, tmp, log):
        self.log = log
        self.bin = Path(sys.executable).parent
        d2lbook = self.bin / 'd2lbook'
        self.d2lbook = str(d2lbook if d2lbook.exists() else PROJECT / '.venv' / 'bin' / 'd2lbook')
        shim = Path(tmp) / 'shim'
        shim.mkdir(parents=True, exist_ok=True)
        fake = shim / 'nvidia-smi'          # both tools look for GPUs with nvidia-smi: find none
        fake.write_text('#!/bin/sh\necho "no GPU (benchmark runs on CPU)" >&2\nexit 1\n')
        fake.chmod(0o755)
        self.prefix, self.offline = offline_prefix()
        env = dict(os.environ)
        env.pop('BOOK_WORKERS', None)
        # the sections import the d2l library of this repository, with both tools
        env.update(PATH=os.pathsep.join([str(shim), str(self.bin), env.get('PATH', '')]),
                   CUDA_VISIBLE_DEVICES='', PYTHONDONTWRITEBYTECODE='1', MPLBACKEND='Agg',
                   PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT), env.get('PYTHONPATH')])))
        if not self.prefix:
            dead = 'http://127.0.0.1:9'
            env.update(http_proxy=dead, https_proxy=dead, HTTP_PROXY=dead, HTTPS_PROXY=dead, no_proxy='')
        self.env = env

    def _run(self, cmd, cwd, env_extra=None):
        env = dict(self.env, **(env_extra or {}))
        start = time.perf_counter()
        proc = subprocess.run(self.prefix + cmd, cwd=cwd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        out = proc.stdout + proc.stderr
        if proc.returncode != 0:
            raise RuntimeError(f'{" ".join(cmd)} (in {cwd}) failed with status {proc.returncode}:\n{out[-4000:]}')
        return wall, out

    def ours(self, root, command='html', workers=None):
        extra = {'BOOK_WORKERS': str(workers)} if workers else None
        wall, out = self._run([sys.executable, '-m', 'bookbuild', command, '--root', str(root)], PROJECT, extra)
        m = re.search(r'notebooks executed: (\d+), reused from cache: (\d+)', out)
        if not m:
            raise RuntimeError(f'no summary line in the output of the build of {root}:\n{out[-3000:]}')
        stages = {}
        s = re.search(r'time per stage: (.*)', out)
        if s:
            for part in s.group(1).split(','):
                name, _, sec = part.strip().rpartition(' ')
                stages[name] = float(sec.rstrip('s'))
        result = {'wall': wall, 'executed': int(m.group(1)), 'reused': int(m.group(2)), 'stages': stages,
                  'load': os.getloadavg()[0]}
        k = re.search(r'kernel start-up: ([\d.]+)s summed over .*?, ([\d.]+)s of it waited for', out)
        if k:
            result['kernel_startup'], result['kernel_waited'] = float(k.group(1)), float(k.group(2))
        return result

    def d2lbook_build(self, bookdir, targets=('html',)):
        eval_dir = Path(bookdir) / '_build' / 'eval'
        before = {p: p.stat().st_mtime_ns for p in eval_dir.rglob('*.ipynb')} if eval_dir.is_dir() else {}
        wall, out = self._run([self.d2lbook, 'build', 'eval', *targets], bookdir)
        rewritten = [p for p in eval_dir.rglob('*.ipynb') if before.get(p) != p.stat().st_mtime_ns]
        with_code = [p for p in rewritten if _has_code(p)]
        m = re.search(r'(\d+) notebooks are outdated', out)
        return {'wall': wall, 'executed': len(with_code), 'rewritten': len(rewritten),
                'outdated_logged': int(m.group(1)) if m else None, 'load': os.getloadavg()[0]}


def _has_code(path):
    try:
        nb = json.loads(path.read_text(encoding='utf-8'))
    except (ValueError, OSError):
        return False
    return any(c.get('cell_type') == 'code' and ''.join(c.get('source', '')).strip() for c in nb.get('cells', []))


# ---------------------------------------------------------------------------------------------
# Cases: one workload, one output, one number of languages; every scenario on one tree
# ---------------------------------------------------------------------------------------------

def make_workload(args, name, sections=None):
    if name == 'sleeping':
        return sleepbook.BookText(sections or args.sections, args.sleep if sections is None else args.scaling_sleep)
    return realbook.RealBook(args.chapters, args.real_sections)


def cases(args):
    return [{'workload': w, 'output': o, 'langs': L} for w in args.workloads for o in args.outputs for L in args.langs]


def case_id(c):
    return f'{c["workload"]}-{c["output"]}-{c["langs"]}'


def run_ours(case, book, scenarios, root, runner, record):
    command = OUTPUTS[case['output']][0]
    langs = ALL_LANGS[:case['langs']]
    book.write_ours(root, langs)
    for sc in scenarios:
        if sc == 'translation' and len(langs) < 2 or sc == 'add' and len(langs) >= len(ALL_LANGS):
            continue
        if sc == 'add':       # one more language in the same tree: English outputs are reused
            book.write_ours(root, ALL_LANGS[:len(langs) + 1])
        elif sc in ('prose', 'code', 'translation'):
            book.edit(sc)
            book.write_ours(root, langs)
        record('ours', case, sc, runner.ours(root, command))


def run_d2lbook(case, book, scenarios, base, runner, record, log):
    targets = OUTPUTS[case['output']][1]
    langs = ALL_LANGS[:case['langs']]
    dirs = {lang: base / f'd2lbook-{lang}' for lang in langs}
    for lang, d in dirs.items():
        book.write_d2lbook(d, lang)
    for sc in scenarios:
        if sc == 'translation' and len(langs) < 2 or sc == 'add' and len(langs) >= len(ALL_LANGS):
            continue
        if sc == 'add':       # one more book, built cold
            new = ALL_LANGS[len(langs)]
            book.write_d2lbook(base / f'd2lbook-{new}', new)
            built = {new: runner.d2lbook_build(base / f'd2lbook-{new}', targets)}
        else:
            if sc in ('prose', 'code', 'translation'):
                for lang in book.edit(sc):
                    if lang in dirs:
                        book.write_d2lbook(dirs[lang], lang)
            built = {lang: runner.d2lbook_build(d, targets) for lang, d in dirs.items()}
        rs = list(built.values())
        record('d2lbook', case, sc, {
            'wall': sum(r['wall'] for r in rs), 'executed': sum(r['executed'] for r in rs),
            'per_book': {lang: round(r['wall'], 3) for lang, r in built.items()},
            'load': rs[-1]['load']})


def one_rep(rep, args, tmp, runner, log, record):
    base = Path(tmp) / f'rep{rep}'
    for i, case in enumerate(cases(args)):
        tools = [t for t in ('ours', 'd2lbook') if t in args.parts
                 and not any(fnmatch.fnmatch(f'{t}/{case_id(case)}', p) for p in args.skip)]
        if (rep + i) % 2 == 0:
            tools.reverse()
        scenarios = args.pdf_scenarios if case['output'] == 'pdf' else args.scenarios
        for tool in tools:
            where = base / case_id(case) / tool
            try:
                if tool == 'ours':
                    run_ours(case, make_workload(args, case['workload']), scenarios, where, runner, record)
                else:
                    run_d2lbook(case, make_workload(args, case['workload']), scenarios, where, runner, record, log)
            except RuntimeError as e:
                log(f'  {tool} {case_id(case)} failed: {str(e)[-1500:]}')
                record(tool, case, 'failed', {'wall': 0.0, 'executed': 0, 'error': str(e)[-3000:]})
            shutil.rmtree(where, ignore_errors=True)
    if 'scaling' in args.parts and rep <= args.scaling_reps:
        for n in args.scaling:
            case = {'workload': f'scaling-{n}', 'output': 'html', 'langs': 1, 'sections': n}
            tools = ['ours', 'd2lbook'] if rep % 2 else ['d2lbook', 'ours']
            for tool in tools:
                where = base / case_id(case) / tool
                book = make_workload(args, 'sleeping', n)
                try:
                    if tool == 'ours':
                        run_ours(case, book, ['cold', 'nochange', 'prose'], where, runner, record)
                    else:
                        run_d2lbook(case, book, ['cold', 'nochange', 'prose'], where, runner, record, log)
                except RuntimeError as e:
                    log(f'  {tool} {case_id(case)} failed: {str(e)[-1500:]}')
                shutil.rmtree(where, ignore_errors=True)
    shutil.rmtree(base, ignore_errors=True)


def warm_up(tmp, runner, log):
    """One small untimed build with each tool: disk caches and first imports are not measured."""
    log('warm-up (not measured)')
    book = sleepbook.BookText(1, 0)
    root, d = Path(tmp) / 'warmup-ours', Path(tmp) / 'warmup-d2lbook'
    book.write_ours(root, ['en'])
    runner.ours(root)
    book.write_d2lbook(d, 'en')
    runner.d2lbook_build(d)
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Report: from results.json only
# ---------------------------------------------------------------------------------------------

def machine():
    model = ''
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                model = line.split(':', 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for pkg in ('d2lbook', 'sphinx', 'nbclient', 'ipykernel'):
        try:
            from importlib.metadata import version
            versions[pkg] = version(pkg)
        except Exception:
            versions[pkg] = None
    return {'cpus': os.cpu_count(), 'cpu_model': model or platform.processor() or 'unknown',
            'python': platform.python_version(), 'platform': platform.platform(),
            'date': time.strftime('%Y-%m-%d %H:%M %Z'), 'versions': versions}


def summarize(runs):
    """[{workload, output, langs, scenario, tool, reps, min, median, max, executed, stages_median}]"""
    groups = {}
    for r in runs:
        groups.setdefault((r['workload'], r['output'], r['langs'], r['scenario'], r['tool']), []).append(r)
    out = []
    for (w, o, L, sc, tool), rs in groups.items():
        walls = [r['wall'] for r in rs]
        executed = sorted({r['executed'] for r in rs})
        s = {'workload': w, 'output': o, 'langs': L, 'scenario': sc, 'tool': tool, 'reps': len(rs),
             'min': min(walls), 'median': statistics.median(walls), 'max': max(walls),
             'executed': executed[0] if len(executed) == 1 else executed}
        stages = [r['stages'] for r in rs if r.get('stages')]
        if stages:
            names = list(dict.fromkeys(n for st in stages for n in st))
            s['stages_median'] = {n: statistics.median(st.get(n, 0.0) for st in stages) for n in names}
        for name in ('kernel_startup', 'kernel_waited'):
            values = [r[name] for r in rs if name in r]
            if values:
                s[name + '_median'] = statistics.median(values)
        out.append(s)
    return out


def index(summary):
    return {(s['workload'], s['output'], s['langs'], s['scenario'], s['tool']): s for s in summary}


def fit(points):
    """Least-squares line through (x, y): (slope, intercept)."""
    n = len(points)
    mx, my = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else float('nan')
    return slope, my - slope * mx


def fmt_exec(e):
    return str(e) if not isinstance(e, list) else '–'.join(map(str, [min(e), max(e)]))


def stage_text(s):
    """``wall = stage + stage + ... + other`` of one of this project's measurements (medians)."""
    st = s.get('stages_median') or {}
    other = s['median'] - sum(st.values())
    parts = [f'{n} {v:.1f}' for n, v in st.items() if v >= 0.05]
    if other >= 0:
        text = f'{s["median"]:.1f} s = ' + ' + '.join(parts + [f'start-up and other {other:.1f}'])
    else:       # editions rendered in parallel: their stage times overlap
        text = f'{s["median"]:.1f} s; stages summed over the editions rendered in parallel: ' + ' + '.join(parts)
    if 'kernel_startup_median' in s:
        text += (f' (kernel start-up summed over the executions: {s["kernel_startup_median"]:.1f} s, of which '
                 f'sections waited {s.get("kernel_waited_median", 0):.1f} s)')
    return text


TARGETS = [     # (scenario, limit): this project / d2lbook, medians, one language, HTML
    ('nochange', 0.15, 'no-change rebuild'),
    ('prose', 0.30, 'prose edit in one section'),
    ('cold', 0.60, 'cold build'),
]


def targets(summary):
    S = index(summary)
    work = next((w for w in ('real', 'sleeping') if any(s['workload'] == w for s in summary)), None)
    res = []
    for sc, limit, label in TARGETS:
        o, d = S.get((work, 'html', 1, sc, 'ours')), S.get((work, 'html', 1, sc, 'd2lbook'))
        t = {'target': f'{label} ≤ {limit:.2f}× d2lbook ({work} workload, 1 language, HTML, medians)'}
        if not (o and d):
            res.append(dict(t, met=None, detail='not measured in this run'))
            continue
        ratio = o['median'] / d['median']
        t.update(met=ratio <= limit, ratio=ratio,
                 detail=f'{o["median"]:.2f} s vs {d["median"]:.2f} s: {ratio:.2f}×',
                 bound=f'this project: {stage_text(o)}')
        if ratio > limit:
            t['detail'] += f' (to meet it: ≤ {limit * d["median"]:.2f} s)'
        res.append(t)
    for w in (work,) if work else ():
        one, four = S.get((w, 'pdf', 1, 'cold', 'ours')), S.get((w, 'pdf', 4, 'cold', 'ours'))
        t = {'target': f'four editions, cold, HTML + PDF ≤ 1.40× one edition (this project, {w} workload)'}
        if not (one and four):
            res.append(dict(t, met=None, detail='not measured in this run'))
            continue
        ratio = four['median'] / one['median']
        t.update(met=ratio <= 1.4, ratio=ratio, detail=f'{four["median"]:.1f} s vs {one["median"]:.1f} s: {ratio:.2f}×',
                 bound=f'4 editions: {stage_text(four)}; 1 edition: {stage_text(one)}')
        res.append(t)
    for w in sorted({s['workload'] for s in summary}):
        for o in OUTPUTS:
            p = [s for s in summary if s['workload'] == w and s['output'] == o and s['scenario'] == 'prose'
                 and s['tool'] == 'ours']
            for s in p:
                res.append({'target': f'prose edit executes nothing ({w}, {OUTPUT_NAMES[o]}, {s["langs"]} language(s))',
                            'met': s['executed'] in (0, [0]), 'detail': f'{fmt_exec(s["executed"])} executed'})
    return res


def report(data):
    """RESULTS.md, from the numbers of results.json only."""
    meta, summary = data, data['summary']
    S = index(summary)
    a = meta['args']
    m = meta['machine']
    lines = ['# Build benchmark: this project vs plain d2lbook', '',
             f'Generated by `bench/run.py` from `bench/results.json` ({m["date"]}); nothing in this file is '
             'written by hand. Times are seconds of wall time, min / median over the repetitions.', '',
             '## What was run', '',
             f'- command: `{meta["command"]}`',
             f'- repetitions: {a["reps"]} of every case' + (f' (requested {a["reps_requested"]}; {a["stopped"]})'
                                                             if a.get('stopped') else '')
             + ', each case run by both tools one after the other, the first tool alternating',
             f'- scenarios: {", ".join(a["scenarios"])} (HTML + PDF: {", ".join(a["pdf_scenarios"])}); outputs: '
             + ', '.join(OUTPUT_NAMES[o] for o in a['outputs']) + f'; languages: {", ".join(map(str, a["langs"]))}'
             + (f'; cases left out: {", ".join(a["skip"])}' if a['skip'] else '')]
    for w, text in meta['workloads'].items():
        lines.append(f'- workload **{w}**: {text}')
    if a.get('scaling') and 'scaling' in a['parts']:
        lines.append(f'- scaling: the sleeping book (code sleeps {a["scaling_sleep"]:g} s) with '
                     f'{", ".join(map(str, a["scaling"]))} sections, 1 language, HTML, cold / nochange / prose, '
                     f'{min(a["scaling_reps"], a["reps"])} repetition(s)')
    failed = [s for s in summary if s['scenario'] == 'failed']
    for s in failed:
        lines.append(f'- **failed**: {s["tool"]}, {s["workload"]}, {OUTPUT_NAMES.get(s["output"], s["output"])}, '
                     f'{s["langs"]} language(s) ({s["reps"]} time(s); the error is in results.json)')
    lines += [
        '- this project: `python -m bookbuild html --root BOOK` (HTML) or `... all --root BOOK` (HTML + PDF): all '
        'editions in one tree and one build; d2lbook: `d2lbook build eval html [pdf]` in one book directory per '
        'language; its time for L languages is the sum over the L books (each edit is followed by a build of '
        'every book); *add* for d2lbook is the cold build of the one more book.',
        '- *executed*: this project\'s `notebooks executed`; d2lbook: notebooks with code rewritten in '
        '`_build/eval`.', '',
        '## Machine', '',
        f'- CPU: {m["cpu_model"]}, {m["cpus"]} logical CPUs; Python {m["python"]}, {m["platform"]}',
        '- ' + ', '.join(f'{k} {v}' for k, v in m['versions'].items()),
        f'- load average (1 min) before / after: {meta["load_before"]} / {meta["load_after"]}; during the '
        f'measurements: median {meta["load_median"]:.2f}, max {meta["load_max"]:.2f} (the machine is shared)',
        f'- offline: {meta["offline"]}; CPU only; total benchmark time {meta["total_seconds"] / 60:.1f} min', '',
        '## Targets', '']
    for t in meta['targets']:
        state = {True: 'met', False: 'MISSED', None: 'not measured'}[t['met']]
        lines.append(f'- **{state}** — {t["target"]}: {t["detail"]}')
        if t.get('bound') and t['met'] is False:
            lines.append(f'  - what bounds it (measured): {t["bound"]}')
    for w in dict.fromkeys(s['workload'] for s in summary if not s['workload'].startswith('scaling-')):
        for o in OUTPUTS:
            rows = [(sc, L) for L in a['langs'] for sc in SCENARIOS
                    if S.get((w, o, L, sc, 'ours')) or S.get((w, o, L, sc, 'd2lbook'))]
            if not rows:
                continue
            lines += ['', f'## {w} workload, {OUTPUT_NAMES[o]}', '',
                      '| scenario | langs | this project | executed | d2lbook | executed | ratio (medians) |',
                      '|---|---:|---:|---:|---:|---:|---:|']
            for sc, L in rows:
                ou, d2 = S.get((w, o, L, sc, 'ours')), S.get((w, o, L, sc, 'd2lbook'))
                cell = lambda s: f'{s["min"]:.2f} / {s["median"]:.2f}' if s else 'n/a'
                ratio = f'{ou["median"] / d2["median"]:.2f}' if ou and d2 and d2['median'] else ''
                label = f'add a language ({L} → {L + 1})' if sc == 'add' else sc
                lines.append(f'| {label} | {L} | {cell(ou)} | {fmt_exec(ou["executed"]) if ou else ""} | {cell(d2)} '
                             f'| {fmt_exec(d2["executed"]) if d2 else ""} | {ratio} |')
            staged = [(sc, L) for sc, L in rows if S.get((w, o, L, sc, 'ours'), {}).get('stages_median')]
            if staged:
                lines += ['', 'Where this project\'s time goes (medians, from its "time per stage" line; '
                          'kernel start-up is part of execute):', '']
                lines += [f'- {sc}, {L} language(s): {stage_text(S[(w, o, L, sc, "ours")])}' for sc, L in staged]
    lines += scaling_lines(summary, a)
    lines.append('')
    return '\n'.join(lines)


def scaling_lines(summary, a):
    lines = []
    sc_rows = sorted(((int(s['workload'].split('-')[1]), s) for s in summary if s['workload'].startswith('scaling-')),
                     key=lambda r: r[0])
    if sc_rows:
        lines += ['', '## Scaling with the number of sections', '',
                  f'The sleeping book (code sleeps {a["scaling_sleep"]:g} s), 1 language, HTML; medians in seconds.', '',
                  '| sections | scenario | this project | d2lbook |', '|---:|---|---:|---:|']
        table = {}
        for n, s in sc_rows:
            table.setdefault((n, s['scenario']), {})[s['tool']] = s['median']
        for (n, sc), v in sorted(table.items(), key=lambda kv: (kv[0][1] != 'cold', kv[0][1], kv[0][0])):
            lines.append(f'| {n} | {sc} | {_f(v.get("ours"))} | {_f(v.get("d2lbook"))} |')
        lines += ['', 'Growth per section (least-squares line through the medians: seconds per section, '
                  'and the time at 0 sections):', '']
        for sc in ('cold', 'nochange', 'prose'):
            for tool in ('ours', 'd2lbook'):
                pts = [(n, v[tool]) for (n, s2), v in table.items() if s2 == sc and tool in v]
                if len(pts) >= 2:
                    slope, icpt = fit(pts)
                    name = 'this project' if tool == 'ours' else 'd2lbook'
                    lines.append(f'- {sc}, {name}: {slope:.3f} s per section, {icpt:.2f} s at 0 sections')
    langs = sorted({s['langs'] for s in summary if not s['workload'].startswith('scaling-')})
    if len(langs) >= 2:
        lines += ['', '## Scaling with the number of languages', '',
                  'Cold builds, medians in seconds; growth per language from a least-squares line.', '',
                  '| workload | output | tool | ' + ' | '.join(f'{L} lang' for L in langs) + ' | per language |',
                  '|---|---|---|' + '---:|' * (len(langs) + 1)]
        S = index(summary)
        for w in dict.fromkeys(s['workload'] for s in summary if not s['workload'].startswith('scaling-')):
            for o in OUTPUTS:
                for tool in ('ours', 'd2lbook'):
                    v = {L: S[(w, o, L, 'cold', tool)]['median'] for L in langs if (w, o, L, 'cold', tool) in S}
                    if len(v) >= 2:
                        slope, _ = fit(list(v.items()))
                        lines.append(f'| {w} | {OUTPUT_NAMES[o]} | {"this project" if tool == "ours" else "d2lbook"} | '
                                     + ' | '.join(_f(v.get(L)) for L in langs) + f' | {slope:.1f} |')
    return lines


def _f(x):
    return 'n/a' if x is None else f'{x:.2f}'


# ---------------------------------------------------------------------------------------------

def parse(argv):
    p = argparse.ArgumentParser(prog='bench/run.py', description=__doc__.split('\n\n')[0])
    p.add_argument('--workloads', default='sleeping,real', help='sleeping, real (default both)')
    p.add_argument('--outputs', default='html,pdf', help='html (HTML only), pdf (HTML + PDF); default both')
    p.add_argument('--scenarios', default=','.join(SCENARIOS), help=f'default: {",".join(SCENARIOS)}')
    p.add_argument('--pdf-scenarios', default='cold,nochange,prose',
                   help='scenarios of the HTML + PDF cases (default cold,nochange,prose)')
    p.add_argument('--skip', default='',
                   help='cases left out, as TOOL/WORKLOAD-OUTPUT-LANGS patterns, e.g. d2lbook/real-pdf-4,*/sleeping-*-4')
    p.add_argument('--langs', default='1,4', help='numbers of languages (default 1,4; 1 to 4)')
    p.add_argument('--reps', type=int, default=3, help='repetitions (default 3)')
    p.add_argument('--sections', type=int, default=8, help='sections of the sleeping book (default 8)')
    p.add_argument('--sleep', type=float, default=1.0, help='seconds each sleeping section sleeps (default 1)')
    p.add_argument('--chapters', default='chapter_preliminaries',
                   help='chapters of this book in the real workload (default chapter_preliminaries)')
    p.add_argument('--real-sections', type=int, default=0,
                   help='use only the first N sections of those chapters (default 0: all)')
    p.add_argument('--scaling', default='10,20,40',
                   help='numbers of sections of the scaling runs (sleeping book; default 10,20,40; empty: none)')
    p.add_argument('--scaling-sleep', type=float, default=0.0, help='seconds each scaling section sleeps (default 0)')
    p.add_argument('--scaling-reps', type=int, default=1, help='repetitions of the scaling runs (default 1)')
    p.add_argument('--parts', default='ours,d2lbook,scaling', help='ours, d2lbook, scaling (default all)')
    p.add_argument('--out', default=str(Path(__file__).resolve().parent),
                   help='where to write results.json and RESULTS.md (default bench/)')
    p.add_argument('--max-minutes', type=float, default=0,
                   help='run fewer repetitions when another would end past this many minutes (default: no limit)')
    p.add_argument('--tmp', help='work directory (default: a new temporary directory, removed afterwards)')
    p.add_argument('--report-only', action='store_true', help='rewrite RESULTS.md from results.json')
    args = p.parse_args(argv)
    split = lambda s: [x.strip() for x in s.split(',') if x.strip()]
    args.workloads, args.outputs, args.scenarios = split(args.workloads), split(args.outputs), split(args.scenarios)
    args.pdf_scenarios, args.skip = split(args.pdf_scenarios), split(args.skip)
    args.parts, args.chapters = split(args.parts), split(args.chapters)
    args.langs = sorted({int(x) for x in split(args.langs)})
    args.scaling = sorted({int(x) for x in split(args.scaling)})
    bad = ([w for w in args.workloads if w not in ('sleeping', 'real')] + [o for o in args.outputs if o not in OUTPUTS]
           + [s for s in args.scenarios + args.pdf_scenarios if s not in SCENARIOS])
    if bad:
        p.error(f'unknown: {", ".join(bad)}')
    if not args.langs or min(args.langs) < 1 or max(args.langs) > 4:
        p.error('--langs takes numbers from 1 to 4')
    if args.sections < 1 or args.reps < 1:
        p.error('--sections and --reps must be at least 1')
    return args


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.report_only:
        data = json.loads((out / 'results.json').read_text(encoding='utf-8'))
        (out / 'RESULTS.md').write_text(report(data), encoding='utf-8')
        print(f'wrote {out / "RESULTS.md"}')
        return 0
    tmp = Path(args.tmp) if args.tmp else Path(tempfile.mkdtemp(prefix='bookbench-'))
    tmp.mkdir(parents=True, exist_ok=True)

    def log(msg):
        print(msg, flush=True)

    runner = Runner(tmp, log)
    log(f'benchmark in {tmp}; offline: {runner.offline}')
    runs = []
    rep = 0

    def record(tool, case, scenario, r):
        r = dict(r, tool=tool, workload=case['workload'], output=case['output'], langs=case['langs'],
                 scenario=scenario, rep=rep)
        runs.append(r)
        log(f'  rep {rep} {tool:8s} {case_id(case):18s} {scenario:12s} {r["wall"]:7.2f}s  executed {r["executed"]}'
            + (f'  [{", ".join(f"{k} {v:.1f}" for k, v in r["stages"].items())}]' if r.get('stages') else ''))

    load_before = ' '.join(f'{x:.2f}' for x in os.getloadavg())
    start = time.perf_counter()
    reps_done, stopped = 0, ''
    try:
        warm_up(tmp, runner, log)
        for rep in range(1, args.reps + 1):
            rep_start = time.perf_counter()
            log(f'repetition {rep}/{args.reps}')
            one_rep(rep, args, tmp, runner, log, record)
            reps_done = rep
            elapsed, last = time.perf_counter() - start, time.perf_counter() - rep_start
            if args.max_minutes and rep < args.reps and elapsed + last > args.max_minutes * 60:
                stopped = (f'stopped after {rep} of {args.reps} repetitions: one more '
                           f'(~{last / 60:.1f} min) would pass --max-minutes {args.max_minutes:g}')
                log(stopped)
                break
    except KeyboardInterrupt:
        stopped = f'interrupted during repetition {rep} of {args.reps}; the results are those measured until then'
        log(stopped)
    finally:
        if not args.tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    total = time.perf_counter() - start
    summary = summarize(runs)
    loads = [r['load'] for r in runs if 'load' in r] or [0.0]
    workloads = {w: make_workload(args, w).describe() for w in args.workloads}
    data = {'command': 'python3 build.py bench ' + ' '.join(argv),
            'args': dict({k: getattr(args, k) for k in ('workloads', 'outputs', 'scenarios', 'pdf_scenarios', 'skip',
                                                          'langs', 'sections',
                                                          'sleep', 'chapters', 'real_sections', 'scaling',
                                                          'scaling_sleep', 'scaling_reps', 'parts')},
                         reps=reps_done, reps_requested=args.reps, stopped=stopped),
            'workloads': workloads, 'machine': machine(), 'offline': runner.offline,
            'load_before': load_before, 'load_after': ' '.join(f'{x:.2f}' for x in os.getloadavg()),
            'load_median': statistics.median(loads), 'load_max': max(loads), 'total_seconds': total,
            'targets': targets(summary), 'summary': summary, 'runs': runs}
    (out / 'results.json').write_text(json.dumps(data, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
    (out / 'RESULTS.md').write_text(report(data), encoding='utf-8')
    log(f'\nwrote {out / "RESULTS.md"} and {out / "results.json"} ({total / 60:.1f} min)')
    for t in data['targets']:
        log(f'  {({True: "met", False: "MISSED", None: "n/a"})[t["met"]]:6s} {t["target"]}: {t["detail"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
