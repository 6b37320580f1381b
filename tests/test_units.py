"""Unit tests of the pipeline's stages."""
import textwrap
from pathlib import Path

import nbformat
import pytest

from bookbuild import config, library, markdown, toc
from bookbuild import keys
from bookbuild.cache import Cache
from bookbuild.environment import Environment
from bookbuild.errors import BuildError, Collector
from bookbuild.execute import truncate_outputs
from bookbuild.notebooks import code_signature, resource_hint
from bookbuild.outputs import tables_as_rst
from bookbuild.publish import colab_tree_path
from bookbuild.render import unnumber_chapters


def test_split_cells_keeps_line_numbers():
    text = '# Title\n:label:`sec_x`\n\nProse.\n\n```{.python .input}\nx = 1\ny = 2\n```\n\nMore prose.\n'
    cells = markdown.split_cells(text)
    assert [c.kind for c in cells] == ['markdown', 'code', 'markdown']
    assert cells[0].line == 1
    assert cells[1].line == 7 and cells[1].source == 'x = 1\ny = 2'
    assert cells[2].line == 11


def test_other_fences_stay_in_prose():
    cells = markdown.split_cells('Text\n\n```python\nnot run\n```\n\n```toc\na\n```\n')
    assert [c.kind for c in cells] == ['markdown']


def test_invalid_utf8_names_the_line(tmp_path):
    path = tmp_path / 'bad.md'
    path.write_bytes(b'# ok\n\nline three \xff\n')
    with pytest.raises(BuildError) as e:
        markdown.read_text(path)
    assert f'{path}:3: invalid UTF-8' in str(e.value)


def test_code_signature_ignores_comments_only():
    a = 'x = 1  # one\n# a comment\ny = x + 1\n'
    b = 'x = 1  # 一\n# コメント\ny = x + 1\n'
    assert code_signature(a) == code_signature(b)
    assert code_signature(a) != code_signature('x = 2\ny = x + 1\n')
    assert code_signature("print('# not a comment')") != code_signature("print('# other')")


def _key(code, library='', mxnet='mxnet 1.9.1', devices='cpu'):
    env = Environment('3.11.7', 'x86_64', {'numpy': '1.23.5'}, {'mxnet': mxnet}, [])
    return keys.base_key(keys.parts(code, 'python3', library, env, devices))


def test_cache_key_depends_on_library_only_when_used():
    plain, uses = ['x = 1'], ['from d2l import mxnet as d2l']
    assert _key(plain, 'lib v1') == _key(plain, 'lib v2')
    assert _key(uses, 'lib v1') != _key(uses, 'lib v2')
    assert _key(plain) != _key(plain, mxnet='mxnet-cu112 1.9.1')
    assert _key(plain) != _key(plain, devices='1 x NVIDIA H200')
    assert _key(['x = 1  # one']) == _key(['x = 1  # 一'])


def test_cache_miss_reasons_name_what_changed():
    env = Environment('3.11.7', 'x86_64', {'numpy': '1.23.5'}, {'mxnet': 'mxnet 1.9.1'}, [])
    old = {**keys.parts(['x = 1', 'y = 2'], 'python3', '', env, 'cpu'), 'reads': {'data/a.csv': '1'}}
    env.packages['numpy'] = '1.24.0'
    new = {**keys.parts(['x = 1', 'y = 3'], 'python3', '', env, 'cpu'), 'reads': {}}
    assert keys.explain(old, new, [4, 9]) == ['code cell 2 (line 9) changed', 'packages: numpy 1.23.5 -> 1.24.0']
    same = {**keys.parts(['x = 1', 'y = 3'], 'python3', '', env, 'cpu'), 'reads': {'data/a.csv': '2'}}
    assert keys.explain({**same, 'reads': {'data/a.csv': '1'}}, same) == ['data/a.csv changed']


def test_corrupt_cache_entry_is_dropped(tmp_path):
    cache = Cache(tmp_path)
    cache.put('ab' * 32, [[{'output_type': 'stream', 'name': 'stdout', 'text': 'hi'}]], 1.0, 'sec')
    assert cache.get('ab' * 32).outputs[0][0]['text'] == 'hi'
    path = next(tmp_path.glob('*/*.json'))
    path.write_text(path.read_text()[:20])   # truncated
    assert cache.get('ab' * 32) is None
    assert cache.dropped == ['ab' * 32] and not path.exists()


def test_saved_blocks():
    whole = '#@save\nimport os\ndef f():\n    pass'
    assert library.saved_blocks(whole) == ['import os\ndef f():\n    pass']
    mixed = 'import time\n\ndef g(x):  #@save\n    """Doc."""\n    return x\n\ndef h():\n    pass\n'
    assert library.saved_blocks(mixed) == ['def g(x):  #@save\n    """Doc."""\n    return x']
    decorated = '@d2l.add_to_class(d2l.A)  #@save\ndef m(self):\n    return d2l.B()\n'
    (block,) = library.saved_blocks(decorated)
    assert library._strip_marks(block) == '@add_to_class(A)\ndef m(self):\n    return B()'


