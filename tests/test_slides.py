"""Slide marks and slide decks: the book (HTML, PDF, notebooks) shows no marks and keeps the labels of
marked equations; every edition gets a deck per marked section, which works offline in Chromium."""
import re

import nbformat
import pytest

from browsing import serving
from conftest import ROOT, copy_book, edit, executed_count, run_build
from test_render import ok, pdf_text
from test_site import ARTIFACTS, close, open_page

from bookbuild import slidemarks, slides
from bookbuild.markdown import read_cells, split_cells

LANGS = ('en', 'ja', 'zh', 'ko')
FIT, PLAIN = 'chapter_lines/fit', 'chapter_lines/plain'
MARKS = ('[**', '**]', '(**', '**)', '[~~', '~~]', '(~~', '~~)')
SLIDES_ONLY = {'en': 'Least squares is a projection', 'ja': '最小二乗法は行列の列への射影',
               'zh': '最小二乘法是向矩阵各列的投影', 'ko': '최소제곱법은 행렬의 열들로의 사영'}
SLIDES_ONLY_TITLE = {'en': 'normal equations with', 'ja': 'で正規方程式を解く',
                     'zh': '求解正规方程', 'ko': '정규 방정식 풀기'}


def article_text(path):
    """The text of a page's article, without tags."""
    page = path.read_text(encoding='utf-8')
    body = page[page.index('<article'):page.index('</article>')]
    return re.sub(r'<[^>]+>', ' ', body)


@pytest.fixture(scope='module')
def slidebook(tmp_path_factory):
    """The slide fixture built once in full: four editions, HTML, PDF and slides (tests that use it
    are marked pdf: without xelatex they skip)."""
    root = copy_book(tmp_path_factory.mktemp('slides'), 'slidebook')
    ok(run_build(root))
    return root


# ---- marks -------------------------------------------------------------------

def test_marks_follow_d2lbook():
    text = ('Intro [**shown, new slide**] and (**shown**).\n(~~slides only~~)\n[~~slides only, new slide~~]\n'
            'Code `f(**kw)`, a [**link**](https://example.org) and (see **this**).')
    assert [(m.opener, text[m.inner]) for m in slidemarks.marks(text)] == [
        ('[**', 'shown, new slide'), ('(**', 'shown'), ('(~~', 'slides only'), ('[~~', 'slides only, new slide')]
    assert slidemarks.book_text(text) == ('Intro shown, new slide and shown.\n'
                                          'Code `f(**kw)`, a [**link**](https://example.org) and (see **this**).')
    shown, new_slide = slidemarks.slide_text(text)
    assert shown == 'Shown, new slide\nshown\nslides only\nslides only, new slide' and new_slide


def test_marked_equation_keeps_its_label_line():
    assert slidemarks.book_text('(**$$y = x$$**)\n:eqlabel:`eq_y`') == '$$y = x$$\n:eqlabel:`eq_y`'
    assert slidemarks.book_text('A\n(**\n$$y = x$$\n**)\n:eqlabel:`eq_y`') == 'A\n$$y = x$$\n:eqlabel:`eq_y`'
    assert slidemarks.book_text('a (~~b~~) c, d (~~e~~).') == 'a c, d.'


@pytest.mark.parametrize('text, offset, message', [
    ('one\ntwo (**three', 8, '"(**" is never closed by "**)"'),
    ('(**a ~~) b', 5, '"~~)" closes "(**"'),
    ('(**a [**b**] c**)', 5, '"[**" inside the passage opened by "(**"'),
])
def test_marks_that_do_not_pair(text, offset, message):
    with pytest.raises(slidemarks.MarkError) as e:
        slidemarks.marks(text)
    assert e.value.offset == offset and message in e.value.message


