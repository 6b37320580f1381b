#!/usr/bin/env python3
"""Build benchmark: this project's pipeline side by side with plain d2lbook.

    .venv/bin/python bench/run.py [--sections 8] [--sleep 2] [--reps 3] [--langs 1,2,4]

Generates, in a temporary directory, a book of N sections whose code sleeps a fixed time
(so execution cost is known), in English and up to three translations (ja, zh, ko: the same
code with translated comments, prose in the language), and times, in the same run:

  cold        first build, nothing cached
  nochange    the same build again
  prose       one English section's prose edited
  code        one section's code edited (in every edition: translations keep the English code)
  add         more languages: this project builds the editions together in one tree
              (en -> en,ja -> en,ja,zh,ko); d2lbook builds one more book per language, cold
  workers     this project's cold build of one language with BOOK_WORKERS=1 and 2

This project: ``python -m bookbuild html --root BOOK`` (one tree, all editions).
d2lbook: ``d2lbook build eval html`` in one book directory per language (as D2L does), each
with its own config.ini; the time for L languages is the sum over the first L books.
Both run offline (a private network namespace when available, dead proxies otherwise) and on
CPU (``nvidia-smi`` shadowed, ``CUDA_VISIBLE_DEVICES`` empty).

Writes bench/results.json and bench/RESULTS.md (see --out). Standard library only; run it with
the project's virtual environment so that bookbuild and d2lbook are importable.
"""
import argparse
import hashlib
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

PROJECT = Path(__file__).resolve().parent.parent
ALL_LANGS = ['en', 'ja', 'zh', 'ko']
SCENARIOS = ['cold', 'nochange', 'prose', 'code']
EDITED = 3          # the section the edit scenarios change (clamped to --sections)

# ---------------------------------------------------------------------------------------------
# The generated book
# ---------------------------------------------------------------------------------------------

TEXT = {
    'en': dict(
        book='Build Benchmark',
        book_intro='A generated book: every section executes code that only sleeps, so the cost '
                   'of executing it is known and the benchmark measures the build.',
        chapter='Sleeping Code',
        chapter_intro='The sections of this chapter execute code that sleeps a fixed time.',
        section='Section {k}: Waiting',
        prose=['This section belongs to :numref:`chap_bench` . Its code sleeps for a fixed time, so '
               'the cost of executing it is known in advance and the benchmark measures the build, '
               'not the code.',
               'We first compute a small sum, then wait. The result does not depend on the language '
               'of the edition: every translation runs exactly the same program.'],
        figure='A box.',
        summary='Summary',
        point='Executing this section takes about {sleep} seconds.',
        c_sum='compute a small sum', c_sleep='sleep a fixed time: the cost of this section',
        edit='Edit {n}: one more sentence of prose, which changes no code.'),
    'ja': dict(
        book='ビルドのベンチマーク',
        book_intro='生成された本です。どの節も眠るだけのコードを実行するので、実行のコストがわかり、'
                   'ベンチマークはビルドを測ります。',
        chapter='眠るコード',
        chapter_intro='この章の節は、決まった時間だけ眠るコードを実行します。',
        section='第{k}節: 待つ',
        prose=['この節は :numref:`chap_bench` の一部です。コードは決まった時間だけ眠るので、実行の'
               'コストは前もってわかり、ベンチマークはコードではなくビルドを測ります。',
               'まず小さな和を計算し、それから待ちます。結果は版の言語によりません。どの翻訳もまったく'
               '同じプログラムを実行します。'],
        figure='箱。',
        summary='まとめ',
        point='この節の実行にはおよそ {sleep} 秒かかります。',
        c_sum='小さな和を計算する', c_sleep='決まった時間だけ眠る: この節のコスト',
        edit='編集 {n}: コードを変えない文をひとつ足します。'),
    'zh': dict(
        book='构建基准测试',
        book_intro='一本生成的书：每一节执行的代码只是休眠，因此执行的代价已知，基准测试衡量的是构建。',
        chapter='休眠的代码',
        chapter_intro='本章的各节执行休眠固定时间的代码。',
        section='第{k}节：等待',
        prose=['本节属于 :numref:`chap_bench` 。它的代码休眠固定的时间，因此执行的代价事先可知，'
               '基准测试衡量的是构建而不是代码。',
               '我们先计算一个小的和，然后等待。结果与版本的语言无关：每个译本都运行完全相同的程序。'],
        figure='一个方框。',
        summary='小结',
        point='执行本节大约需要 {sleep} 秒。',
        c_sum='计算一个小的和', c_sleep='休眠固定的时间：本节的代价',
        edit='编辑 {n}：再加一句不改变代码的话。'),
    'ko': dict(
        book='빌드 벤치마크',
        book_intro='생성된 책입니다. 모든 절은 잠들기만 하는 코드를 실행하므로 실행 비용을 알 수 있고, '
                   '벤치마크는 빌드를 측정합니다.',
        chapter='잠자는 코드',
        chapter_intro='이 장의 절들은 정해진 시간 동안 잠드는 코드를 실행합니다.',
        section='{k}절: 기다리기',
        prose=['이 절은 :numref:`chap_bench` 에 속합니다. 코드는 정해진 시간 동안 잠들기 때문에 실행 '
               '비용을 미리 알 수 있고, 벤치마크는 코드가 아니라 빌드를 측정합니다.',
               '먼저 작은 합을 계산한 뒤 기다립니다. 결과는 판의 언어와 상관없습니다. 모든 번역은 '
               '똑같은 프로그램을 실행합니다.'],
        figure='상자.',
        summary='요약',
        point='이 절을 실행하는 데 약 {sleep} 초가 걸립니다.',
        c_sum='작은 합을 계산한다', c_sleep='정해진 시간 동안 잠든다: 이 절의 비용',
        edit='편집 {n}: 코드를 바꾸지 않는 문장을 하나 더합니다.'),
}

SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="120" height="60" viewBox="0 0 120 60">'
       '<rect x="10" y="10" width="100" height="40" fill="none" stroke="black"/></svg>\n')
FENCE = '```'


class BookText:
    """The book's content; edits bump a section's prose or code revision."""

    def __init__(self, sections, sleep):
        self.n, self.sleep = sections, sleep
        self.prose_rev = {}     # section -> number of prose edits (English only)
        self.code_rev = {}      # section -> number of code edits (every edition)

    def name(self, k):
        return f'chapter_bench/sec_{k:02d}'

    def files(self, lang):
        """{relative path: text} of one edition, in d2lbook Markdown."""
        t = TEXT[lang]
        files = {'index.md': '\n'.join([
            t['book'], '=' * 2 * len(t['book']), '', t['book_intro'], '',
            FENCE + 'toc', ':maxdepth: 2', ':numbered:', '', 'chapter_bench/index', FENCE, ''])}
        files['chapter_bench/index.md'] = '\n'.join(
            [f'# {t["chapter"]}', ':label:`chap_bench`', '', t['chapter_intro'], '', FENCE + 'toc',
             ':maxdepth: 2', ''] + [f'sec_{k:02d}' for k in range(1, self.n + 1)] + [FENCE, ''])
        for k in range(1, self.n + 1):
            files[self.name(k) + '.md'] = self.section(lang, k)
        return files

    def section(self, lang, k):
        t = TEXT[lang]
        lines = [f'# {t["section"].format(k=k)}', f':label:`sec_bench_{k}`', '']
        for p in t['prose']:
            lines += [p, '']
        if k == 1:
            lines += [f'![{t["figure"]}](../img/box.svg)', ':label:`fig_bench_box`', '']
        lines += ['$$s = \\sum_{i=1}^{n} i = \\frac{n(n+1)}{2}.$$', '',
                  FENCE + '{.python .input}', f'# {t["c_sum"]}', 'n = 100', 's = sum(range(1, n + 1))',
                  "print('sum:', s)", FENCE, '']
        rev = self.code_rev.get(k, 0)
        done = f"print('section {k} done')" if not rev else f"print('section {k} done, revision {rev}')"
        lines += [FENCE + '{.python .input}', f'# {t["c_sleep"]}', 'import time',
                  f'time.sleep({self.sleep})', done, FENCE, '',
                  f'## {t["summary"]}', '', f'* {t["point"].format(sleep=self.sleep)}']
        if lang == 'en':
            lines += [f'* {TEXT["en"]["edit"].format(n=i)}' for i in range(1, self.prose_rev.get(k, 0) + 1)]
        return '\n'.join(lines) + '\n'


