"""Translations never block English authors: when English moves on, translated pages still build,
say what changed, and ``check`` tells the translator what to carry over. End-to-end on the fixture book."""
import fcntl
import json
import os
import subprocess
import sys

import pytest

from bookbuild import changes, translations
from bookbuild.markdown import split_cells
from conftest import ROOT, copy_book, run_build
from test_build import page_text, read
from test_faults import assert_fails, edit, line_of

EN = 'chapters/en/chapter_basics/arrays.md'
JA = 'chapters/ja/chapter_basics/arrays.md'
JA_PAGE = '_build/site/ja/chapter_basics/arrays.html'
STALE = 'この節の翻訳は英語版の最新の改訂に追いついていません'
STRUCTURE = 'この節は翻訳の後に英語版でコードセルやラベルの構成が変わったため'


def build_ja(root, *args):
    result = run_build(root, 'html', '--lang', 'ja', *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return page_text(root / JA_PAGE), read(root / JA_PAGE)


def check_ja(root):
    result = run_build(root, 'check', '--lang', 'ja')
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_english_prose_edit(tmp_path):
    root = copy_book(tmp_path)
    edit(root, EN, 'We add numbers', 'We now add numbers')
    text, page = build_ja(root)
    assert '配列と図' in text and 'pandas で作った表' in text           # the translation's own prose
    assert STALE in text and 'コードは英語版の最新のものです' not in text
    assert 'href="../../en/chapter_basics/arrays.html"' in page         # the notice links to English
    # the changed paragraph is listed in the notice and marked right before its translation
    change = '英語版で変更された段落: We now add numbers, as in eq_sum, following Rumelhart1986.'
    assert text.count(change) == 2
    notice = text.index(change)
    assert notice < text.index(change, notice + 1) < text.index('のように数を足します')
    assert '# 12 個の数を足す' in text and 'total: 66' in text
    out = check_ja(root)
    assert 'ja: 2 missing, 1 stale, 0 orphan' in out
    assert (f'paragraph changed ({EN}:4, translation at {JA}:4):\n'
            '        - We add numbers, as in :eqref:`eq_sum`, following :cite:`Rumelhart1986`.\n'
            '        + We now add numbers, as in :eqref:`eq_sum`, following :cite:`Rumelhart1986`.\n') in out
    assert f'once carried over: python3 build.py translated --lang ja {JA}' in out


def test_english_code_edit(tmp_path):
    root = copy_book(tmp_path)
    edit(root, EN, "'price': [10.5, 20.25, 30.0]", "'price': [10.5, 20.25, 99.5]")
    text, _ = build_ja(root)
    assert '配列と図' in text and 'pandas で作った表' in text
    assert STALE in text and 'コードは英語版の最新のものです' in text
    assert "英語版で変更されたコードセル: pd.DataFrame({'size': [1, 2, 3], 'price': [10.5," in text
    assert '99.5' in text.split('pandas で作った表')[1]             # the current English code and its output
    assert '# 12 個の数を足す' in text and 'total: 66' in text     # unchanged cell: translated comment kept
    out = check_ja(root)
    assert f'code cell changed ({EN}:25, translation at {JA}:25):' in out
    assert "+ pd.DataFrame({'size': [1, 2, 3], 'price': [10.5, 20.25, 99.5]})" in out


def test_added_english_cell_falls_back_to_english(tmp_path):
    root = copy_book(tmp_path)
    edit(root, EN, 'A plot:', "A new cell:\n\n```{.python .input}\nprint('brand new cell')\n```\n\nA plot:")
    # another translated page refers to the section that now falls back
    edit(root, 'chapters/ja/index.md', 'ビルドを試すための本です。', 'ビルドを試すための本です。:numref:`sec_arrays` を参照。')
    text, page = build_ja(root)
    assert STRUCTURE in text
    assert 'Arrays and Plots' in text and 'We add numbers' in text and '配列と図' not in text
    assert 'brand new cell' in text and 'total: 66' in text
    assert 'ノートブックをダウンロード' in text and '図 1.1' in text          # the edition's furniture
    index = read(root / '_build/site/ja/index.html')
    assert 'href="chapter_basics/arrays.html#sec-arrays"' in index           # the reference resolves
    out = check_ja(root)
    assert ('the page shows the English section until the translation follows it: '
            'the English section has 4 code cells, the translation 3') in out
    assert f"code cell added ({EN}:32, translation before {JA}:29):\n        + print('brand new cell')" in out


def test_added_english_label_falls_back_to_english(tmp_path):
    root = copy_book(tmp_path)
    edit(root, EN, '## Summary\n', '## Summary\n:label:`sec_arrays_summary`\n')
    edit(root, 'chapters/en/chapter_preface.md', 'is :numref:`chap_basics`.', 'is :numref:`chap_basics`, '
         'summed up in :numref:`sec_arrays_summary`.')
    text, _ = build_ja(root)
    assert STRUCTURE in text and 'Arrays add up.' in text and '配列は足し合わせられます' not in text
    preface = read(root / '_build/site/ja/chapter_preface.html')
    assert 'href="chapter_basics/arrays.html#sec-arrays-summary"' in preface
    out = check_ja(root)
    assert 'the page shows the English section until the translation follows it: ' \
           'label "sec_arrays_summary" was added in English' in out


def test_translators_code_edit_is_an_error(tmp_path):
    root = copy_book(tmp_path)
    edit(root, EN, 'We add numbers', 'We now add numbers')            # stale ...
    path = edit(root, JA, 'np.arange(12)', 'np.arange(10)')          # ... and the translator edits code
    result = run_build(root, 'html', '--lang', 'ja')
    assert_fails(result, f'{path}:{line_of(path, "# 12 個")}: code cell differs from the English one at '
                         f'arrays.md:{line_of(root / EN, "# sum twelve")} and from the English text the '
                         'translation was recorded against')
    assert not (root / JA_PAGE).exists()
    # recording such a translation is refused too, and the lock stays as it was
    lock = read(root / 'translations.lock')
    result = run_build(root, 'translated', '--lang', 'ja', JA)
    assert result.returncode != 0 and f'{path}:{line_of(path, "# 12 個")}: code cell differs' in result.stderr
    assert read(root / 'translations.lock') == lock


def test_strict_mode(tmp_path):
    root = copy_book(tmp_path)
    edit(root, EN, 'We add numbers', 'We now add numbers')
    text, page = build_ja(root)
    assert STALE in text
    ja = root / JA
    result = run_build(root, 'html', '--lang', 'ja', '--strict-translations', '--keep-going')
    assert_fails(result, f'{ja}:4: stale translation: {root / EN} changed since the translation was recorded',
                 f'{root}/chapters/ja/chapter_preface.md:1: no translation of {root}/chapters/en/chapter_preface.md')
    assert read(root / JA_PAGE) == page                    # the published site was left as it was
    edit(root, 'config.ini', '[build]', '[build]\nstrict_translations = yes')
    assert_fails(run_build(root, 'check', '--lang', 'ja', '--keep-going'), f'{ja}:4: stale translation')
    # the translator carries the change over and records it: strict builds pass again
    edit(root, JA, ':eqref:`eq_sum` のように数を足します', ':eqref:`eq_sum` のようにさらに数を足します')
    for lang_file in ('chapters/ja/chapter_basics/index.md', 'chapters/ja/chapter_preface.md'):
        (root / lang_file).write_text(read(root / lang_file.replace('/ja/', '/en/')), encoding='utf-8')
    result = run_build(root, 'translated', '--lang', 'ja')
    assert result.returncode == 0, result.stderr
    text, _ = build_ja(root)
    assert STALE not in text and 'さらに数を足します' in text


def test_failing_cell_added_to_english_is_reported_in_english(tmp_path):
    root = copy_book(tmp_path)
    en = edit(root, EN, 'A plot:', "Divide:\n\n```{.python .input}\nprint(1 / 0)\n```\n\nA plot:")
    result = run_build(root, 'html', '--lang', 'en,ja', '--keep-going')
    assert_fails(result, 'build failed with 1 problem(s)',
                 f'{en}:{line_of(en, "print(1 / 0)")}: code cell failed with ZeroDivisionError: division by zero')
    assert 'code cells, the English section has' not in result.stderr
    assert not (root / JA_PAGE).exists()
    result = run_build(root, 'execute', '--lang', 'ja')     # the translation alone: still the English file
    assert_fails(result, f'{en}:{line_of(en, "print(1 / 0)")}: code cell failed with ZeroDivisionError')


def test_notices_do_not_shift_line_numbers(tmp_path):
    root = copy_book(tmp_path)
    edit(root, EN, 'We add numbers', 'We now add numbers')
    path = edit(root, JA, ':eqref:`eq_sum` のように', ':numref:`sec_nowhere` と :eqref:`eq_sum` のように')
    result = run_build(root, 'check', '--lang', 'ja')
    assert_fails(result, f'{path}:4: unknown label "sec_nowhere" in :numref:')


def test_translated_waits_for_the_build_lock_and_writes_atomically(tmp_path):
    root = copy_book(tmp_path)
    edit(root, EN, 'We add numbers', 'We now add numbers')
    old_base = root / 'translations.base/chapter_basics/arrays.8d9c31ae8f2d97f1.md'
    assert old_base.is_file()
    (root / '_build').mkdir()
    with open(root / '_build/.lock', 'a+') as held:
        fcntl.flock(held, fcntl.LOCK_EX)          # a build is running
        proc = subprocess.Popen([sys.executable, '-u', '-m', 'bookbuild', 'translated', '--lang', 'ja', JA,
                                 '--root', str(root)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                                env={**os.environ, 'PYTHONPATH': str(ROOT)})
        assert proc.stdout.readline().startswith('another build is running on this tree; waiting')
        assert json.loads(read(root / 'translations.lock'))['ja']['chapter_basics/arrays.md'] == '8d9c31ae8f2d97f1'
    assert proc.wait(timeout=60) == 0
    digest = translations.file_hash(root / EN)
    assert json.loads(read(root / 'translations.lock'))['ja']['chapter_basics/arrays.md'] == digest
    assert (root / f'translations.base/chapter_basics/arrays.{digest}.md').read_bytes() == (root / EN).read_bytes()
    assert old_base.is_file()                      # zh and ko still follow the older English text
    assert 'ja: 2 missing, 0 stale, 0 orphan' in check_ja(root)
    assert not list(root.glob('.translations.lock.*'))


def test_lock_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / 'translations.lock'
    path.write_text('{"ja": {}}\n')

    def crash(*args):
        raise OSError('disk full')
    monkeypatch.setattr(os, 'replace', crash)
    with pytest.raises(OSError):
        translations.write_atomically(path, b'{"half": ')
    assert path.read_text() == '{"ja": {}}\n' and os.listdir(tmp_path) == ['translations.lock']


# ---- the comparison itself ----------------------------------------------------------------------

SECTION = '''# Title
:label:`sec_t`

First paragraph
over two lines.

$$a = b

+ c$$
:eqlabel:`eq_a`

```{.python .input}
x = 1  # one
```

```toc
a
```

Last.
'''


def units(text):
    return changes.units(split_cells(text))


def test_units_split_paragraphs_cells_and_tocs():
    got = [(u.kind, u.line) for u in units(SECTION)]
    assert got == [('prose', 1), ('prose', 4), ('prose', 7), ('code', 13), ('toc', 16), ('prose', 20)]


def test_diff_per_paragraph_and_cell():
    new = SECTION.replace('over two lines', 'over\ntwo lines').replace('x = 1  # one', 'x = 2  # one') \
                 .replace('Last.', 'Last.\n\nAdded.')
    found, _ = changes.diff(units(SECTION), units(new))
    assert [(c.kind, c.status) for c in found] == [('code', 'changed'), ('prose', 'added')]  # rewrapping is no change
    assert changes.excerpt(found[0]) == 'x = 2  # one'


def test_structure_changes():
    old, tr = units(SECTION), units(SECTION.replace('First paragraph', 'Erster Absatz').replace('# one', '# eins'))
    assert changes.structure_change(tr, units(SECTION.replace('x = 1', 'x = 3')), old) == ''
    moved = SECTION.replace('```{.python .input}\nx = 1  # one\n```\n', '').replace('Last.', 'Last.\n\n```{.python .input}\nx = 1\n```')
    assert changes.structure_change(tr, units(moved), old) == 'code cells were moved in the English section'
    relabeled = SECTION.replace(':eqlabel:`eq_a`\n', '').replace('Last.', 'Last.\n:label:`eq_a`')
    assert changes.structure_change(tr, units(relabeled), old) == 'label "eq_a" was moved in English'
    two = SECTION.replace('Last.', '```{.python .input}\ny = 2\n```')
    assert changes.structure_change(tr, units(two), old) == 'the English section has 2 code cells, the translation 1'


def test_code_edits_matching_neither_english_are_reported():
    old = units(SECTION)
    new = units(SECTION.replace('x = 1', 'x = 2'))
    assert changes.code_problems(units(SECTION.replace('# one', '# eins')), new, old, 'en.md') == []
    assert changes.code_problems(units(SECTION.replace('x = 1  # one', 'x = 2  # zwei')), new, old, 'en.md') == []
    assert changes.code_problems(units(SECTION.replace('x = 1', 'x = 5')), new, old, 'en.md') == [
        (13, 'code cell differs from the English one at en.md:13 and from the English text the translation '
             'was recorded against')]