def test_deck_follows_d2lbook():
    """The title and the marked text; ``[`` marks start a slide; every code cell, without comments;
    a code cell without outputs joins the code cell right after it (not one after marked text)."""
    cells = split_cells((ROOT / 'tests/fixtures/slidebook/chapters/en' / f'{FIT}.md').read_text(encoding='utf-8'))
    from bookbuild.notebooks import to_notebook
    nb = to_notebook(cells)
    nb.cells[-2].outputs = [nbformat.v4.new_output('stream', name='stdout', text='w = 2.00, b = 1.00\n')]
    deck = slides.deck_items(nb)
    assert len(deck) == 2
    first = deck[0][0][1]
    assert first.startswith('# Fitting a Line\n\nA line has two parameters') and 'Least squares is' in first
    assert 'Everything in this section' not in first and 'eqlabel' not in first
    assert deck[0][1] == ['code', 'import numpy as np\n\nx = np.array([0.0, 1.0, 2.0, 3.0, 4.0])\n'
                          'y = 2 * x + 1 + np.array([0.1, -0.2, 0.0, 0.2, -0.1])', []]     # comment gone
    assert deck[1][0][1] == 'Solve the normal equations with `np.linalg.lstsq`'
    kind, code, outputs = deck[1][1]
    assert kind == 'code' and code.startswith('A = np.stack') and outputs[0]['text'] == 'w = 2.00, b = 1.00\n'
    nb.cells.insert(2, nbformat.v4.new_code_cell('z = 0  # no output'))
    assert slides.deck_items(nb)[0][1] == ['code', deck[0][1][1] + '\n\nz = 0', []]   # code in a row joins
    assert slides.deck_items(to_notebook(read_cells(ROOT / 'tests/fixtures/slidebook/chapters/en' / f'{PLAIN}.md'))) is None


def test_the_book_has_no_slide_marks():
    """The project's own book has none, and nothing in it reads as one: it builds as before."""
    for path in sorted((ROOT / 'chapters').rglob('*.md')):
        for cell in read_cells(path):
            if cell.kind == 'markdown':
                assert slidemarks.book_text(cell.source) == cell.source, path


def test_mark_that_does_not_pair_names_file_and_line(tmp_path):
    root = copy_book(tmp_path, 'slidebook')
    path = edit(root, f'chapters/ja/{FIT}.md', '(~~最小二乗法', '(**最小二乗法')
    line = path.read_text(encoding='utf-8').split('\n').index('(**最小二乗法は行列の列への射影です。~~)') + 1
    failed = run_build(root, 'check')
    assert failed.returncode != 0
    assert f'{path}:{line}: slide mark "~~)" closes "(**"' in failed.stderr


# ---- the book ------------------------------------------------------------------

@pytest.mark.pdf
@pytest.mark.parametrize('lang', LANGS)
def test_marks_are_not_in_the_book(slidebook, lang):
    site = slidebook / '_build/site' / lang
    page = article_text(site / f'{FIT}.html')
    pdf = pdf_text(site / f'slidebook-{lang}.pdf')
    notebook = (site / 'notebooks' / f'{FIT}.ipynb').read_text(encoding='utf-8')
    for text in (page, pdf.replace('fit(**options)', ''), notebook):      # the PDF has the other section too
        assert not [m for m in MARKS if m in text]
        assert SLIDES_ONLY[lang] not in text and SLIDES_ONLY_TITLE[lang] not in text
    assert 'eqlabel' not in page + pdf and 'eq_line' not in page + pdf
    for text in (article_text(site / f'{PLAIN}.html'), pdf):     # what only looks like marks stays
        assert 'fit(**options)' in text and 'bold link text' in text


@pytest.mark.pdf
@pytest.mark.parametrize('lang', LANGS)
def test_marked_equation_is_numbered_and_referenced(slidebook, lang):
    site = slidebook / '_build/site' / lang
    page = (site / f'{FIT}.html').read_text(encoding='utf-8')
    assert re.search(r'id="equation-eq-line"[^>]*>\s*<span class="eqno">\(1\.1\)', page)
    assert page.count('href="#equation-eq-line">(1.1)</a>') == 2
    assert 'field-list' not in page and 'system-message' not in page
    pdf = ' '.join(pdf_text(site / f'slidebook-{lang}.pdf').split())
    assert pdf.count('(1.1)') == 3          # the number beside the equation and both references


def test_sphinx_warnings_beside_marks_name_the_markdown_line(tmp_path):
    """Marks on lines of their own vanish from the book; warnings still land on the author's line."""
    root = copy_book(tmp_path, 'slidebook')
    path = edit(root, f'chapters/en/{FIT}.md', '(**$$\\hat{y} = w x + b$$**)\n:eqlabel:`eq_line`',
                '(**\n$$\\hat{y} = w x + b$$\n**)\n:eqlabel:`eq_line`\n\n'
                '```eval_rst\nSome **strong text that never ends.\n```')
    line = path.read_text(encoding='utf-8').split('\n').index('Some **strong text that never ends.') + 1
    out = ok(run_build(root, 'html', '--lang', 'en'))
    assert f'{path}:{line}: Inline strong start-string without end-string.' in out
    page = (root / '_build/site/en' / f'{FIT}.html').read_text(encoding='utf-8')
    assert re.search(r'id="equation-eq-line"[^>]*>\s*<span class="eqno">\(1\.1\)', page)