def test_dataframe_html_becomes_a_rest_table():
    html = ('<table class="dataframe"><thead><tr><th></th><th>total_a</th><th>b</th></tr></thead>'
            '<tbody><tr><th>0</th><td>1</td><td>x|y</td></tr></tbody></table>')
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('df')])
    nb.cells[0].outputs = [nbformat.v4.new_output('execute_result', {'text/html': html, 'text/plain': 'df'})]
    tables_as_rst(nb)
    assert nb.cells[0].outputs == [] and nb.cells[1].cell_type == 'markdown'
    assert nb.cells[1].source.splitlines()[5:] == [
        '   * - \\ ', '     - total\\_a', '     - b', '   * - 0', '     - 1', '     - x\\|y', '```']


def test_truncate_long_outputs():
    (out,) = truncate_outputs([{'output_type': 'stream', 'name': 'stdout', 'text': 'x' * 3_000_000}])
    assert len(out['text']) < 30_000 and 'output truncated' in out['text']


def test_resource_hint():
    cells = markdown.split_cells('# T\n<!-- resources: gpus=2 -->\n')
    assert resource_hint(cells) == {'gpus': 2}


def _write_config(tmp_path, body):
    (tmp_path / 'config.ini').write_text(textwrap.dedent(body))
    return tmp_path


def test_config_defaults(tmp_path):
    root = _write_config(tmp_path, '''
        [project]
        name = b
        title = B
        author = A
        release = 1
        [build]
        languages = en, ja
    ''')
    c = config.load(root)
    assert c.languages == ['en', 'ja'] and c.bibfile == root / 'references.bib' and c.timeout == 600
    assert c.colab_url == '' and c.discuss_url == ''          # no Colab or discussion links unless set


def test_config_link_template_needs_a_path(tmp_path):
    root = _write_config(tmp_path, '[project]\nname = b\ntitle = B\nauthor = A\nrelease = 1\n'
                                   '[build]\nlanguages = en\n[html]\ncolab_url = https://x.org/{lang}.ipynb\n')
    with pytest.raises(BuildError, match=r'config.ini:9: \[html\] colab_url has no \{path\}'):
        config.load(root)


def test_colab_tree_path():
    github = 'https://colab.research.google.com/github/org/nb/blob/main/book/{lang}/{path}.ipynb'
    assert colab_tree_path(github) == 'book/{lang}/{path}.ipynb'     # the path inside the repository
    assert colab_tree_path('https://colab.example.org/v1/{lang}/{path}.ipynb') == '{lang}/{path}.ipynb'


def test_config_unknown_language(tmp_path):
    root = _write_config(tmp_path, '[project]\nname = b\ntitle = B\nauthor = A\nrelease = 1\n'
                                   '[build]\nlanguages = en, xx\n')
    with pytest.raises(BuildError, match=r'config.ini:7: unknown language "xx"'):
        config.load(root)


def test_config_missing_key(tmp_path):
    root = _write_config(tmp_path, '[project]\nname = b\ntitle = B\nrelease = 1\n[build]\nlanguages = en\n')
    with pytest.raises(BuildError, match=r'config.ini:1: missing required key "author" in \[project\]'):
        config.load(root)


def test_toc_reports_missing_file_and_unreachable(tmp_path):
    (tmp_path / 'index.md').write_text('# B\n\n```toc\n:maxdepth: 1\n\na\nmissing\n```\n')
    (tmp_path / 'a.md').write_text('# A\n')
    (tmp_path / 'lost.md').write_text('# Lost\n')
    problems = Collector(keep_going=True)
    order = toc.sections(tmp_path, problems)
    assert order == ['index', 'a']
    assert [str(p) for p in problems.problems] == [
        f'{tmp_path}/index.md:7: toc entry "missing" names a missing file missing.md']
    assert toc.unreachable(tmp_path, order) == ['lost.md']


def test_unnumber_chapters(tmp_path):
    tex = tmp_path / 'b.tex'
    tex.write_text('\\begin{document}\n\\chapter{Preface}\n\\section{Why}\n\\chapter{Intro}\n\\section{A}\n'
                   '\\chapter{References}\n\\chapter{Appendix}\n\\end{document}\n')
    unnumber_chapters(tex, 1, 1, 'References')
    text = tex.read_text()
    assert '\\chapter*{Preface}\\addcontentsline{toc}{chapter}{Preface}' in text
    assert '\\section*{Why}' in text and '\\section{A}' in text and '\\chapter{Intro}' in text
    assert '\\chapter*{Appendix}' in text and 'References' not in text


