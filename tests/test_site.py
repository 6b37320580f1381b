"""The published site in a real browser (headless Chromium driven by Playwright), served on 127.0.0.1:
at 1280 px (desktop) and 390 px (phone), in the four editions."""
import nbformat
import pytest

from browsing import serving
from conftest import ROOT

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / 'tests' / 'artifacts'
LANGS = ('en', 'ja', 'zh', 'ko')
DESKTOP, PHONE = {'width': 1280, 'height': 900}, {'width': 390, 'height': 844}
SECTION = 'chapter_basics/arrays.html'


@pytest.fixture(scope='module')
def server(built_book):
    root, _ = built_book
    site = (root / '_build' / 'site').resolve()
    with serving(site) as base:
        yield site, base


def open_page(browser, base, viewport=DESKTOP, **context):
    """A page that records console errors, failed requests and requests to other hosts."""
    page = browser.new_context(viewport=viewport, **context).new_page()
    page.problems = []
    page.on('console', lambda m: m.type == 'error' and page.problems.append(f'console: {m.text}'))
    page.on('pageerror', lambda e: page.problems.append(f'page error: {e}'))
    page.on('requestfailed', lambda r: page.problems.append(f'failed: {r.url}'))
    page.on('request', lambda r: r.url.startswith((base, 'data:')) or page.problems.append(f'other host: {r.url}'))
    return page


def close(page):
    page.context.close()


def visible(page, selector):
    """True when the element is displayed inside the viewport (not in a closed drawer)."""
    box = page.locator(selector).first.bounding_box()
    width = page.viewport_size['width']
    return bool(box) and box['width'] > 0 and box['x'] >= 0 and box['x'] + box['width'] <= width + 1


@pytest.mark.parametrize('viewport', [DESKTOP, PHONE], ids=['desktop', 'phone'])
def test_every_page_loads_cleanly_and_locally(server, browser, viewport):
    site, base = server
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob('*.html'))
    assert len(pages) >= 10
    page = open_page(browser, base, viewport)
    for path in pages:
        # '#choose' keeps the landing page from forwarding to the browser's language
        page.goto(f'{base}/{path}' + ('#choose' if path == 'index.html' else ''), wait_until='networkidle')
        assert not page.problems, (path, page.problems)
    close(page)


def test_landing_page_picks_the_browser_language(server, browser):
    _, base = server
    page = open_page(browser, base, locale='ja-JP')
    page.goto(f'{base}/index.html')
    page.wait_for_url('**/ja/index.html')
    close(page)


def test_math_is_typeset(server, browser):
    _, base = server
    page = open_page(browser, base)
    page.goto(f'{base}/en/{SECTION}', wait_until='networkidle')
    page.wait_for_selector('mjx-container', timeout=15000)
    assert page.locator('mjx-container').count() >= 1
    assert not page.problems, page.problems
    close(page)


@pytest.mark.parametrize('lang', LANGS)
def test_desktop_navigation_outline_and_neighbours(server, browser, lang):
    _, base = server
    page = open_page(browser, base)
    page.goto(f'{base}/{lang}/{SECTION}', wait_until='networkidle')
    # the chapter navigation: every chapter, the current section marked, chapters fold
    nav = page.locator('.sidebar-tree')
    assert visible(page, '.sidebar-tree')
    assert nav.locator('a.reference').count() >= 4
    assert nav.locator('li.current-page > a').inner_text() in page.locator('article h1').inner_text()
    chapter = nav.locator('li.has-children', has=page.locator('li.current-page'))
    assert chapter.locator('input.toctree-checkbox').is_checked()       # open at the current page
    chapter.locator('label').first.click()
    assert not chapter.locator('ul').first.is_visible()                 # folded
    chapter.locator('label').first.click()
    assert chapter.locator('ul').first.is_visible()
    # "on this page": the section's headings, beside the text
    assert visible(page, '.toc-drawer .toc-tree')
    assert page.evaluate('document.documentElement.scrollWidth') <= DESKTOP['width']
    assert page.locator('.toc-drawer .toc-tree a').count() >= 2        # the title and "Summary"
    # previous and next at the foot of the page
    assert page.get_attribute('a.prev-page', 'href') == 'index.html'
    assert page.get_attribute('a.next-page', 'href') == '../references.html'
    page.click('a.next-page')
    page.wait_for_url('**/references.html')
    assert not page.problems, page.problems
    close(page)