# ---- the decks -------------------------------------------------------------------

@pytest.mark.pdf
@pytest.mark.parametrize('lang', LANGS)
def test_a_deck_per_marked_section_linked_from_its_page(slidebook, lang):
    site = slidebook / '_build/site' / lang
    deck = (site / 'slides' / f'{FIT}.html').read_text(encoding='utf-8')
    assert deck.count('<section class="slide">') == 2
    assert SLIDES_ONLY[lang] in deck and SLIDES_ONLY_TITLE[lang] in deck
    assert 'w = 2.00, b = 1.00' in deck                       # outputs of the executed notebook
    assert '<script defer src="../_static/mathjax/tex-chtml-full.js">' in deck
    assert (site / 'slides/_static/mathjax/tex-chtml-full.js').is_file()
    assert not (site / 'slides' / f'{PLAIN}.html').exists()
    page = (site / f'{FIT}.html').read_text(encoding='utf-8')
    assert f'<a class="d2l-slides" href="../slides/{FIT}.html">{slides.LABEL[lang]}</a>' in page
    assert 'd2l-slides' not in (site / f'{PLAIN}.html').read_text(encoding='utf-8')


def test_slides_command_reuses_the_cache_and_follows_the_marks(tmp_path):
    root = copy_book(tmp_path, 'slidebook')
    site = root / '_build/site'
    out = ok(run_build(root, 'slides', '--lang', 'en,ja'))
    assert executed_count(out) == 2
    assert 'slides: en: 1 deck(s)' in out and 'slides: ja: 1 deck(s)' in out
    for lang in ('en', 'ja'):
        assert (site / lang / 'slides' / f'{FIT}.html').is_file()
    assert not (site / 'zh').exists()
    out = ok(run_build(root, 'slides', '--lang', 'en'))
    assert executed_count(out) == 0                              # outputs come from the cache
    text = (root / 'chapters/en' / f'{FIT}.md').read_text(encoding='utf-8')
    (root / 'chapters/en' / f'{FIT}.md').write_text(slidemarks.book_text(text), encoding='utf-8')
    out = ok(run_build(root, 'slides', '--lang', 'en'))
    assert 'slides: en: 0 deck(s)' in out and executed_count(out) == 0
    assert not (site / 'en/slides').exists() and (site / 'ja/slides' / f'{FIT}.html').is_file()


@pytest.mark.pdf
@pytest.mark.browser
@pytest.mark.parametrize('lang', LANGS)
def test_deck_in_the_browser(slidebook, browser, lang):
    site = (slidebook / '_build/site').resolve()
    with serving(site) as base:
        page = open_page(browser, base, {'width': 1280, 'height': 720})
        try:
            page.goto(f'{base}/{lang}/slides/{FIT}.html', wait_until='networkidle')
            page.wait_for_selector('.slide:not([hidden]) mjx-container', timeout=15000)
            current = page.locator('.slide:not([hidden])')
            assert current.count() == 1 and page.locator('.deck-counter').inner_text() == '1 / 2'
            assert current.locator('mjx-container[display="true"]').count() == 1     # the equation
            assert '$' not in current.inner_text()                                  # all math typeset
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f'slidebook-{lang}-slide-1.png'))
            page.keyboard.press('ArrowRight')
            assert page.locator('.deck-counter').inner_text() == '2 / 2' and page.url.endswith('#2')
            assert 'w = 2.00, b = 1.00' in page.locator('.slide:not([hidden])').inner_text()
            page.screenshot(path=str(ARTIFACTS / f'slidebook-{lang}-slide-2.png'))
            page.keyboard.press(' ')                                  # the last slide stays
            assert page.locator('.deck-counter').inner_text() == '2 / 2'
            page.keyboard.press('ArrowLeft')
            assert page.locator('.deck-counter').inner_text() == '1 / 2'
            page.click('.deck-next')
            assert page.locator('.deck-counter').inner_text() == '2 / 2'
            page.goto(f'{base}/{lang}/slides/{FIT}.html#1', wait_until='networkidle')   # an address per slide
            assert page.locator('.deck-counter').inner_text() == '1 / 2'
            page.click('.deck-book')                                  # back to the book
            page.wait_for_url(f'**/{lang}/{FIT}.html')
            page.click('a.d2l-slides')
            page.wait_for_url(f'**/{lang}/slides/{FIT}.html#1')
            assert not page.problems, page.problems
        finally:
            close(page)
