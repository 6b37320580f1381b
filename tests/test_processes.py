"""No process outlives the build: interrupted, terminated or killed, checked with ``ps``;
one build at a time per tree, and a waiting command says who holds the tree."""
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import FIXTURES, ROOT, build_env, copy_book, edit, interruptible, run_build


def leftovers(root):
    """``ps`` lines of live processes that carry the build mark of this tree."""
    mark = f'BOOKBUILD_TREE={(root / "_build").resolve()}'
    out = subprocess.run(['ps', '-e', 'e', '-ww', '-o', 'pid=,stat=,args='], capture_output=True, text=True).stdout
    return [line[:160] for line in out.splitlines()
            if (mark + ' ') in line + ' ' and ' Z' not in line[:16]]


def wait_for(condition, timeout=120, step=0.3):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(step)
    return condition()


def start_build(root, *args):
    return subprocess.Popen([sys.executable, '-u', '-m', 'bookbuild', *args, '--root', str(root)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=build_env(),
                            preexec_fn=interruptible)


@pytest.fixture
def sleepy_book(tmp_path):
    """The five-section book, one section of which sleeps long after printing ``sleeping``."""
    root = tmp_path / 'fourbook'
    shutil.copytree(FIXTURES / 'fourbook', root)
    path = root / 'chapters/en/chapter_a/gpus.md'
    path.write_text(path.read_text() + "\n```{.python .input}\nprint('sleeping', flush=True)\n"
                    "time.sleep(300)\n```\n")
    return root


def kernel_sleeping(root):
    return [l for l in leftovers(root) if 'ipykernel' in l]


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM])
def test_interrupted_build_ends_its_kernels(sleepy_book, sig):
    build = start_build(sleepy_book, 'execute')
    assert wait_for(lambda: kernel_sleeping(sleepy_book)), 'no kernel started'
    time.sleep(3)
    build.send_signal(sig)
    out, _ = build.communicate(timeout=60)
    assert build.returncode == 130, out
    assert 'interrupted; the published site was left as it was.' in out
    assert leftovers(sleepy_book) == []


def test_killed_build_leaves_no_kernel_behind(sleepy_book):
    build = start_build(sleepy_book, 'execute')
    assert wait_for(lambda: kernel_sleeping(sleepy_book)), 'no kernel started'
    build.kill()
    build.wait(timeout=30)
    # kernel runners notice that the build is gone and end their kernels
    assert wait_for(lambda: leftovers(sleepy_book) == [], timeout=20), leftovers(sleepy_book)


@pytest.fixture
def rendered(tmp_path):
    root = copy_book(tmp_path)
    result = run_build(root, 'html', '--lang', 'en')
    assert result.returncode == 0, result.stderr
    edit(root, 'chapters/en/chapter_basics/arrays.md', 'We add numbers', 'We now add numbers')
    return root


def start_pdf_and_wait_for_tex(root):
    build = start_build(root, 'pdf', '--lang', 'en')
    for line in build.stdout:
        if line.startswith('pdf: en'):
            break
    assert wait_for(lambda: [l for l in leftovers(root) if 'xelatex' in l], step=0.1), 'xelatex never ran'
    return build


@pytest.mark.pdf
def test_terminated_build_stops_xelatex(rendered):
    build = start_pdf_and_wait_for_tex(rendered)
    build.terminate()
    build.wait(timeout=60)
    assert build.returncode == 130
    assert leftovers(rendered) == []
    assert not (rendered / '_build/en/pdf.fingerprint').exists()     # removed before typesetting


@pytest.mark.pdf
def test_next_build_ends_what_a_killed_build_left(rendered):
    build = start_pdf_and_wait_for_tex(rendered)
    for line in leftovers(rendered):    # stopped, they cannot finish before the next build looks
        try:
            os.kill(int(line.split()[0]), signal.SIGSTOP)
        except ProcessLookupError:
            pass
    build.kill()
    build.wait(timeout=30)
    assert [l for l in leftovers(rendered) if 'xelatex' in l or 'latexmk' in l]
    result = run_build(rendered, 'check', '--lang', 'en')
    assert result.returncode == 0, result.stderr
    assert 'process(es) left running by an earlier build that was killed:' in result.stdout
    assert 'latexmk' in result.stdout or 'xelatex' in result.stdout
    assert leftovers(rendered) == []


def test_commands_wait_for_the_build_and_say_who_holds_it(sleepy_book):
    path = sleepy_book / 'chapters/en/chapter_a/gpus.md'
    path.write_text(path.read_text().replace('time.sleep(300)', 'time.sleep(8)'))
    build = start_build(sleepy_book, 'execute')
    assert wait_for(lambda: kernel_sleeping(sleepy_book)), 'no kernel started'
    waiting = [start_build(sleepy_book, *command) for command in (['cache', 'list'], ['lib', '--check'], ['check'])]
    outs = [w.communicate(timeout=300)[0] for w in waiting]
    first, _ = build.communicate(timeout=300)
    assert build.returncode == 0, first
    for w, out in zip(waiting, outs):
        assert w.returncode == 0, out
        assert 'another build is running on this tree; waiting for it to finish: build.py execute --root' in out, out
        assert f'(pid {build.pid}, started ' in out