def write_if_changed(path, text):
    """Only touch files whose content changes (d2lbook decides by modification time)."""
    path = Path(path)
    if path.is_file() and path.read_text(encoding='utf-8') == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding='utf-8')
    return True


def write_ours(root, langs, book, lock=True):
    """This project's layout: config.ini, chapters/<lang>/, img/, translations.lock."""
    root = Path(root)
    config = ['[project]', 'name = benchbook', f'title = {TEXT["en"]["book"]}', 'author = The Benchmark',
              'release = 0.1.0', '', '[build]', 'languages = ' + ', '.join(langs), '']
    for lang in langs:
        if lang != 'en':
            config += [f'[{lang}]', f'title = {TEXT[lang]["book"]}', '']
    write_if_changed(root / 'config.ini', '\n'.join(config))
    write_if_changed(root / 'img' / 'box.svg', SVG)
    for lang in langs:
        for rel, text in book.files(lang).items():
            write_if_changed(root / 'chapters' / lang / rel, text)
    if lock:     # translations recorded as following the English text as it is now
        lock_path = root / 'translations.lock'
        data = json.loads(lock_path.read_text(encoding='utf-8')) if lock_path.is_file() else {}
        for lang in langs:
            if lang != 'en' and lang not in data:
                data[lang] = {rel: hashlib.sha256((root / 'chapters' / 'en' / rel).read_bytes()).hexdigest()[:16]
                              for rel in sorted(book.files('en'))}
        write_if_changed(lock_path, json.dumps(data, indent=1, ensure_ascii=False) + '\n')


def write_d2lbook(bookdir, lang, book):
    """One plain d2lbook book per language, as D2L keeps them (d2l-en, d2l-ja, ...)."""
    bookdir = Path(bookdir)
    config = ['[project]', f'name = benchbook-{lang}', f'title = {TEXT[lang]["book"]}',
              'author = The Benchmark', 'release = 0.1.0', f'lang = {lang}', '',
              '[build]', 'index = index', 'notebooks = **/*.md', 'resources = img', 'eval_notebook = True', '']
    write_if_changed(bookdir / 'config.ini', '\n'.join(config))
    write_if_changed(bookdir / 'img' / 'box.svg', SVG)
    for rel, text in book.files(lang).items():
        write_if_changed(bookdir / rel, text)


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
        env.update(PATH=os.pathsep.join([str(shim), str(self.bin), env.get('PATH', '')]),
                   CUDA_VISIBLE_DEVICES='', PYTHONDONTWRITEBYTECODE='1', MPLBACKEND='Agg')
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

    def ours(self, root, workers=None):
        extra = {'BOOK_WORKERS': str(workers)} if workers else None
        wall, out = self._run([sys.executable, '-m', 'bookbuild', 'html', '--root', str(root)], PROJECT, extra)
        m = re.search(r'notebooks executed: (\d+), reused from cache: (\d+)', out)
        if not m:
            raise RuntimeError(f'no summary line in the output of the build of {root}:\n{out[-3000:]}')
        stages = {}
        s = re.search(r'time per stage: (.*)', out)
        if s:
            for part in s.group(1).split(','):
                name, _, sec = part.strip().rpartition(' ')
                stages[name] = float(sec.rstrip('s'))
        return {'wall': wall, 'executed': int(m.group(1)), 'reused': int(m.group(2)), 'stages': stages}

    def d2lbook_build(self, bookdir):
        eval_dir = Path(bookdir) / '_build' / 'eval'
        before = {p: p.stat().st_mtime_ns for p in eval_dir.rglob('*.ipynb')} if eval_dir.is_dir() else {}
        wall, out = self._run([self.d2lbook, 'build', 'eval', 'html'], bookdir)
        rewritten = [p for p in eval_dir.rglob('*.ipynb') if before.get(p) != p.stat().st_mtime_ns]
        with_code = [p for p in rewritten if _has_code(p)]
        m = re.search(r'(\d+) notebooks are outdated', out)
        return {'wall': wall, 'executed': len(with_code), 'rewritten': len(rewritten),
                'outdated_logged': int(m.group(1)) if m else None}


