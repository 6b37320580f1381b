"""Framework tabs (d2lbook 1.0 style, fixture ``tabbook``: tabs mxnet and numpy): cells selected per
tab as d2lbook selects them, one library per tab below its hand-written header, one execution, PDF
and notebook zip per tab, and on the website one remembered choice that every group of tabs follows
(in headless Chromium). The fixture's slide marks are another feature's: nothing here depends on them."""
import os
import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest

from browsing import serving
from conftest import FIXTURES, copy_book, edit, executed_count, run_build
from test_render import pdf_text

from bookbuild import library, tabs
from bookbuild.markdown import split_cells
from bookbuild.notebooks import to_notebook

BOOK = FIXTURES / 'tabbook'
SECTIONS = ['chapter_preface/index', 'chapter_arrays/basics', 'chapter_arrays/plots']
RAW_MARKUP = ('%%tab', '@tab', ':begin_tab:', ':end_tab:', 'load_ext', 'interact_select')


def ok(result):
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def page(text, tab, default='mxnet'):
    return tabs.select(to_notebook(split_cells(text)), tab, default)


def code(nb):
    return [c.source for c in nb.cells if c.cell_type == 'code']


def prose(nb):
    return ' '.join(' '.join(c.source.split()) for c in nb.cells if c.cell_type == 'markdown')


# ---- selection ----------------------------------------------------------------------------------

CELLS = '''# T

```{.python .input}
%load_ext d2lbook.tab
tab.interact_select(['mxnet', 'numpy', 'pytorch'])
```

```{.python .input}
%%tab mxnet
a = 'mx'
```

```{.python .input}
#@tab numpy, pytorch
a = 'np or pt'
```

```{.python .input}
#@tab all
b = a
```

```{.python .input}
c = 'no tab'
```

:begin_tab:`numpy`
Prose for NumPy.

```python
shown = 'a fence inside the block'
```
:end_tab:

Prose for every tab.

```{.python .input}
#@tab all
if tab.selected('mxnet'):
    d = 1
if tab.selected('numpy', 'pytorch'):
    d = 2
e = d
```
'''


def test_cells_are_selected_per_tab():
    mx, np_, pt = (page(CELLS, t) for t in ('mxnet', 'numpy', 'pytorch'))
    assert code(mx) == ["a = 'mx'", 'b = a', "c = 'no tab'", 'd = 1\ne = d']
    assert code(np_) == ["a = 'np or pt'", 'b = a', 'd = 2\ne = d']
    assert code(pt) == code(np_)
    assert 'Prose for NumPy.' in prose(np_) and 'a fence inside the block' in prose(np_)
    assert 'Prose for NumPy.' not in prose(mx) and 'Prose for NumPy.' not in prose(pt)
    for nb in (mx, np_, pt):
        assert 'Prose for every tab.' in prose(nb)
        assert not any(m in c.source for c in nb.cells for m in RAW_MARKUP)


@pytest.mark.parametrize('name', SECTIONS)
@pytest.mark.parametrize('tab', ['mxnet', 'numpy'])
def test_selection_equals_d2lbooks_own(name, tab):
    """The code each tab runs is the code d2lbook 1.0.3 (installed) selects for it."""
    from d2lbook import notebook as d2l_notebook
    text = (BOOK / 'chapters/en' / f'{name}.md').read_text(encoding='utf-8')
    theirs = d2l_notebook.get_tab_notebook(d2l_notebook.split_markdown_cell(d2l_notebook.read_markdown(text)),
                                           tab, 'mxnet')
    ours = page(text, tab)
    assert code(ours) == [c.source.strip() for c in theirs.cells if c.cell_type == 'code']
    assert prose(ours) == prose(theirs)


@pytest.mark.parametrize('body', ['x = 1', '#@tab all\nx = 1'])
def test_a_section_that_does_not_name_a_tab_shows_that_tab_its_prose(body):
    """As d2lbook: 'all' alone does not bring a section into a tab other than the default one."""
    from d2lbook import notebook as d2l_notebook
    text = f'# T\n\nText.\n\n```{{.python .input}}\n{body}\n```\n'
    nb = page(text, 'numpy')
    assert code(nb) == [] and 'Text.' in prose(nb)
    assert d2l_notebook.get_tab_notebook(d2l_notebook.read_markdown(text), 'numpy', 'mxnet') is None
    assert code(page(text, 'mxnet')) == ['x = 1']