@pytest.mark.parametrize('lang', LANGS)
def test_phone_menu_and_content_near_the_top(server, browser, lang):
    _, base = server
    page = open_page(browser, base, PHONE)
    page.goto(f'{base}/{lang}/{SECTION}', wait_until='networkidle')
    assert page.locator('article h1').bounding_box()['y'] < 250        # the text starts on the first screen
    assert page.evaluate('document.documentElement.scrollWidth') <= PHONE['width']   # no sideways scrolling
    assert not visible(page, '.sidebar-tree')                          # navigation waits behind the menu
    assert not visible(page, '.toc-drawer .toc-tree')
    page.click('label.nav-overlay-icon')
    page.wait_for_timeout(400)                                         # the drawer slides in
    assert visible(page, '.sidebar-tree')
    page.locator('.sidebar-tree a.reference').first.click()
    page.wait_for_load_state()
    assert not page.url.endswith(SECTION)
    assert not page.problems, page.problems
    close(page)


def test_language_switcher_lands_on_the_same_section(server, browser):
    _, base = server
    page = open_page(browser, base)
    page.goto(f'{base}/ja/{SECTION}')
    assert page.locator('link[rel="alternate"][hreflang]').count() == 4
    page.click('nav.d2l-bar a[hreflang="en"]')
    page.wait_for_load_state()
    assert page.url.endswith(f'/en/{SECTION}')
    assert 'Arrays and Plots' in page.title()
    page.click('nav.d2l-bar a[hreflang="ja"]')
    page.wait_for_load_state()
    assert page.url.endswith(f'/ja/{SECTION}') and '配列と図' in page.title()
    close(page)


@pytest.mark.parametrize('lang, word', [('ja', '配列'), ('zh', '数组'), ('ko', '배열'), ('en', 'arrow')])
def test_search_finds_a_word(server, browser, lang, word):
    _, base = server
    page = open_page(browser, base)
    page.goto(f'{base}/{lang}/index.html', wait_until='networkidle')
    page.fill('.sidebar-search', word)                                 # the theme's search box
    page.press('.sidebar-search', 'Enter')
    page.wait_for_url('**/search.html?q=*')
    page.wait_for_selector('ul.search li', timeout=15000)
    hits = page.locator('ul.search li a').evaluate_all('(links) => links.map(a => a.getAttribute("href"))')
    assert any(SECTION in h for h in hits), hits
    close(page)


def test_notebook_download_link_serves_a_notebook(server, browser):
    _, base = server
    page = open_page(browser, base)
    page.goto(f'{base}/ja/{SECTION}')
    href = page.get_attribute('a.d2l-notebook', 'href')
    response = page.request.get(f'{base}/ja/chapter_basics/{href}')
    assert response.ok
    nb = nbformat.reads(response.text(), as_version=4)
    nbformat.validate(nb)
    assert any(c.cell_type == 'code' and c.outputs for c in nb.cells)
    close(page)


def background(page, selector='body'):
    return page.evaluate(f'getComputedStyle(document.querySelector({selector!r})).backgroundColor')


def test_dark_appearance_follows_the_system_and_the_toggle_is_remembered(server, browser):
    _, base = server
    white = 'rgb(255, 255, 255)'
    page = open_page(browser, base, color_scheme='dark')
    page.goto(f'{base}/en/{SECTION}', wait_until='networkidle')
    assert page.evaluate('document.body.dataset.theme') == 'auto'
    assert background(page) != white                                   # the system's dark setting
    assert background(page, 'article img') == white                   # figures keep a light backdrop
    close(page)

    page = open_page(browser, base, color_scheme='light')
    page.goto(f'{base}/en/{SECTION}', wait_until='networkidle')
    assert background(page) == white
    page.click('.theme-toggle-content button.theme-toggle')
    assert page.evaluate('document.body.dataset.theme') == 'dark'
    dark = background(page)
    assert dark != white
    assert background(page, 'article img') == white
    page.reload()
    assert page.evaluate('document.body.dataset.theme') == 'dark'      # remembered
    page.goto(f'{base}/ja/{SECTION}')                                  # on every page of the site
    assert background(page) == dark
    assert not page.problems, page.problems
    close(page)


