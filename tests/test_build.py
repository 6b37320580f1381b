"""End-to-end: the fixture book in English and Japanese, built for real (Jupyter, Sphinx, xelatex)."""
import html
import re
import subprocess
import zipfile

import nbformat
import pytest

from conftest import copy_book, executed_count, run_build


def read(path):
    return path.read_text(encoding='utf-8')


def page_text(path):
    """The visible text of an HTML page."""
    return html.unescape(re.sub(r'<[^>]+>', '', read(path)))


def pdf_text(path):
    return subprocess.run(['pdftotext', str(path), '-'], capture_output=True, text=True, check=True).stdout


def test_site_layout(built_book):
    root, _ = built_book
    site = root / '_build' / 'site'
    assert site.is_symlink()
    for lang in ('en', 'ja', 'zh', 'ko'):
        for page in ('index.html', 'chapter_preface.html', 'chapter_basics/index.html',
                     'chapter_basics/arrays.html', f'minibook-{lang}.pdf', f'minibook-{lang}-notebooks.zip'):
            assert (site / lang / page).is_file(), (lang, page)
    assert 'hreflang="ja"' in read(site / 'index.html')


def test_html_resolves_references_and_shows_outputs(built_book):
    root, _ = built_book
    page = read(root / '_build/site/en/chapter_basics/arrays.html')
    text = page_text(root / '_build/site/en/chapter_basics/arrays.html')
    assert 'Fig. 1.1' in text                       # :numref: to a figure, numbered as in the PDF
    assert '(1.1)' in text                          # :eqref:
    assert 'Rumelhart' in text                      # :cite:
    assert 'total: 66' in text                      # executed output
    assert '<table' in page and 'price' in page     # pandas table
    assert '.png' in page or '.svg' in page         # plot image
    assert ':numref:' not in text and ':cite:' not in text
    assert 'href="../../ja/chapter_basics/arrays.html"' in page   # language switcher, same section
    assert 'href="https://colab.example.org/en/chapter_basics/arrays.ipynb"' in page
    assert 'href="https://example.org/discuss/en/chapter_basics/arrays"' in page
    assert 'href="../minibook-en.pdf"' in page


def test_colab_links_resolve_to_the_notebooks_tree(built_book):
    root, _ = built_book
    site, tree = root / '_build/site', root / '_build/colab'
    prefix = 'https://colab.example.org/'      # the fixture's colab_url is this + {lang}/{path}.ipynb
    pages = {p: read(p) for p in site.rglob('*.html')}
    links = [link for text in pages.values() for link in re.findall(r'class="d2l-colab" href="([^"]+)"', text)]
    assert len(links) == 4 * 3                 # each section (preface, chapter, arrays) in each edition
    for link in links:
        assert link.startswith(prefix), link
        notebook = tree / link[len(prefix):]
        assert notebook.is_file(), link
        nbformat.validate(nbformat.read(notebook, as_version=4))
    # the references page is no section: no notebook, Colab or discussion link
    assert 'd2l-notebook' not in pages[site / 'en/references.html']
    assert 'd2l-colab' not in pages[site / 'en/references.html']


def test_japanese_page_is_localized(built_book):
    root, _ = built_book
    page = page_text(root / '_build/site/ja/chapter_basics/arrays.html')
    assert '配列と図' in page and '図 1.1' in page
    fallback = read(root / '_build/site/ja/chapter_preface.html')
    assert 'この節はまだ翻訳されていません' in fallback       # English text with a notice


@pytest.mark.pdf
def test_pdfs(built_book):
    root, _ = built_book
    en = pdf_text(root / '_build/site/en/minibook-en.pdf')
    ja = pdf_text(root / '_build/site/ja/minibook-ja.pdf')
    assert 'Arrays and Plots' in en and 'price' in en and 'total: 66' in en
    assert '1.1 Arrays and Plots' in en              # numbered like the HTML; preface is not
    assert '1 Preface' not in en
    assert 'Discuss: https://example.org/discuss/en/chapter_basics/arrays' in en   # next to its QR code
    assert 'Fig. 1.1' in en and '(1.1)' in en       # figure and equation numbers as in the HTML
    assert 'Contents' in en.split('Preface')[0]      # table of contents before the front matter
    images = subprocess.run(['pdfimages', '-list', str(root / '_build/site/en/minibook-en.pdf')],
                            capture_output=True, text=True, check=True).stdout
    assert len(images.splitlines()) >= 3            # header lines + the plot (the SVG figure is vector)
    assert '配列と図' in ja and '参考文献' in ja and '目次' in ja
    zh = pdf_text(root / '_build/site/zh/minibook-zh.pdf')
    ko = pdf_text(root / '_build/site/ko/minibook-ko.pdf')
    assert '数组与绘图' in zh and '目录' in zh
    assert '배열과' in ko and '목차' in ko
    for lang in ('en', 'ja', 'zh', 'ko'):
        log = read(root / f'_build/{lang}/latex/minibook-{lang}.log')
        assert 'Missing character' not in log


def test_notebooks_zip_is_runnable_shape(built_book):
    root, _ = built_book
    with zipfile.ZipFile(root / '_build/site/ja/minibook-ja-notebooks.zip') as z:
        names = z.namelist()
        assert 'minibook-ja/chapter_basics/arrays.ipynb' in names
        nb = nbformat.reads(z.read('minibook-ja/chapter_basics/arrays.ipynb').decode(), as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == 'code']
    assert code[0].source.startswith('# 12 個の数を足す') and code[0].outputs


def test_rebuild_executes_nothing(built_book):
    root, _ = built_book
    result = run_build(root, 'html')
    assert result.returncode == 0, result.stderr
    assert executed_count(result.stdout) == 0


def test_prose_edit_executes_nothing_and_code_edit_one(tmp_path):
    root = copy_book(tmp_path)
    first = run_build(root, 'execute', '--lang', 'en')
    assert first.returncode == 0, first.stderr
    assert executed_count(first.stdout) == 1
    section = root / 'chapters/en/chapter_basics/arrays.md'
    section.write_text(read(section).replace('We add numbers', 'We now add numbers')
                       .replace('# sum twelve numbers', '# add up twelve numbers'), encoding='utf-8')
    prose = run_build(root, 'execute', '--lang', 'en')
    assert executed_count(prose.stdout) == 0
    ja = run_build(root, 'execute', '--lang', 'ja')      # same code as English: reused
    assert ja.returncode == 0, ja.stderr
    assert executed_count(ja.stdout) == 0
    section.write_text(read(section).replace('np.arange(12)', 'np.arange(13)'), encoding='utf-8')
    code = run_build(root, 'execute', '--lang', 'en')
    assert executed_count(code.stdout) == 1


def test_check_reports_translation_status(tmp_path):
    root = copy_book(tmp_path)
    result = run_build(root, 'check')
    assert result.returncode == 0, result.stderr
    assert 'ja: 2 missing, 0 stale, 0 orphan' in result.stdout
    assert 'ko: 3 missing, 0 stale, 0 orphan' in result.stdout
    section = root / 'chapters/en/chapter_basics/arrays.md'
    section.write_text(read(section) + '\nOne more sentence.\n', encoding='utf-8')
    result = run_build(root, 'check')
    assert 'ja: 2 missing, 1 stale, 0 orphan' in result.stdout
    assert 'stale: chapters/ja/chapter_basics/arrays.md' in result.stdout