def test_merged_page_groups_the_cells_that_differ():
    merged = tabs.merge([page(CELLS, 'mxnet'), page(CELLS, 'numpy')], ['mxnet', 'numpy'])
    text = '\n'.join(c.source for c in merged.cells)
    assert text.count('class="d2l-tabs ') == 2          # a to c with the NumPy prose; d and e
    assert text.count('Prose for every tab.') == 1
    assert len({c['id'] for c in merged.cells}) == len(merged.cells)


# ---- library ------------------------------------------------------------------------------------

def test_each_tab_library_keeps_its_header_and_gets_its_own_saved_code(tmp_path):
    root = copy_book(tmp_path, 'tabbook')
    ok(run_build(root, 'lib', '--check'))
    numpy_lib = (root / 'd2l/numpy.py').read_text(encoding='utf-8')
    mxnet_lib = (root / 'd2l/mxnet.py').read_text(encoding='utf-8')
    header = numpy_lib[:numpy_lib.index(library.MARKER)]
    assert 'USE_NUMPY = True' in header and 'd2l = sys.modules[__name__]' in header
    # the '#@tab all' + '#@save' cell goes in whole, in both
    for text in (numpy_lib, mxnet_lib):
        assert 'from matplotlib_inline import backend_inline' in text and 'def grid_total(g):' in text
        assert '@tab' not in text and '%%' not in text
    assert 'import numpy as np' in numpy_lib and 'mxnet' not in numpy_lib.split(library.MARKER)[1]
    assert 'from mxnet import np, npx' in mxnet_lib
    # the header is the author's: an edit above the marker stays, the part below is regenerated
    edit(root, 'd2l/numpy.py', 'DATA_HUB = dict()', 'DATA_HUB = {"digits": None}')
    edit(root, 'd2l/numpy.py', 'def grid_total(g):', 'def grid_total_edited(g):')
    assert run_build(root, 'lib', '--check').returncode != 0
    ok(run_build(root, 'lib'))
    text = (root / 'd2l/numpy.py').read_text(encoding='utf-8')
    assert 'DATA_HUB = {"digits": None}' in text and 'def grid_total(g):' in text
    assert 'grid_total_edited' not in text
    # the library works: its saved functions find what the saved import cell imported
    proc = subprocess.run([sys.executable, '-c', 'from d2l import numpy as d2l; d2l.use_svg_display(); '
                           'print(d2l.grid_total(d2l.np.ones((2, 3))))'],
                          cwd=root, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == '6.0', proc.stderr


def test_plain_d2lbook_builds_the_chapters_as_they_are(tmp_path):
    """The bar the tabs are built to: d2lbook 1.0.3 itself (tabs = mxnet) makes the library,
    executes every section and renders the website from the fixture's chapters, unedited."""
    book = tmp_path / 'plain'
    shutil.copytree(BOOK / 'chapters/en', book)
    shutil.copytree(BOOK / 'd2l', book / 'd2l')
    (book / 'config.ini').write_text('[project]\nname = tabbook\ntitle = Tabs\nauthor = A\n\n[build]\n'
                                     'tabs = mxnet\n\n[library-mxnet]\nlib_file = d2l/mxnet.py\n')
    proc = subprocess.run([sys.executable, '-c', 'import sys; from d2lbook.main import main; '
                           'sys.argv = ["d2lbook", "build", "lib", "eval", "html"]; main()'],
                          cwd=book, capture_output=True, text=True, timeout=600,
                          env={**os.environ, 'PYTHONPATH': str(book),     # d2lbook calls sphinx-build
                               'PATH': os.pathsep.join([os.path.dirname(sys.executable), os.environ['PATH']])})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lib = (book / 'd2l/mxnet.py').read_text(encoding='utf-8')
    assert 'DATA_HUB = dict()' in lib and 'from matplotlib_inline import backend_inline' in lib
    for name in SECTIONS:
        nb = nbformat.read(book / '_build/eval' / f'{name}.ipynb', as_version=4)
        assert all(o.output_type != 'error' for c in nb.cells if c.cell_type == 'code' for o in c.outputs)
    assert 'made by mxnet' in outputs(nbformat.read(book / '_build/eval/chapter_arrays/basics.ipynb', as_version=4))
    assert (book / '_build/html/chapter_arrays/plots.html').is_file()


# ---- the build ----------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def tab_book(tmp_path_factory):
    root = copy_book(tmp_path_factory.mktemp('tabs'), 'tabbook')
    result = run_build(root, 'html')
    return root, ok(result)


def site_notebook(root, name, tab=None):
    """A published notebook: the default tab's from the site, another tab's from its zip."""
    site = root / '_build/site/en'
    if tab is None:
        return nbformat.read(site / 'notebooks' / f'{name}.ipynb', as_version=4)
    with zipfile.ZipFile(site / f'tabbook-en-{tab}-notebooks.zip') as z:
        return nbformat.reads(z.read(f'tabbook-en-{tab}/{name}.ipynb').decode(), as_version=4)


def outputs(nb):
    return ''.join(o.get('text', '') for c in nb.cells if c.cell_type == 'code' for o in c.outputs)


def test_each_tab_executes_on_its_own_and_is_cached(tab_book):
    root, out = tab_book
    assert executed_count(out) == 6             # three sections, two tabs
    for name in SECTIONS:
        assert f'{name} [numpy]' in out
    assert 'made by mxnet' in outputs(site_notebook(root, 'chapter_arrays/basics'))
    numpy_nb = site_notebook(root, 'chapter_arrays/basics', 'numpy')
    assert 'made by numpy' in outputs(numpy_nb) and 'context:' not in outputs(numpy_nb)
    assert 'total: 14.0' in outputs(site_notebook(root, 'chapter_arrays/plots', 'numpy'))
    os.utime(root / 'config.ini')     # touched, not changed: the build checks every stage, not only the files
    again = ok(run_build(root, 'html'))
    assert executed_count(again) == 0 and 'reused from cache: 6' in again
    assert 'en: html unchanged' in again        # the merged pages are written again only when they change


def test_pages_show_tabs_and_no_raw_markup(tab_book):
    root, _ = tab_book
    site = root / '_build/site/en'
    html = (site / 'chapter_arrays/basics.html').read_text(encoding='utf-8')
    assert 'tabs.js' in html and html.count('class="d2l-tabs ') == 4
    assert '<span class="n">mxnet</span>' in html and '<span class="n">numpy</span>' in html   # outputs
    assert 'href="../tabbook-en-numpy.pdf"' in html and 'href="../tabbook-en-numpy-notebooks.zip"' in html
    for path in site.rglob('*.html'):
        text = path.read_text(encoding='utf-8')
        assert not [m for m in RAW_MARKUP if m in text], path
    preface = (site / 'chapter_preface/index.html').read_text(encoding='utf-8')
    assert 'Plain NumPy runs everywhere' in preface and 'adds automatic differentiation' in preface


def test_one_tab_builds_without_tab_ui(tmp_path):
    root = copy_book(tmp_path, 'tabbook')
    edit(root, 'config.ini', 'tabs = mxnet, numpy', 'tabs = mxnet')
    out = ok(run_build(root, 'html'))
    assert executed_count(out) == 3
    html = (root / '_build/site/en/chapter_arrays/basics.html').read_text(encoding='utf-8')
    assert '<span class="n">mxnet</span>' in html and 'numpy' not in html
    assert 'd2l-tabs' not in html and 'tabs.js' not in html
    assert not [m for m in RAW_MARKUP if m in html]


def test_a_tab_without_its_framework_fails_clearly_or_builds_unexecuted(tmp_path):
    root = copy_book(tmp_path, 'tabbook')
    edit(root, 'config.ini', 'tabs = mxnet, numpy', 'tabs = mxnet, numpy, jax')
    edit(root, 'chapters/en/chapter_arrays/basics.md', '#@tab numpy\n', '#@tab numpy, jax\n')
    failed = run_build(root, 'html')
    assert failed.returncode != 0
    assert 'tab "jax": its framework package "jax" is not installed' in failed.stderr
    assert '--tabs mxnet,numpy' in failed.stderr and 'config.ini:' in failed.stderr
    out = ok(run_build(root, 'html', '--tabs', 'mxnet,numpy'))
    assert 'tab jax: not executed' in out and executed_count(out) == 6
    html = (root / '_build/site/en/chapter_arrays/basics.html').read_text(encoding='utf-8')
    assert 'data-tab="jax"' in html
    # a failing cell of a tab names the file, the line and the tab
    path = edit(root, 'chapters/en/chapter_arrays/basics.md', 'import numpy as np\ngrid',
                'import numpy as np\nraise ValueError("numpy only")\ngrid')
    failed = run_build(root, 'html', '--tabs', 'mxnet,numpy')
    assert failed.returncode != 0 and 'code cell (tab numpy) failed with ValueError: numpy only' in failed.stderr
    line = path.read_text(encoding='utf-8').split('\n').index('#@tab numpy, jax') + 1
    assert f'{path}:{line}:' in failed.stderr
    unknown = run_build(root, 'html', '--tabs', 'pytorch')
    assert unknown.returncode != 0 and '--tabs pytorch is not in [build] tabs' in unknown.stderr


# ---- the tab UI in Chromium --------------------------------------------------------------------

@pytest.fixture(scope='module')
def tab_server(tab_book):
    root, _ = tab_book
    with serving(root / '_build/site') as base:
        yield f'{base}/en'


def chosen(pg):
    """The tab shown by each group of the page."""
    return pg.eval_on_selector_all('.d2l-tabs', 'gs => gs.map(g => [...g.children].filter('
                                   'c => c.classList.contains("d2l-tab-panel") && getComputedStyle(c).display'
                                   ' !== "none").map(c => c.dataset.tab).join())')


@pytest.mark.browser
def test_tab_choice_switches_every_group_and_is_remembered(tab_server, browser):
    context = browser.new_context(viewport={'width': 1280, 'height': 900})
    pg, other = context.new_page(), context.new_page()
    problems = []
    for x in (pg, other):
        x.on('pageerror', lambda e: problems.append(str(e)))
        x.on('request', lambda r: r.url.startswith((tab_server.split('/en')[0], 'data:'))
             or problems.append(f'other host: {r.url}'))
    pg.goto(f'{tab_server}/chapter_arrays/basics.html')
    other.goto(f'{tab_server}/chapter_arrays/plots.html')
    assert chosen(pg) == ['mxnet', 'mxnet', 'mxnet', 'mxnet']       # the default tab first
    assert pg.locator('text=made by numpy').first.is_hidden()
    pg.locator('.d2l-tab-bar button[data-tab="numpy"]').first.click()
    # every group that has a numpy tab follows; the MXNet-only group keeps MXNet
    assert chosen(pg) == ['numpy', 'numpy', 'mxnet', 'numpy']
    assert pg.locator('text=made by numpy').first.is_visible()
    other.wait_for_function('() => document.querySelector(".d2l-tab-panel.d2l-active").dataset.tab === "numpy"')
    pg.reload()
    assert chosen(pg) == ['numpy', 'numpy', 'mxnet', 'numpy']
    other.locator('.d2l-tab-bar button[data-tab="mxnet"]').first.click()
    pg.wait_for_function('() => document.querySelector(".d2l-tab-panel.d2l-active").dataset.tab === "mxnet"')
    fresh = context.new_page()
    fresh.goto(f'{tab_server}/chapter_preface/index.html')
    assert set(chosen(fresh)) == {'mxnet'}
    assert problems == []
    context.close()


# ---- PDF and notebooks per tab ------------------------------------------------------------------

@pytest.mark.pdf
def test_one_pdf_and_one_notebook_zip_per_tab(tab_book):
    root, _ = tab_book
    out = ok(run_build(root, 'pdf'))
    assert executed_count(out) == 0
    site = root / '_build/site/en'
    mxnet, numpy = pdf_text(site / 'tabbook-en.pdf'), pdf_text(site / 'tabbook-en-numpy.pdf')
    assert 'made by mxnet' in mxnet and 'made by numpy' not in mxnet and 'context: cpu(0)' in mxnet
    assert 'made by numpy' in numpy and 'made by mxnet' not in numpy and 'Plain NumPy runs everywhere' in numpy
    assert '(numpy)' in numpy[:1000]
    for name in ('tabbook-en-notebooks.zip', 'tabbook-en-numpy-notebooks.zip'):
        with zipfile.ZipFile(site / name) as z:
            assert len([n for n in z.namelist() if n.endswith('.ipynb')]) == 5     # the book's index, two chapter indexes, two sections
