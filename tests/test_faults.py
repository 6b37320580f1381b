"""Every mistake an author makes gets a clear error naming file and line, and nothing is lost."""
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, copy_book, edit, interruptible, run_build

ARRAYS = 'chapters/en/chapter_basics/arrays.md'


def line_of(path, needle):
    return next(i for i, l in enumerate(path.read_text(encoding='utf-8').splitlines(), 1) if needle in l)


def assert_fails(result, *messages):
    assert result.returncode != 0, result.stdout
    for m in messages:
        assert m in result.stderr, f'{m!r} not in:\n{result.stderr}'
    assert 'the published site was left as it was' in result.stderr


@pytest.mark.parametrize('old, new, message', [
    (':numref:`fig_arrow` shows', ':numref:`fig_nowhere` shows', 'unknown label "fig_nowhere" in :numref:'),
    ('following :cite:`Rumelhart1986`', 'following :cite:`Nobody2020`', 'unknown citation key "Nobody2020"'),
    ('](../img/arrow.svg)', '](../img/nothing.svg)', 'missing image "../img/nothing.svg"'),
    (':eqref:`eq_sum`, following', ':eqref:`eq_none`, following', 'unknown label "eq_none" in :eqref:'),
])
def test_reference_errors_name_file_and_line(tmp_path, old, new, message):
    root = copy_book(tmp_path)
    path = edit(root, ARRAYS, old, new)
    result = run_build(root, 'check', '--lang', 'en')
    assert_fails(result, f'{path}:{line_of(path, new.split("`")[0] or new)}: {message}')


def test_duplicate_label(tmp_path):
    root = copy_book(tmp_path)
    path = edit(root, ARRAYS, ':label:`fig_arrow`', ':label:`sec_arrays`')
    result = run_build(root, 'check', '--lang', 'en')
    assert_fails(result, f'{path}:{line_of(path, "![An arrow") + 1}: duplicate label "sec_arrays"')


def test_label_missing_in_translation(tmp_path):
    root = copy_book(tmp_path)
    path = edit(root, 'chapters/ja/chapter_basics/arrays.md', ':label:`fig_arrow`', '')
    edit(root, 'chapters/ja/chapter_basics/arrays.md', ':numref:`fig_arrow` は', '図は')
    result = run_build(root, 'check')
    assert_fails(result, f'{path}:1: label "fig_arrow" of arrays.md is missing in this translation')


def test_toc_entry_for_missing_file(tmp_path):
    root = copy_book(tmp_path)
    path = edit(root, 'chapters/en/chapter_basics/index.md', 'arrays\n', 'arrays\nmatrices\n')
    result = run_build(root, 'check', '--lang', 'en')
    assert_fails(result, f'{path}:{line_of(path, "matrices")}: toc entry "matrices" names a missing file')


def test_unclosed_toc_block(tmp_path):
    root = copy_book(tmp_path)
    path = root / 'chapters/en/chapter_basics/index.md'
    path.write_text(path.read_text(encoding='utf-8').rstrip().rstrip('`') + '\n', encoding='utf-8')
    result = run_build(root, 'check', '--lang', 'en')
    assert_fails(result, f'{path}:{line_of(path, "```toc")}: toc block is never closed')


def test_unreachable_section(tmp_path):
    root = copy_book(tmp_path)
    (root / 'chapters/en/chapter_basics/orphan.md').write_text('# Orphan\n', encoding='utf-8')
    result = run_build(root, 'check', '--lang', 'en')
    assert_fails(result, 'chapter_basics/orphan.md:1: section is not reachable from any toc')


def test_translation_code_drift_and_orphan(tmp_path):
    root = copy_book(tmp_path)
    path = edit(root, 'chapters/ja/chapter_basics/arrays.md', 'np.arange(12)', 'np.arange(10)')
    (root / 'chapters/ja/chapter_basics/gone.md').write_text('# 消えた節\n', encoding='utf-8')
    result = run_build(root, 'check', '--keep-going')
    assert_fails(result, f'{path}:{line_of(path, "# 12 個")}: code cell differs from the English one',
                 'chapters/ja/chapter_basics/gone.md:1: translation of a file that does not exist in English')


def test_translated_comments_are_not_drift(tmp_path):
    root = copy_book(tmp_path)
    edit(root, 'chapters/ja/chapter_basics/arrays.md', '# 12 個の数を足す', '# 十二個の数の合計')
    assert run_build(root, 'check').returncode == 0


def test_invalid_utf8(tmp_path):
    root = copy_book(tmp_path)
    path = root / ARRAYS
    path.write_bytes(path.read_bytes().replace(b'We add', b'We \xff add'))
    result = run_build(root, 'check', '--lang', 'en')
    assert_fails(result, f'{path}:4: invalid UTF-8 byte 0xff')


def test_bad_config(tmp_path):
    root = copy_book(tmp_path)
    edit(root, 'config.ini', 'languages = en, ja', 'languages = en, xx')
    result = run_build(root, 'check')
    assert_fails(result, f'{root / "config.ini"}:8: unknown language "xx"')


def test_keep_going_lists_everything(tmp_path):
    root = copy_book(tmp_path)
    edit(root, ARRAYS, ':numref:`fig_arrow` shows', ':numref:`fig_a` shows')
    edit(root, ARRAYS, 'following :cite:`Rumelhart1986`', 'following :cite:`Nobody2020`')
    result = run_build(root, 'check', '--keep-going', '--lang', 'en')
    assert_fails(result, 'build failed with 2 problem(s)', 'fig_a', 'Nobody2020')