def test_display_math_is_joined_outside_fences():
    from bookbuild.outputs import one_line_math
    text = 'A\n\n$$\na = b\n+ c.\n$$\n:eqlabel:`eq_a`\n\n```python\n$$\nx\n$$\n```\n'
    assert one_line_math(text) == 'A\n\n$$a = b + c.$$\n:eqlabel:`eq_a`\n\n```python\n$$\nx\n$$\n```\n'


def test_no_gap_between_references_and_fullwidth_punctuation():
    from bookbuild.outputs import tight_fullwidth_punctuation
    text = ('见 :numref:`sec_a` 。模型（ :cite:`Key2015` ）用 `net` ，\n\n'
            '```python\nx = `a` 。\n```\n在 :numref:`sec_b` 中 (see :eqref:`eq_c` ).')
    assert tight_fullwidth_punctuation(text) == (
        '见 :numref:`sec_a`。模型（:cite:`Key2015`）用 `net`，\n\n'
        '```python\nx = `a` 。\n```\n在 :numref:`sec_b` 中 (see :eqref:`eq_c` ).')


def test_emphasis_around_inline_math_is_dropped():
    from bookbuild.outputs import plain_emphasized_math
    text = ('The *$n$-dimensional array* and *tensors*, **$K$-fold\ncross-validation**;\n\n'
            '* $K$-fold is a list item\n\n$$x^* = *y*$$ and `*$a$*`')
    assert plain_emphasized_math(text) == (
        'The $n$-dimensional array and *tensors*, $K$-fold\ncross-validation;\n\n'
        '* $K$-fold is a list item\n\n$$x^* = *y*$$ and `*$a$*`')
    assert plain_emphasized_math('이 *상위 $k$ 정확도*를 구현') == '이 상위 $k$ 정확도를 구현'
    ja = '*行列*とは、$m$ 行の格子です。行列の*転置* $A^\\top$ と*$n$ 次元配列*であり'
    assert plain_emphasized_math(ja) == '*行列*とは、$m$ 行の格子です。行列の*転置* $A^\\top$ と$n$ 次元配列であり'
    assert plain_emphasized_math('*a `c` b* $x$ *d* and *`k` is $k$*') == '*a `c` b* $x$ *d* and `k` is $k$'


def test_one_fence_parser_for_cells_toc_and_references():
    text = ('Prose\n\n````md\n```{.python .input}\nnot code\n```\n````\n\n```toc\n:maxdepth: 1\n\na\n```\n\n'
            '```{.python .input}\nx = 1\n```\n\n```eval_rst\n:label:`hidden`\n')
    found = [(f.start, f.end, f.info, f.closed) for f in markdown.fences(text.split('\n'))]
    assert found == [(2, 6, 'md', True), (8, 12, 'toc', True), (14, 16, '{.python .input}', True),
                     (18, 20, 'eval_rst', False)]
    assert [(c.kind, c.line) for c in markdown.split_cells(text)] == [('markdown', 1), ('code', 16), ('markdown', 19)]
    problems = Collector(keep_going=True)
    (block,) = toc.parse_toc_blocks(text, Path('x.md'), problems)
    assert block.entries == [('a', 12)] and block.options == {'maxdepth': '1'} and not problems.problems
    from bookbuild.references import _without_fences
    assert _without_fences('a\n```\n:label:`x`\n```\nb') == 'a\n\n\n\nb'


def test_toc_is_read_once_with_front_and_back_matter(tmp_path):
    (tmp_path / 'index.md').write_text('# B\n\n```toc\npreface\n```\n\n```toc\n:numbered:\n\nch\n```\n\n'
                                       '```toc\nappendix\nnotes\n```\n')
    for name in ('preface', 'ch', 'appendix', 'notes'):
        (tmp_path / f'{name}.md').write_text(f'# {name}\n')
    assert toc.read(tmp_path) == toc.Toc(['index', 'preface', 'ch', 'appendix', 'notes'], front=1, back=2)


def test_sphinx_warning_of_a_joined_paragraph_names_the_line_of_its_label(tmp_path):
    from bookbuild import linemap
    md = tmp_path / 'lenet.md'
    md.write_text('# LeNet\n\nWe train on a harder data set,\nthrough the data hub of :numref:`sec_data_hub`.\n')
    rst_dir, map_dir = tmp_path / 'rst', tmp_path / 'maps'
    linemap.save(map_dir / 'lenet.json', md, [1, 1, 1, 3])    # the paragraph is one reST line (4)
    stderr = f'{rst_dir}/lenet.rst:4: WARNING: Failed to create a cross reference. Any number is not assigned: sec-data-hub\n'
    (problem,) = linemap.warnings(stderr, rst_dir, map_dir, 'html')
    assert str(problem) == (f'{md}:4: Failed to create a cross reference. Any number is not assigned: sec-data-hub '
                            '(Sphinx html, lenet.rst:4)')