def _has_code(path):
    try:
        nb = json.loads(path.read_text(encoding='utf-8'))
    except (ValueError, OSError):
        return False
    return any(c.get('cell_type') == 'code' and ''.join(c.get('source', '')).strip() for c in nb.get('cells', []))


# ---------------------------------------------------------------------------------------------
# One repetition
# ---------------------------------------------------------------------------------------------

def warm_up(tmp, runner, log):
    """One small untimed build with each tool: disk caches and first imports are not measured."""
    log('warm-up (not measured)')
    book = BookText(1, 0)
    root, d = Path(tmp) / 'warmup-ours', Path(tmp) / 'warmup-d2lbook'
    write_ours(root, ['en'], book)
    runner.ours(root)
    write_d2lbook(d, 'en', book)
    runner.d2lbook_build(d)
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(d, ignore_errors=True)


def one_rep(rep, args, tmp, runner, log, record):
    base = Path(tmp) / f'rep{rep}'
    edited = min(EDITED, args.sections)
    langs_counts = args.langs

    if 'ours' in args.parts:
        for L in langs_counts:
            langs = ALL_LANGS[:L]
            book = BookText(args.sections, args.sleep)
            root = base / f'ours-{L}'
            write_ours(root, langs, book)
            for scenario in SCENARIOS:
                if scenario == 'prose':
                    book.prose_rev[edited] = book.prose_rev.get(edited, 0) + 1
                    write_ours(root, langs, book, lock=False)
                elif scenario == 'code':
                    book.code_rev[edited] = book.code_rev.get(edited, 0) + 1
                    write_ours(root, langs, book, lock=False)
                r = runner.ours(root)
                record('ours', L, scenario, r)
            if L == 1 and len(langs_counts) and max(langs_counts) >= 4:
                # add languages to the same tree: English outputs are reused
                for step, new in (('add_ja', ALL_LANGS[:2]), ('add_zh_ko', ALL_LANGS[:4])):
                    write_ours(root, new, book)
                    r = runner.ours(root)
                    record('ours', len(new), step, r)
            shutil.rmtree(root, ignore_errors=True)

    if 'd2lbook' in args.parts:
        L = max(langs_counts)
        book = BookText(args.sections, args.sleep)
        dirs = {lang: base / f'd2lbook-{lang}' for lang in ALL_LANGS[:L]}
        for lang, d in dirs.items():
            write_d2lbook(d, lang, book)
        per_book = {}
        for scenario in SCENARIOS:
            if scenario == 'prose':       # English prose: only the English book changes
                book.prose_rev[edited] = book.prose_rev.get(edited, 0) + 1
                write_d2lbook(dirs['en'], 'en', book)
            elif scenario == 'code':      # code: every book (translations keep the English code)
                book.code_rev[edited] = book.code_rev.get(edited, 0) + 1
                for lang, d in dirs.items():
                    write_d2lbook(d, lang, book)
            per_book[scenario] = {lang: runner.d2lbook_build(d) for lang, d in dirs.items()}
            for lang, r in per_book[scenario].items():
                log(f'    d2lbook {lang} {scenario}: {r["wall"]:.1f}s, {r["executed"]} executed')
        for Lc in langs_counts:       # L languages = the first L books, built one after another
            for scenario in SCENARIOS:
                rs = [per_book[scenario][lang] for lang in ALL_LANGS[:Lc]]
                record('d2lbook', Lc, scenario, {
                    'wall': sum(r['wall'] for r in rs), 'executed': sum(r['executed'] for r in rs),
                    'per_book': {lang: round(r['wall'], 3) for lang, r in zip(ALL_LANGS, rs)},
                    'outdated_logged': sum(r['outdated_logged'] or 0 for r in rs)})
        if L >= 4:   # adding a language to D2L = one more book, built cold (measured above)
            for step, new in (('add_ja', ['ja']), ('add_zh_ko', ['zh', 'ko'])):
                rs = [per_book['cold'][lang] for lang in new]
                record('d2lbook', 2 if step == 'add_ja' else 4, step, {
                    'wall': sum(r['wall'] for r in rs), 'executed': sum(r['executed'] for r in rs),
                    'per_book': {lang: round(r['wall'], 3) for lang, r in zip(new, rs)},
                    'note': 'cold build of the new book(s), timed in the cold scenario'})
        for d in dirs.values():
            shutil.rmtree(d, ignore_errors=True)

    if 'workers' in args.parts:
        for w in (1, 2):
            book = BookText(args.sections, args.sleep)
            root = base / f'workers-{w}'
            write_ours(root, ['en'], book)
            r = runner.ours(root, workers=w)
            record('ours', 1, f'cold_workers_{w}', r)
            shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Report
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
    """{(tool, L, scenario): {min, median, executed...}}"""
    groups = {}
    for r in runs:
        groups.setdefault((r['tool'], r['langs'], r['scenario']), []).append(r)
    out = {}
    for key, rs in groups.items():
        walls = [r['wall'] for r in rs]
        executed = sorted({r['executed'] for r in rs})
        s = {'reps': len(rs), 'min': min(walls), 'median': statistics.median(walls), 'max': max(walls),
             'executed': executed[0] if len(executed) == 1 else executed}
        stages = [r.get('stages') for r in rs if r.get('stages')]
        if stages:
            names = list(stages[0])
            s['stages_median'] = {n: statistics.median(st.get(n, 0.0) for st in stages) for n in names}
        out[key] = s
    return out


