"""Rendering and publishing: only current outputs that passed their checks are published; every
output is rebuilt exactly when something it depends on changed; Sphinx warnings name Markdown lines."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT, copy_book, edit, run_build

ARRAYS = 'chapters/en/chapter_basics/arrays.md'


def pdf_text(path):
    return subprocess.run(['pdftotext', str(path), '-'], capture_output=True, text=True, check=True).stdout


def ok(result):
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.pdf
def test_html_then_pdf_publishes_both_and_the_landing_page_only_built_editions(tmp_path):
    root = copy_book(tmp_path)
    site = root / '_build/site'
    out = ok(run_build(root, 'html', '--lang', 'en'))
    assert 'publish: no en PDF to publish (it was never built)' in out
    landing = (site / 'index.html').read_text(encoding='utf-8')
    assert 'href="en/index.html"' in landing
    assert 'ja/index.html' not in landing and 'hreflang="ja"' not in landing and '"ja"' not in landing
    assert not (site / 'ja').exists()
    page = (site / 'en/chapter_basics/arrays.html').read_bytes()
    assert linked_editions(page.decode()) == ['en']       # the language bar and the alternates
    ok(run_build(root, 'pdf', '--lang', 'en'))
    assert (site / 'en/chapter_basics/arrays.html').read_bytes() == page
    assert 'Arrays and Plots' in pdf_text(site / 'en/minibook-en.pdf')
    # ja is built now and en carried over: the ja pages link both, and no edition the site lacks
    ok(run_build(root, 'html', '--lang', 'ja'))
    assert linked_editions((site / 'ja/chapter_basics/arrays.html').read_text(encoding='utf-8')) == ['en', 'ja']
    assert (site / 'en/chapter_basics/arrays.html').read_bytes() == page


def linked_editions(page):
    """The editions a section page links to: its language bar and its hreflang alternates must agree."""
    bar = re.search(r'<nav class="d2l-bar">.*?</nav>', page, re.S).group(0)
    codes = re.findall(r'href="(?:\.\./)+(\w\w)/chapter_basics/arrays\.html" hreflang="\1"', bar)
    alternates = re.findall(r'<link rel="alternate" hreflang="(\w\w)" href="(?:\.\./)+\1/chapter_basics/', page)
    assert codes == alternates, (codes, alternates)
    return codes


@pytest.mark.pdf
def test_korean_pdf_is_clean_under_strict(tmp_path):
    """xeCJK typesets Korean without Babel, so Sphinx must not warn that Babel does not know 'ko'."""
    root = copy_book(tmp_path)
    ok(run_build(root, 'pdf', '--lang', 'ko', '--strict'))
    assert 'Babel' not in (root / '_build/ko/sphinx-latex.log').read_text(encoding='utf-8')
    assert '배열과' in pdf_text(root / '_build/site/ko/minibook-ko.pdf')


@pytest.mark.pdf
def test_pdf_that_fails_its_checks_is_never_published(tmp_path):
    root = copy_book(tmp_path)
    site = root / '_build/site'
    ok(run_build(root, 'all', '--lang', 'en'))
    # A script no configured font has: xelatex writes a PDF with holes and exits 0.
    edit(root, ARRAYS, 'We add numbers', 'We add Ethiopic ሀ numbers')
    failed = run_build(root, 'all', '--lang', 'en')
    assert failed.returncode != 0
    assert 'the PDF is missing 1 glyph(s): ሀ' in failed.stderr
    assert (root / '_build/en/latex/minibook-en.pdf').is_file()      # there, but not current
    out = ok(run_build(root, 'html', '--lang', 'en'))
    assert 'publish: en PDF carried over from the previous site (the one in ' in out
    assert 'Ethiopic' in (site / 'en/chapter_basics/arrays.html').read_text(encoding='utf-8')
    assert 'Ethiopic' not in pdf_text(site / 'en/minibook-en.pdf')
    # Back to the sources of the published PDF: the failed one must not pass for current.
    edit(root, ARRAYS, 'We add Ethiopic ሀ numbers', 'We add numbers')
    out = ok(run_build(root, 'all', '--lang', 'en'))
    assert 'en: pdf unchanged' not in out
    assert 'Ethiopic' not in pdf_text(site / 'en/minibook-en.pdf')
    assert 'Ethiopic' not in (site / 'en/chapter_basics/arrays.html').read_text(encoding='utf-8')


@pytest.mark.pdf
def test_each_output_is_rebuilt_exactly_when_its_inputs_change(tmp_path):
    root = copy_book(tmp_path)
    shutil.copytree(ROOT / 'static', root / 'static')     # the book's own theme assets
    site = root / '_build/site'
    ok(run_build(root, 'all', '--lang', 'en'))
    css = root / 'static/book.css'
    css.write_text(css.read_text() + '\n.d2l-test-rule { color: red; }\n')
    out = ok(run_build(root, 'all', '--lang', 'en'))
    assert 'en: pdf unchanged' in out and 'en: html unchanged' not in out
    assert '.d2l-test-rule' in (site / 'en/_static/book.css').read_text()
    edit(root, 'config.ini', 'https://example.org/discuss/', 'https://forum.example.net/t/')
    edit(root, 'references.bib', 'Learning representations', 'Learning internal representations')
    out = ok(run_build(root, 'all', '--lang', 'en'))
    assert 'en: pdf unchanged' not in out and 'en: html unchanged' not in out
    text = pdf_text(site / 'en/minibook-en.pdf')
    assert 'https://forum.example.net/t/en/chapter_basics/arrays' in text
    assert 'Learning internal representations' in ' '.join(text.split())
    assert 'forum.example.net/t/en/chapter_basics/arrays' in \
        (site / 'en/chapter_basics/arrays.html').read_text(encoding='utf-8')


def test_sphinx_warnings_name_the_markdown_line_and_strict_fails_on_them(tmp_path):
    root = copy_book(tmp_path)
    path = edit(root, ARRAYS, ':numref:`fig_arrow` shows an arrow.',
                ':numref:`fig_arrow` shows an arrow.\n\n```eval_rst\nSome **strong text that never ends.\n```')
    line = path.read_text(encoding='utf-8').splitlines().index('Some **strong text that never ends.') + 1
    warning = f'{path}:{line}: Inline strong start-string without end-string. (Sphinx html, arrays.rst:'
    out = ok(run_build(root, 'html', '--lang', 'en'))
    assert warning in out
    link = os.readlink(root / '_build/site')
    strict = run_build(root, 'html', '--lang', 'en', '--strict')     # html is current: warnings replayed
    assert strict.returncode != 0
    assert 'en: html unchanged' in strict.stdout
    assert warning in strict.stderr and 'the published site was left as it was' in strict.stderr
    assert os.readlink(root / '_build/site') == link
