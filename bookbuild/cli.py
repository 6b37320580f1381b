"""Command line: ``python3 build.py [command] [--lang en,ja] [--keep-going] [--root DIR]``."""
import argparse
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import config as config_mod, procs
from .buildlock import exclusive
from .errors import BuildError
from .languages import SOURCE

# The pipeline (Jupyter, nbformat, Sphinx) is imported by the commands that use it: a build that
# finds nothing changed (uptodate.py) needs none of it.

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ['all', 'html', 'pdf', 'slides', 'execute', 'lib', 'check', 'test', 'cache', 'translated', 'bench', 'serve']


def parse(argv):
    p = argparse.ArgumentParser(prog='build.py', description='Build the book: every edition as a website, '
                                'a PDF and notebooks.')
    p.add_argument('command', nargs='?', default='all', choices=COMMANDS,
                   help='all (default): check, execute, HTML, PDF, slides, publish; html|pdf: only that output '
                   '(html includes the slides); slides: only the slide decks; '
                   'execute: run code into the cache; lib: regenerate d2l/mxnet.py (--check: verify); '
                   'check: references and translation status; test: the test suite; '
                   'cache list|clear|why SECTION; translated FILE...: record translations as following English; '
                   'bench [--reps N ...]: time the build against plain d2lbook (bench/run.py); '
                   'serve: preview the website, rebuilt and reloaded as the book changes')
    p.add_argument('args', nargs='*', help='arguments of cache/translated/test')
    p.add_argument('--lang', help='comma-separated languages (default: all in config.ini)')
    p.add_argument('--tabs', help='comma-separated tabs to execute (default: all in [build] tabs); '
                   'the others are built without executing their code')
    p.add_argument('--keep-going', action='store_true', help='report every problem, then exit non-zero')
    p.add_argument('--root', default=str(ROOT), help='book tree to build (default: this repository)')
    p.add_argument('--check', action='store_true', help='lib: fail when d2l/mxnet.py is out of date')
    p.add_argument('--strict', action='store_true', help='html/pdf: fail on any Sphinx warning')
    p.add_argument('--strict-translations', action='store_true',
                   help='stale and missing translations are errors (for releases; also [build] '
                   'strict_translations = yes in config.ini)')
    p.add_argument('--port', type=int, default=8000, help='serve: the port (0: any free one)')
    p.add_argument('--host', help='serve: the address to listen on (default: 127.0.0.1, this machine only)')
    return p.parse_known_intermixed_args(argv)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    signal.signal(signal.SIGTERM, _interrupt)    # clean up children as for Ctrl-C
    args, extra = parse(sys.argv[1:] if argv is None else argv)
    start = time.time()
    try:
        code = run(args, extra)
    except BuildError as e:
        print(f'\nbuild failed with {len(e.problems)} problem(s):', file=sys.stderr)
        for p in e.problems:
            print(f'  {p}', file=sys.stderr)
        print('the published site was left as it was.', file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        print('\ninterrupted; the published site was left as it was.', file=sys.stderr)
        code = 130
    if args.command not in ('test', 'cache', 'translated', 'bench', 'serve'):
        print(f'done in {time.time() - start:.1f}s' if code == 0 else f'failed after {time.time() - start:.1f}s')
    sys.exit(code)


def run(args, extra):
    root = Path(args.root).resolve()
    if args.command == 'test':
        return subprocess.call([sys.executable, '-m', 'pytest', str(ROOT / 'tests')] + args.args + extra,
                               cwd=ROOT)
    if args.command == 'bench':
        return subprocess.call([sys.executable, str(ROOT / 'bench' / 'run.py')] + args.args + extra, cwd=ROOT)
    if extra:
        raise SystemExit(f'error: unrecognized arguments: {" ".join(extra)}')
    if args.command == 'serve':        # takes the build lock for each build, not while idle
        from .serve import serve
        return serve(root, args.lang, args.host, args.port)
    config = config_mod.load(root)
    with exclusive(config.build_dir), procs.owned(config.build_dir):
        return locked_command(root, config, args)


def locked_command(root, config, args):
    """The commands that read or write the tree; one at a time per tree."""
    if args.command in ('all', 'html', 'pdf'):
        return build_command(root, config, args)
    from . import library
    from .pipeline import Build
    if args.command == 'lib':
        src = config.chapters(SOURCE)
        for tab, target in library.targets(config):
            if args.check:
                library.check(src, target, tab, config.default_tab)
                print(f'{target.relative_to(root)} is up to date')
            else:
                changed = library.write(src, target, None, tab, config.default_tab)
                print(('regenerated ' if changed else 'unchanged ') + str(target.relative_to(root)))
        return 0
    if args.command == 'cache':
        return cache_command(root, config, args)
    if args.command == 'slides':
        return slides_command(root, args)
    if args.command == 'translated':
        return translated_command(root, args)
    build = Build(root, args.lang, args.keep_going, strict=args.strict, strict_translations=args.strict_translations,
                  tabs=args.tabs)
    if args.command == 'check':
        build.load()
        build.problems.raise_if_any()
        return print_translation_status(build)
    build.run(execute_only=True)
    print(build.summary())
    return 0


def build_command(root, config, args):
    """all, html, pdf: skipped (after only stat calls) when nothing changed since the same build."""
    from .uptodate import Stamp
    key = '-'.join([args.command, args.lang or 'all', 'tabs=' + (args.tabs or 'all')]
                   + [f for f in ('strict', 'strict_translations') if getattr(args, f)]).replace(',', '_')
    stamp = Stamp(config, key)
    last = stamp.check()
    if last:
        print(f'nothing changed since the last {args.command} build '
              f'({time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(last["built"]))}): '
              f'{last["files"]} files checked in {last["seconds"]:.2f}s')
        for line in last['notices']:
            print(line)
        print(f'site: {last["site"]}')
        print(f'notebooks executed: 0, reused from cache: {last["sections"]} '
              f'(sections with code in {last["langs"]} language(s): {last["sections"]})')
        print(f'time per stage: up-to-date check {last["seconds"]:.2f}s')
        return 0
    from .pipeline import Build
    notices = []

    def log(line):
        print(line, flush=True)
        if NOTICE.search(line) or (line.startswith('    ') and notices):
            notices.append(line)
    stamp.begin()
    build = Build(root, args.lang, args.keep_going, log=log, strict=args.strict,
                  strict_translations=args.strict_translations, tabs=args.tabs)
    site = build.run(html=args.command in ('all', 'html'), pdf=args.command in ('all', 'pdf'))
    print(f'site: {site}')
    print(build.summary())
    stamp.done({'site': str(site), 'notices': notices, 'sections': build.report.sections, 'langs': len(build.langs)})
    return 0


# What a rebuild with no change repeats of the last build's messages: warnings and notices.
NOTICE = re.compile(r'warning|carried over|no \w+ (HTML|PDF) to publish|stale|missing|not executed', re.I)


def print_translation_status(build):
    """Per edition: missing, stale and orphan files; for each stale one, what changed in English."""
    from . import changes, translations
    print('references, labels, citations, images and code of every edition: ok')
    for lang in build.langs:
        if lang == SOURCE:
            continue
        s = translations.status(build.config, lang)
        print(f'{lang}: {len(s["missing"])} missing, {len(s["stale"])} stale, {len(s["orphan"])} orphan')
        for rel in s['missing']:
            print(f'  missing: chapters/{lang}/{rel}')
        sections = {f'{x.name}.md': x for x in build.editions[lang]}
        for rel in s['stale']:
            print(f'  stale: chapters/{lang}/{rel}')
            section = sections.get(rel)
            if section is not None and section.comparison is not None:
                for line in changes.report(section.comparison, f'chapters/{SOURCE}/{rel}', f'chapters/{lang}/{rel}'):
                    print(f'    {line}')
            print(f'    once carried over: python3 build.py translated --lang {lang} chapters/{lang}/{rel}')
    return 0


def slides_command(root, args):
    """Only the slide decks: check, execute what the cache lacks, write the decks and publish them."""
    from .pipeline import Build
    build = Build(root, args.lang, args.keep_going, strict_translations=args.strict_translations)
    print(f'site: {build.slides()}')
    print(build.summary())
    return 0


def cache_command(root, config, options):
    from .cache import Cache
    args = options.args
    cache = Cache(config.build_dir / 'cache')
    if args[:1] == ['clear']:
        cache.clear()
        print('cache cleared')
        return 0
    if args[:1] == ['why'] and len(args) == 2:
        return cache_why(root, args[1], options)
    if args[:1] not in ([], ['list']):
        raise SystemExit('usage: build.py cache [list|clear|why SECTION]')
    entries = cache.entries()
    for e in entries:
        print(f'{e.key[:16]}  {e.seconds:7.1f}s  {time.strftime("%Y-%m-%d %H:%M", time.localtime(e.created))}  {e.source}')
    print(f'{len(entries)} entries' + (f'; dropped {len(cache.dropped)} corrupt' if cache.dropped else ''))
    return 0


def cache_why(root, wanted, options):
    """Say whether a section's outputs are cached for its current code and environment, and if
    not, what changed since its last execution."""
    from . import keys
    from .pipeline import Build
    build = Build(root, options.lang or SOURCE, tabs=options.tabs)     # --tabs numpy: that tab's execution
    build.load()
    name = Path(wanted).as_posix().removesuffix('.md')
    for lang in build.langs:
        name = name.removeprefix(f'chapters/{lang}/')
    jobs = [j for j in build.jobs() if j.name == name]
    if not jobs:
        raise SystemExit(f'error: no section {name} (give it as chapter_x/section, as in the toc)')
    executor = build.executor()
    executor.environment = executor.probe()
    planned = executor.plan(jobs[:1])
    if not planned:
        print(f'{name}: has no code to execute')
        return 0
    item = planned[0]
    entry = executor.cache.get(item.key)
    reads = keys.describe_reads(item.parts)
    if entry:
        print(f'{name}: in the cache (entry {item.key[:12]}, executed in {entry.seconds:.1f}s on '
              f'{time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.created))}); book files it reads: {reads}')
        return 0
    print(f'{name}: not in the cache; it will execute because:')
    for reason in executor.why(item):
        print(f'  - {reason}')
    return 0


def translated_command(root, args):
    """Record that the given translated files follow the current English text."""
    from . import translations
    config = config_mod.load(root)
    if not args.lang:
        raise SystemExit('usage: build.py translated --lang ja [chapters/ja/x/y.md ...] (no files: all present)')
    entries = []
    for lang in args.lang.split(','):
        tr_dir, en_dir = config.chapters(lang).resolve(), config.chapters(SOURCE)
        files = [_book_path(root, f) for f in args.args] or sorted(tr_dir.rglob('*.md'))
        for f in files:
            if not f.is_file() or tr_dir not in f.parents:
                raise SystemExit(f'error: {f} is not a file under {tr_dir}')
            rel = f.relative_to(tr_dir).as_posix()
            if not (en_dir / rel).is_file():
                raise SystemExit(f'error: {f} has no English source {en_dir / rel}')
            entries.append((lang, rel))
    translations.record(config, entries)
    return 0


def _book_path(root, name):
    """A file named on the command line: relative to the current directory, or else to the book."""
    path = Path(name)
    return (path if path.exists() or path.is_absolute() else root / path).resolve()