def fmt_exec(e):
    return str(e) if not isinstance(e, list) else '–'.join(map(str, [min(e), max(e)]))


def _num(e):
    return e if not isinstance(e, list) else max(e)


def report(summary, meta, path_md):
    S = summary
    langs_counts = meta['args']['langs']
    lines = ['# Build benchmark: this project vs plain d2lbook', '',
             f'Generated by `bench/run.py` on {meta["machine"]["date"]}: a book of {meta["args"]["sections"]} '
             f'sections whose code sleeps {meta["args"]["sleep"]} s per section, {meta["args"]["reps"]} '
             f'repetition(s) of every measurement (times: min / median over repetitions, seconds of wall time).'
             + (f' Requested {meta["args"]["reps_requested"]}; {meta["args"]["stopped"]}.'
                if meta['args']['stopped'] else ''),
             '', '## Machine', '',
             f'- CPU: {meta["machine"]["cpu_model"]}, {meta["machine"]["cpus"]} logical CPUs',
             f'- Python {meta["machine"]["python"]}, {meta["machine"]["platform"]}',
             '- ' + ', '.join(f'{k} {v}' for k, v in meta['machine']['versions'].items()),
             f'- load average before / after the run: {meta["load_before"]} / {meta["load_after"]}',
             f'- offline: {meta["offline"]}; CPU only (`nvidia-smi` shadowed, `CUDA_VISIBLE_DEVICES=""`)',
             f'- total benchmark time: {meta["total_seconds"] / 60:.1f} min', '',
             '## What is compared', '',
             '- **this project**: `python -m bookbuild html --root BOOK`, all editions in one tree and one build '
             '(default workers: one per core).',
             '- **d2lbook**: `d2lbook build eval html` in one book directory per language, each with its own '
             '`config.ini` (`eval_notebook = True`), as D2L keeps d2l-en, d2l-ja, ...; the time for L languages '
             'is the sum of the first L books, built one after another (en, ja, zh, ko). Its evaluator always '
             'uses 2 CPU workers.',
             '- *executed*: this project: `notebooks executed` from its summary line; d2lbook: notebooks with '
             'code whose `_build/eval/**/*.ipynb` was rewritten (index pages without code are not counted).',
             '- scenarios: **cold** (empty `_build`), **nochange** (build again), **prose** (one English '
             'section\'s prose edited), **code** (one section\'s code edited in every edition), '
             '**add** (this project: `languages` grows in the same tree, en → en,ja → en,ja,zh,ko; d2lbook: '
             'one more book per language, cold — the cold build times of those books).', '',
             '## Results', '']
    rows = [(sc, L) for sc in SCENARIOS for L in langs_counts] + [('add_ja', 2), ('add_zh_ko', 4)]
    if any(S.get((tool, L, sc)) for sc, L in rows for tool in ('ours', 'd2lbook')):
        lines += ['| scenario | langs | this project (min / median s) | executed | d2lbook (min / median s) '
                  '| executed | median ratio |', '|---|---:|---:|---:|---:|---:|---:|']
    for sc, L in rows:
        o, d = S.get(('ours', L, sc)), S.get(('d2lbook', L, sc))
        if not o and not d:
            continue
        label = {'add_ja': 'add ja (1 → 2 langs)', 'add_zh_ko': 'add zh, ko (2 → 4 langs)'}.get(sc, sc)
        cell = lambda s: f'{s["min"]:.1f} / {s["median"]:.1f}' if s else 'n/a'
        ratio = f'{o["median"] / d["median"]:.2f}' if o and d and d['median'] else ''
        lines.append(f'| {label} | {L} | {cell(o)} | {fmt_exec(o["executed"]) if o else ""} | {cell(d)} | '
                     f'{fmt_exec(d["executed"]) if d else ""} | {ratio} |')
    w1, w2 = S.get(('ours', 1, 'cold_workers_1')), S.get(('ours', 1, 'cold_workers_2'))
    if w1 and w2:
        e1 = w1.get('stages_median', {}).get('execute', 0)
        e2 = w2.get('stages_median', {}).get('execute', 0)
        lines += ['', '### Execution scaling (this project, cold build, 1 language)', '',
                  '| BOOK_WORKERS | wall (min / median s) | execute stage (median s) | executed |',
                  '|---:|---:|---:|---:|',
                  f'| 1 | {w1["min"]:.1f} / {w1["median"]:.1f} | {e1:.1f} | {fmt_exec(w1["executed"])} |',
                  f'| 2 | {w2["min"]:.1f} / {w2["median"]:.1f} | {e2:.1f} | {fmt_exec(w2["executed"])} |',
                  '', f'2 workers / 1 worker: wall {w2["median"] / w1["median"]:.2f}, '
                  f'execute stage {e2 / e1 if e1 else float("nan"):.2f} '
                  f'(ideal 0.50; the sleeping cells alone are {meta["args"]["sections"] * meta["args"]["sleep"]:.0f} s '
                  'of sequential work).']
    stage_rows = [(sc, L) for sc, L in rows + [('cold_workers_1', 1), ('cold_workers_2', 1)]
                  if S.get(('ours', L, sc), {}).get('stages_median')]
    if stage_rows:
        names = list(S[('ours',) + stage_rows[0][::-1]]['stages_median'])
        lines += ['', '### Where this project\'s time goes (median seconds per stage, from "time per stage")', '',
                  '| scenario | langs | wall | ' + ' | '.join(names) + ' | other (start-up, Python imports) |',
                  '|---|---:|---:|' + '---:|' * (len(names) + 1)]
        for sc, L in stage_rows:
            s = S[('ours', L, sc)]
            st = s['stages_median']
            other = s['median'] - sum(st.values())
            lines.append(f'| {sc} | {L} | {s["median"]:.1f} | ' + ' | '.join(f'{st.get(n, 0):.1f}' for n in names)
                         + f' | {other:.1f} |')
    lines += ['', '## Targets', '']
    for t in meta['targets']:
        lines.append(f'- **{"met" if t["met"] else "MISSED" if t["met"] is False else "n/a"}** — {t["target"]}: '
                     f'{t["detail"]}')
    lines.append('')
    path_md = Path(path_md)
    old = path_md.read_text(encoding='utf-8') if path_md.is_file() else ''
    if ANALYSIS_MARK in old:      # hand-written analysis of an earlier run is kept, below the numbers
        lines[-1] = old[old.index(ANALYSIS_MARK):]
    path_md.write_text('\n'.join(lines), encoding='utf-8')