@pytest.fixture
def published(tmp_path):
    """A book with a published site, and that site's identity."""
    root = copy_book(tmp_path)
    result = run_build(root, 'html', '--lang', 'en')
    assert result.returncode == 0, result.stderr
    site = root / '_build/site'
    return root, os.readlink(site), (site / 'en/chapter_basics/arrays.html').read_bytes()


def assert_site_unchanged(root, link, page):
    site = root / '_build/site'
    assert os.readlink(site) == link
    assert (site / 'en/chapter_basics/arrays.html').read_bytes() == page


def test_failing_cell_names_md_line_and_keeps_site(published):
    root, link, page = published
    path = edit(root, ARRAYS, "print('total:', int(x.sum()))", "print('total:', int(x.sum()) / 0)")
    result = run_build(root, 'html', '--lang', 'en')
    assert_fails(result, f'{path}:{line_of(path, "# sum twelve")}: code cell failed with ZeroDivisionError',
                 "print('total:', int(x.sum()) / 0)")
    assert_site_unchanged(root, link, page)


def test_kernel_death_and_timeout(tmp_path):
    root = copy_book(tmp_path)
    edit(root, 'config.ini', '[build]', '[build]\ntimeout = 8')
    path = edit(root, ARRAYS, "print('total:', int(x.sum()))", "import os; os._exit(1)")
    result = run_build(root, 'execute', '--lang', 'en')
    assert_fails(result, f'{path}:{line_of(path, "# sum twelve")}: code cell failed with DeadKernel')
    edit(root, ARRAYS, "import os; os._exit(1)", "import time; time.sleep(60)")
    start = time.time()
    result = run_build(root, 'execute', '--lang', 'en')
    assert_fails(result, 'code cell failed with Timeout', 'raise [build] timeout')
    assert time.time() - start < 55


def test_huge_output_is_truncated(tmp_path):
    root = copy_book(tmp_path)
    edit(root, ARRAYS, "print('total:', int(x.sum()))", "print('y' * 5_000_000)")
    result = run_build(root, 'html', '--lang', 'en')
    assert result.returncode == 0, result.stderr
    page = (root / '_build/site/en/chapter_basics/arrays.html').read_text(encoding='utf-8')
    text = re.sub(r'<[^>]+>', '', page)
    assert 'output truncated: 4,980,001 characters omitted' in text and len(page) < 200_000


def test_corrupt_cache_entry_is_recomputed(tmp_path):
    root = copy_book(tmp_path)
    assert run_build(root, 'execute', '--lang', 'en').returncode == 0
    (entry,) = (root / '_build/cache').glob('??/*.json')
    entry.write_text(entry.read_text()[:100])
    result = run_build(root, 'execute', '--lang', 'en')
    assert result.returncode == 0, result.stderr
    assert 'dropped a corrupt entry' in result.stdout and 'notebooks executed: 1' in result.stdout


def test_interrupted_build_leaves_site_and_next_build_works(published):
    root, link, page = published
    edit(root, ARRAYS, "print('total:', int(x.sum()))", "import time; time.sleep(30)")
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        proc = subprocess.Popen([sys.executable, '-m', 'bookbuild', 'html', '--lang', 'en', '--root', str(root)],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=interruptible,
                                env={**os.environ, 'PYTHONPATH': str(ROOT)})
        time.sleep(6)
        proc.send_signal(sig)
        proc.wait(timeout=60)
        assert proc.returncode != 0
        assert_site_unchanged(root, link, page)
    edit(root, ARRAYS, "import time; time.sleep(30)", "print('total:', int(x.sum()))")
    result = run_build(root, 'html', '--lang', 'en')
    assert result.returncode == 0, result.stderr
    assert os.readlink(root / '_build/site') != link


def test_second_build_waits_for_the_first(tmp_path):
    root = copy_book(tmp_path)
    first = subprocess.Popen([sys.executable, '-m', 'bookbuild', 'execute', '--lang', 'en', '--root', str(root)],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, 'PYTHONPATH': str(ROOT)})
    time.sleep(1.5)
    second = run_build(root, 'execute', '--lang', 'en')
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert second.returncode == 0, second.stderr
    assert 'another build is running on this tree; waiting for it to finish: build.py execute --lang en --root' in second.stdout
    assert f'(pid {first.pid}, started ' in second.stdout
    assert 'notebooks executed: 0' in second.stdout     # the first one's results were reused


@pytest.mark.pdf
@pytest.mark.parametrize('sig', [signal.SIGTERM, signal.SIGKILL])
def test_build_killed_while_rendering(published, sig):
    root, link, page = published
    edit(root, ARRAYS, 'We add numbers', 'We now add numbers')     # prose only: straight to rendering
    proc = subprocess.Popen([sys.executable, '-u', '-m', 'bookbuild', 'all', '--lang', 'en', '--root', str(root)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, 'PYTHONPATH': str(ROOT)})
    for line in proc.stdout:
        if line.startswith('pdf: en'):          # Sphinx/xelatex are running now
            time.sleep(2)
            proc.send_signal(sig)
            break
    proc.wait(timeout=60)
    assert proc.returncode != 0
    assert_site_unchanged(root, link, page)
    result = run_build(root, 'all', '--lang', 'en')
    assert result.returncode == 0, result.stderr
    assert 'We now add numbers' in (root / '_build/site/en/chapter_basics/arrays.html').read_text(encoding='utf-8')
    assert (root / '_build/site/en/minibook-en.pdf').is_file()
