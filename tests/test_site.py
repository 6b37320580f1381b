"""The published site in a real browser (headless Chromium driven by Playwright), served on 127.0.0.1."""
import functools
import http.server
import json
import threading
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT

try:
    from playwright import sync_api as playwright
except ImportError:
    playwright = None

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / 'tests' / 'artifacts'
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-sync',
                 '--disable-background-networking', '--disable-component-update']


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope='module')
def server(built_book):
    root, _ = built_book
    site = (root / '_build' / 'site').resolve()
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                            functools.partial(QuietHandler, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield site, f'http://127.0.0.1:{httpd.server_address[1]}'
    httpd.shutdown()


@pytest.fixture(scope='module')
def browser():
    if playwright is None:
        pytest.skip('playwright is not installed')
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path='/usr/bin/chromium', args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_page(browser, base):
    """A page that records console errors, failed requests and requests to other hosts."""
    page = browser.new_page(viewport={'width': 1280, 'height': 900})
    page.problems = []
    page.on('console', lambda m: m.type == 'error' and page.problems.append(f'console: {m.text}'))
    page.on('pageerror', lambda e: page.problems.append(f'page error: {e}'))
    page.on('requestfailed', lambda r: page.problems.append(f'failed: {r.url}'))
    page.on('request', lambda r: r.url.startswith((base, 'data:')) or page.problems.append(f'other host: {r.url}'))
    return page


def test_every_page_loads_cleanly_and_locally(server, browser):
    site, base = server
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob('*.html'))
    assert len(pages) >= 10
    page = open_page(browser, base)
    for path in pages:
        # '#choose' keeps the landing page from forwarding to the browser's language
        page.goto(f'{base}/{path}' + ('#choose' if path == 'index.html' else ''), wait_until='networkidle')
        assert not page.problems, (path, page.problems)
    page.close()


def test_landing_page_picks_the_browser_language(server, browser):
    _, base = server
    context = browser.new_context(locale='ja-JP')
    page = context.new_page()
    page.goto(f'{base}/index.html')
    page.wait_for_url('**/ja/index.html')
    context.close()


def test_math_is_typeset(server, browser):
    _, base = server
    page = open_page(browser, base)
    page.goto(f'{base}/en/chapter_basics/arrays.html', wait_until='networkidle')
    page.wait_for_selector('mjx-container', timeout=15000)
    assert page.locator('mjx-container').count() >= 1
    assert not page.problems, page.problems


def test_language_switcher_lands_on_the_same_section(server, browser):
    _, base = server
    page = open_page(browser, base)
    page.goto(f'{base}/ja/chapter_basics/arrays.html')
    page.click('nav.d2l-bar a[hreflang="en"]')
    page.wait_for_load_state()
    assert page.url.endswith('/en/chapter_basics/arrays.html')
    assert 'Arrays and Plots' in page.title()
    page.click('nav.d2l-bar a[hreflang="ja"]')
    page.wait_for_load_state()
    assert page.url.endswith('/ja/chapter_basics/arrays.html') and '配列と図' in page.title()
    ARTIFACTS.mkdir(exist_ok=True)
    for lang in ('en', 'ja', 'zh', 'ko'):
        page.goto(f'{base}/{lang}/chapter_basics/arrays.html', wait_until='networkidle')
        page.screenshot(path=str(ARTIFACTS / f'minibook-{lang}-arrays.png'))


@pytest.mark.parametrize('lang, word', [('ja', '配列'), ('zh', '数组'), ('ko', '배열'), ('en', 'arrow')])
def test_search_finds_a_word(server, browser, lang, word):
    _, base = server
    page = open_page(browser, base)
    page.goto(f'{base}/{lang}/search.html?q={word}', wait_until='networkidle')
    page.wait_for_selector('ul.search li', timeout=15000)
    hits = page.locator('ul.search li a').evaluate_all('(links) => links.map(a => a.getAttribute("href"))')
    assert any('chapter_basics/arrays.html' in h for h in hits), hits


def test_notebook_download_link_serves_a_notebook(server, browser):
    _, base = server
    page = open_page(browser, base)
    page.goto(f'{base}/ja/chapter_basics/arrays.html')
    href = page.get_attribute('a.d2l-notebook', 'href')
    response = page.request.get(f'{base}/ja/chapter_basics/{href}')
    assert response.ok
    nb = nbformat.reads(response.text(), as_version=4)
    nbformat.validate(nb)
    assert any(c.cell_type == 'code' and c.outputs for c in nb.cells)


def test_dark_appearance_switch(server, browser):
    _, base = server
    page = open_page(browser, base)
    page.goto(f'{base}/en/chapter_basics/arrays.html')
    light = page.evaluate('getComputedStyle(document.body).backgroundColor')
    page.click('button.d2l-theme')
    dark = page.evaluate('getComputedStyle(document.body).backgroundColor')
    assert light != dark and page.evaluate('document.documentElement.dataset.theme') == 'dark'
    page.reload()
    assert page.evaluate('document.documentElement.dataset.theme') == 'dark'   # remembered


def test_copy_button_on_code_cells(server, browser):
    _, base = server
    page = open_page(browser, base)
    page.goto(f'{base}/en/chapter_basics/arrays.html')
    assert page.locator('button.d2l-copy').count() >= 3


def test_theme_assets_are_small(server):
    site, _ = server
    for lang in ('en', 'ja', 'zh', 'ko'):
        size = sum(p.stat().st_size for p in (site / lang / '_static').rglob('*') if p.is_file())
        assert size < 5 * 1024 * 1024, (lang, size)