ANALYSIS_MARK = '<!-- analysis: kept when bench/run.py rewrites this file -->'


def targets(S, langs_counts):
    res = []

    def get(tool, L, sc):
        return S.get((tool, L, sc))

    o1, o4 = get('ours', 1, 'cold'), get('ours', 4, 'cold')
    if o1 and o4:
        res.append({'target': 'notebooks executed for 4 languages = for 1 (cold)',
                    'met': o4['executed'] == o1['executed'],
                    'detail': f'this project {fmt_exec(o4["executed"])} vs {fmt_exec(o1["executed"])}'
                              + (f'; d2lbook {fmt_exec(get("d2lbook", 4, "cold")["executed"])} vs '
                                 f'{fmt_exec(get("d2lbook", 1, "cold")["executed"])}' if get('d2lbook', 4, 'cold') else '')})
    for L in langs_counts:
        op, dp = get('ours', L, 'prose'), get('d2lbook', L, 'prose')
        if op:
            met = _num(op['executed']) == 0 and (dp is None or op['median'] <= 0.5 * dp['median'])
            detail = f'{fmt_exec(op["executed"])} executed, median {op["median"]:.1f}s'
            if dp:
                detail += (f' vs d2lbook {fmt_exec(dp["executed"])} executed, {dp["median"]:.1f}s '
                           f'(ratio {op["median"] / dp["median"]:.2f}, target ≤ 0.50)')
            res.append({'target': f'prose-only edit, {L} language(s): 0 executed and ≤ half of d2lbook\'s time',
                        'met': met, 'detail': detail})
    on4, dn1 = get('ours', 4, 'nochange'), get('d2lbook', 1, 'nochange')
    if on4 and dn1:
        res.append({'target': 'no-change rebuild of 4 languages ≤ d2lbook\'s no-change rebuild of 1 language',
                    'met': on4['median'] <= dn1['median'],
                    'detail': f'median {on4["median"]:.1f}s vs {dn1["median"]:.1f}s'})
    w1, w2 = get('ours', 1, 'cold_workers_1'), get('ours', 1, 'cold_workers_2')
    if w1 and w2:
        ratio = w2['median'] / w1['median']
        e1 = w1.get('stages_median', {}).get('execute')
        e2 = w2.get('stages_median', {}).get('execute')
        detail = f'wall {w2["median"]:.1f}s vs {w1["median"]:.1f}s (ratio {ratio:.2f})'
        if e1 and e2:
            detail += f'; execute stage {e2:.1f}s vs {e1:.1f}s (ratio {e2 / e1:.2f})'
        res.append({'target': '2 workers ≈ half the time of 1 (cold build, sleeping cells; met if ratio ≤ 0.60)',
                    'met': ratio <= 0.60, 'detail': detail})
    return res