def test_copy_button_copies_code_without_prompts_or_outputs(server, browser):
    _, base = server
    page = open_page(browser, base, permissions=['clipboard-read', 'clipboard-write'])
    page.goto(f'{base}/en/{SECTION}', wait_until='networkidle')
    code_cells = page.locator('div.highlight-python').count()
    assert code_cells == 3
    assert page.locator('button.copybtn').count() == code_cells        # none on outputs
    assert page.locator('div.output button.copybtn').count() == 0
    page.locator('div.highlight-python').first.hover()
    page.locator('button.copybtn').first.click()
    copied = page.evaluate('navigator.clipboard.readText()')
    assert copied.startswith('# sum twelve numbers\n') and copied.endswith("print('total:', int(x.sum()))")
    page.goto(f'{base}/en/chapter_preface.html', wait_until='networkidle')
    page.locator('div.highlight').first.hover()
    page.locator('button.copybtn').first.click()
    assert page.evaluate('navigator.clipboard.readText()').strip() == '1 + 2'   # no ">>> ", no output line
    close(page)


@pytest.mark.parametrize('lang, tooltip', [('en', 'Copy'), ('ja', 'コピー'), ('zh', '复制'), ('ko', '복사')])
def test_copy_button_speaks_the_language_of_the_edition(server, browser, lang, tooltip):
    _, base = server
    page = open_page(browser, base)
    page.goto(f'{base}/{lang}/{SECTION}', wait_until='networkidle')
    assert page.locator('button.copybtn').first.get_attribute('data-tooltip') == tooltip
    assert not page.problems, page.problems
    close(page)


def test_theme_speaks_the_edition_language(server, browser):
    _, base = server
    page = open_page(browser, base)
    for lang, outline, following in [('ja', 'このページの内容', '次へ'), ('zh', '本页目录', '下一页'),
                                     ('ko', '이 페이지의 내용', '다음')]:
        page.goto(f'{base}/{lang}/{SECTION}')
        assert page.locator('.toc-title').inner_text().strip() == outline
        assert following in page.locator('a.next-page').inner_text()
        assert page.evaluate('document.documentElement.lang') in (lang, 'zh-CN')
        font = page.evaluate('getComputedStyle(document.body).fontFamily')
        assert {'ja': 'CJK JP', 'zh': 'CJK SC', 'ko': 'CJK KR'}[lang] in font
    close(page)


def test_printed_page_has_no_navigation(server, browser):
    _, base = server
    page = open_page(browser, base)
    page.goto(f'{base}/en/{SECTION}', wait_until='networkidle')
    page.emulate_media(media='print')
    for selector in ('.sidebar-drawer', '.toc-drawer', 'nav.d2l-bar', '.mobile-header', '.related-pages',
                     'button.copybtn', '.theme-toggle'):
        assert not page.locator(selector).first.is_visible(), selector
    assert page.locator('article h1').is_visible()
    close(page)


def test_screenshots(server, browser):
    """Each edition at both widths, light and dark: tests/artifacts/minibook-<lang>-<width>-<scheme>.png."""
    _, base = server
    ARTIFACTS.mkdir(exist_ok=True)
    for scheme in ('light', 'dark'):
        for name, viewport in (('desktop', DESKTOP), ('phone', PHONE)):
            page = open_page(browser, base, viewport, color_scheme=scheme)
            for lang in LANGS:
                page.goto(f'{base}/{lang}/{SECTION}', wait_until='networkidle')
                page.wait_for_selector('mjx-container', timeout=15000)
                page.screenshot(path=str(ARTIFACTS / f'minibook-{lang}-{name}-{scheme}.png'))
            close(page)


def test_theme_assets_are_small(server):
    site, _ = server
    sizes = {lang: sum(p.stat().st_size for p in (site / lang / '_static').rglob('*') if p.is_file())
             for lang in LANGS}
    print('theme assets per edition (bytes):', sizes)
    assert all(size < 5 * 1024 * 1024 for size in sizes.values()), sizes
