"""``build.py serve`` with a real browser (headless Chromium): an edit in the Markdown reloads the open
page, a failed build shows its problem over the last good page, the preview listens on 127.0.0.1 only,
does not hold the build lock while idle, and stops without leaving kernels behind.

Run as a script, it measures the edit-to-reload time on any book:
    python tests/test_serve.py --root BOOK --page chapter_x/y --anchor 'words of a paragraph' [--reps 5]
"""
import argparse
import queue
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from browsing import chromium
from conftest import ROOT, build_env, copy_book, edit, interruptible

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / 'tests' / 'artifacts'
SECTION_MD = 'chapters/en/chapter_basics/arrays.md'
SECTION = 'en/chapter_basics/arrays.html'


class Preview:
    """A running ``build.py serve --port 0``; its output lines are collected as they come."""

    def __init__(self, root, *args):
        self.root, self.lines, self.output = root, queue.Queue(), []
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'bookbuild', 'serve', '--root', str(root), '--port', '0', *args],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=build_env(),
            preexec_fn=interruptible)
        threading.Thread(target=self._read, daemon=True).start()
        self.url = self.expect(r'serving (http://\S+?)/\w+/index\.html')[1]
        self.port = int(self.url.rsplit(':', 1)[1])

    def _read(self):
        for line in self.proc.stdout:
            self.output.append(line)
            self.lines.put(line)

    def expect(self, pattern, timeout=180):
        """The match of the next output line that matches ``pattern``."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.time()))
            except queue.Empty:
                break
            m = re.search(pattern, line)
            if m:
                return m
        raise AssertionError(f'no line matching {pattern!r} in:\n' + ''.join(self.output))

    def built(self, timeout=180):
        """Wait for the end of a build; it must have succeeded."""
        m = self.expect(r'^(rebuilt in|build failed)', timeout)
        assert m[1] == 'rebuilt in', ''.join(self.output)

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=60)


def open_section(browser, url, page_path):
    page = browser.new_page(viewport={'width': 1280, 'height': 900})
    page.problems = []
    page.on('pageerror', lambda e: page.problems.append(str(e)))
    page.goto(f'{url}/{page_path}')
    page.wait_for_function('document.readyState === "complete"')
    return page


def screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def reload_seconds(page, md, old, new, shown=None, timeout=300):
    """Replace ``old`` by ``new`` in the Markdown file ``md``; seconds until the open page shows
    ``shown`` (default: ``new``)."""
    text = md.read_text(encoding='utf-8')
    assert old in text, old
    start = time.time()
    md.write_text(text.replace(old, new, 1), encoding='utf-8')
    page.get_by_text(shown or new).first.wait_for(timeout=timeout * 1000)
    return time.time() - start


def listening_addresses(port):
    """The local addresses of the sockets listening on ``port`` (from /proc/net/tcp and tcp6)."""
    found = []
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(':')
            if state == '0A' and int(hex_port, 16) == port:
                found.append(address)
    return found


@pytest.fixture(scope='module')
def preview(tmp_path_factory):
    root = copy_book(tmp_path_factory.mktemp('serve'))
    server = Preview(root, '--lang', 'en')
    server.built()
    yield server
    assert server.stop() == 0, ''.join(server.output)
    assert 'preview stopped' in ''.join(server.output)


def test_listens_on_loopback_only_and_leaves_the_lock_free_while_idle(preview):
    assert listening_addresses(preview.port) == ['0100007F'], 'the preview must listen on 127.0.0.1 only'
    from bookbuild.buildlock import exclusive
    with exclusive(preview.root / '_build', wait=0, command='test'):     # raises if the preview held it
        pass


def test_prose_edit_reloads_the_open_page(preview, browser):
    page = open_section(browser, preview.url, SECTION)
    page.evaluate('scrollTo(0, 300)')
    md, seen = preview.root / SECTION_MD, len(preview.output)
    times = [reload_seconds(page, md, 'We add numbers', 'We add numbers (edit 1)')]
    for i in range(2, 6):
        times.append(reload_seconds(page, md, f'(edit {i - 1})', f'(edit {i})'))
    print(f'edit-to-reload seconds: {", ".join(f"{t:.2f}" for t in times)}; median {statistics.median(times):.2f}')
    rebuilds = [line for line in preview.output[seen:] if line.startswith('rebuilt')]
    assert len(rebuilds) == 5 and not any('executed' in line for line in rebuilds), rebuilds    # prose only
    assert page.evaluate('scrollY') == 300, 'the reloaded page keeps its scroll position'
    assert page.locator('#serve-banner').count() == 0
    assert page.problems == []
    assert statistics.median(times) < 30
    page.close()


def test_code_edit_executes_again_and_shows_the_new_output(preview, browser):
    page = open_section(browser, preview.url, SECTION)
    edit(preview.root, SECTION_MD, "print('total:'", "print('sum of twelve:'")
    page.locator('#serve-banner', has_text='Rebuilding').wait_for(timeout=60_000)     # while it executes
    screenshot(page, 'serve-rebuilding.png')
    page.get_by_text('sum of twelve: 66').wait_for(timeout=300_000)
    preview.expect(r'executed 1 notebook')
    page.close()


def test_failed_build_shows_the_problem_over_the_last_good_page(preview, browser):
    page = open_section(browser, preview.url, SECTION)
    md = edit(preview.root, SECTION_MD, ':numref:`fig_arrow` shows an arrow.', ':numref:`fig_nowhere` shows an arrow.')
    line = md.read_text().splitlines().index(':numref:`fig_nowhere` shows an arrow.') + 1
    banner = page.locator('#serve-banner')
    banner.wait_for(timeout=120_000)
    page.wait_for_function('document.getElementById("serve-banner").textContent.includes("fig_nowhere")')
    assert f'{SECTION_MD}:{line}: unknown label "fig_nowhere"' in banner.text_content()
    assert page.get_by_text('shows an arrow').count() == 1, 'the last good page stays'
    screenshot(page, 'serve-failed-build.png')
    preview.expect(rf'{re.escape(SECTION_MD)}:{line}: unknown label "fig_nowhere"')
    # the author fixes the file: the page reloads and the banner is gone
    reload_seconds(page, md, ':numref:`fig_nowhere` shows an arrow.', ':numref:`fig_arrow` shows a fixed arrow.',
                   shown='shows a fixed arrow')
    assert banner.count() == 0
    screenshot(page, 'serve-fixed.png')
    page.close()


def test_a_page_opened_before_the_first_build_shows_the_site_once_built(tmp_path, browser):
    server = Preview(copy_book(tmp_path), '--lang', 'en')
    page = open_section(browser, server.url, SECTION)      # the first build is still executing
    assert 'being built' in page.text_content('body')
    page.get_by_text('Arrays and Plots').first.wait_for(timeout=180_000)
    assert page.problems == []
    page.close()
    assert server.stop() == 0


def test_stopping_during_a_build_ends_its_kernels(tmp_path):
    from test_processes import kernel_sleeping, wait_for
    root = copy_book(tmp_path)
    server = Preview(root, '--lang', 'en')
    server.built()
    edit(root, SECTION_MD, "print('total:'",
         "import time; print('sleeping', flush=True); time.sleep(300)\nprint('total:'")
    assert wait_for(lambda: kernel_sleeping(root)), 'no kernel started'
    assert server.stop() == 0
    assert 'preview stopped' in ''.join(server.output)
    assert wait_for(lambda: not kernel_sleeping(root), timeout=10), kernel_sleeping(root)


def test_watches_figures_and_settings_but_not_editor_backups(tmp_path):
    from bookbuild.serve import snapshot, watched
    root = copy_book(tmp_path)
    before = snapshot(watched(root, ['en']))
    (root / 'chapters/en/.arrays.md.swp').write_text('x')
    (root / 'chapters/en/index.md~').write_text('x')
    (root / 'chapters/ja/index.md').write_text('not served')
    assert snapshot(watched(root, ['en'])) == before
    (root / 'img/arrow.svg').write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    edit(root, 'config.ini', 'A Tiny Book', 'A Small Book')
    with open(root / 'references.bib', 'a') as bib:
        bib.write('\n')
    after = snapshot(watched(root, ['en']))
    assert {Path(p).name for p in before if before[p] != after.get(p)} == {'arrow.svg', 'config.ini', 'references.bib'}


def test_port_in_use_is_a_clear_error(preview):
    proc = subprocess.run([sys.executable, '-m', 'bookbuild', 'serve', '--root', str(preview.root),
                           '--port', str(preview.port)], cwd=ROOT, capture_output=True, text=True,
                          env=build_env(), timeout=60)
    assert proc.returncode != 0
    assert f'cannot serve on 127.0.0.1:{preview.port}' in proc.stderr and '--port 0' in proc.stderr


def main():
    """Measure the edit-to-reload time of a prose edit on a book (median of ``--reps`` edits)."""
    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument('--root', required=True, help='the book (a copy: its Markdown is edited)')
    p.add_argument('--lang', default='en')
    p.add_argument('--page', required=True, help='the section, e.g. chapter_preliminaries/ndarray')
    p.add_argument('--anchor', required=True, help='words of a paragraph of that section')
    p.add_argument('--reps', type=int, default=5)
    args = p.parse_args()
    root = Path(args.root).resolve()
    md = root / 'chapters' / args.lang / f'{args.page}.md'
    server = Preview(root, '--lang', args.lang)
    try:
        server.built(timeout=3600)
        with chromium() as browser:
            page = open_section(browser, server.url, f'{args.lang}/{args.page}.html')
            times, old = [], args.anchor
            for i in range(1, args.reps + 1):
                new = f'{args.anchor} (edit {i})'
                times.append(reload_seconds(page, md, old, new))
                old = new
                print(f'edit {i}: {times[-1]:.2f}s', flush=True)
        md.write_text(md.read_text(encoding='utf-8').replace(old, args.anchor, 1), encoding='utf-8')
        print(f'edit-to-reload, {args.page}: median {statistics.median(times):.2f}s '
              f'(min {min(times):.2f}s, max {max(times):.2f}s, {len(times)} edits)')
    finally:
        server.stop()
    print(''.join(line for line in server.output if line.startswith(('rebuilt', 'changed'))), end='')


if __name__ == '__main__':
    main()