# ---------------------------------------------------------------------------------------------

def parse(argv):
    p = argparse.ArgumentParser(prog='bench/run.py', description=__doc__.split('\n\n')[0])
    p.add_argument('--sections', type=int, default=8, help='sections in the generated book (default 8)')
    p.add_argument('--sleep', type=float, default=2.0, help='seconds each section sleeps (default 2)')
    p.add_argument('--reps', type=int, default=3, help='repetitions of every measurement (default 3)')
    p.add_argument('--langs', default='1,2,4', help='numbers of languages to build (default 1,2,4; max 4)')
    p.add_argument('--parts', default='ours,d2lbook,workers',
                   help='what to run: ours, d2lbook, workers (default all)')
    p.add_argument('--out', default=str(Path(__file__).resolve().parent),
                   help='where to write results.json and RESULTS.md (default bench/)')
    p.add_argument('--max-minutes', type=float, default=0,
                   help='run fewer repetitions when another would end past this many minutes (default: no limit)')
    p.add_argument('--tmp', help='work directory (default: a new temporary directory, removed afterwards)')
    args = p.parse_args(argv)
    args.langs = sorted({int(x) for x in args.langs.split(',') if x.strip()})
    if not args.langs or min(args.langs) < 1 or max(args.langs) > 4:
        p.error('--langs takes numbers from 1 to 4')
    args.parts = [x.strip() for x in args.parts.split(',') if x.strip()]
    if args.sections < 1 or args.reps < 1:
        p.error('--sections and --reps must be at least 1')
    return args


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(args.tmp) if args.tmp else Path(tempfile.mkdtemp(prefix='bookbench-'))
    tmp.mkdir(parents=True, exist_ok=True)

    def log(msg):
        print(msg, flush=True)

    runner = Runner(tmp, log)
    log(f'benchmark in {tmp}; offline: {runner.offline}')
    runs = []

    def record(tool, L, scenario, r):
        r = dict(r, tool=tool, langs=L, scenario=scenario, rep=rep)
        runs.append(r)
        log(f'  rep {rep} {tool:8s} {L} lang {scenario:16s} {r["wall"]:6.1f}s  executed {r["executed"]}'
            + (f'  [{", ".join(f"{k} {v:.1f}" for k, v in r["stages"].items())}]' if r.get('stages') else ''))

    load_before = ' '.join(f'{x:.2f}' for x in os.getloadavg())
    start = time.perf_counter()
    reps_done, stopped = 0, ''
    try:
        rep = 0
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
    finally:
        if not args.tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    total = time.perf_counter() - start
    summary = summarize(runs)
    meta = {'args': dict({k: getattr(args, k) for k in ('sections', 'sleep', 'langs', 'parts')},
                         reps=reps_done, reps_requested=args.reps, stopped=stopped),
            'machine': machine(), 'offline': runner.offline, 'load_before': load_before,
            'load_after': ' '.join(f'{x:.2f}' for x in os.getloadavg()), 'total_seconds': total,
            'commands': {'ours': 'python -m bookbuild html --root BOOK',
                         'd2lbook': 'd2lbook build eval html (in each per-language book dir)'}}
    meta['targets'] = targets(summary, args.langs)
    data = dict(meta, summary=[dict(tool=k[0], langs=k[1], scenario=k[2], **v) for k, v in summary.items()],
                runs=runs)
    (out / 'results.json').write_text(json.dumps(data, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
    report(summary, meta, out / 'RESULTS.md')
    log(f'\nwrote {out / "RESULTS.md"} and {out / "results.json"} ({total / 60:.1f} min)')
    for t in meta['targets']:
        log(f'  {"met   " if t["met"] else "MISSED"} {t["target"]}: {t["detail"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
