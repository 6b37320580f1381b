"""The execution cache on a book of five code sections run in parallel (real kernels):
what invalidates an entry, what does not, and how the build says why."""
import re
import shutil
import subprocess
import sys
import textwrap

import nbformat
import pytest

from bookbuild.cache import Cache
from bookbuild.execute import Job, Planned, fill
from conftest import FIXTURES, build_env, executed_count, run_build

SECTIONS = ['data_table', 'define', 'gpus', 'image', 'use_lib']


def outputs(root):
    """{section: [text of each code cell's outputs]} from the cache, as the last build used it."""
    cache = Cache(root / '_build/cache')
    found = {}
    for name, key in cache.last_keys().items():
        entry = cache.get(key)
        found[name.split('/')[-1]] = [''.join(o.get('text', '') for o in cell) for cell in entry.outputs]
    return found


def executed(result):
    """{section: reasons} of the sections a build executed, from its summary."""
    found = {}
    for line in result.stdout.splitlines():
        if line.startswith('  executed chapter_a/'):
            name, _, reasons = line.removeprefix('  executed chapter_a/').partition(': ')
            found[name] = reasons
    assert len(found) == executed_count(result.stdout), result.stdout
    return found


@pytest.fixture(scope='module')
def warm_book(tmp_path_factory):
    """The five-section book executed once; each test gets a copy with the warm cache."""
    root = tmp_path_factory.mktemp('warm') / 'fourbook'
    shutil.copytree(FIXTURES / 'fourbook', root)
    result = run_build(root, 'execute')
    assert result.returncode == 0, result.stdout + result.stderr
    return root, result


@pytest.fixture
def book(warm_book, tmp_path):
    root = tmp_path / 'fourbook'
    shutil.copytree(warm_book[0], root, symlinks=True)
    return root


def edit(path, old, new):
    text = path.read_text(encoding='utf-8')
    assert old in text, old
    path.write_text(text.replace(old, new), encoding='utf-8')


def test_sections_run_in_parallel_each_in_its_own_directory(warm_book):
    root, result = warm_book
    assert 'executing 5 notebook(s) with 4 worker(s)' in result.stdout
    # kernels started ahead of need are reported apart from the sections' own time
    assert re.search(r'kernel start-up: [\d.]+s summed over the 5 execution\(s\), [\d.]+s of it waited for',
                     result.stdout), result.stdout
    found = outputs(root)
    assert sorted(found) == SECTIONS
    for name, cells in found.items():
        # every section wrote ../data/scratch.txt, slept, and read back its own name
        assert cells[0] == f'scratch: {name}\n', (name, cells)
    assert found['data_table'][1] == 'total price: 60.75\n'
    assert found['image'][1].startswith('image bytes: ')
    assert found['use_lib'][1] == 'scaled: 10\n'
    assert not (root / 'data/scratch.txt').exists()        # the book's data is never written


def test_unchanged_book_executes_nothing(book):
    result = run_build(book, 'execute')
    assert result.returncode == 0, result.stderr
    assert executed_count(result.stdout) == 0


def test_data_image_and_library_edits_execute_exactly_their_readers(book):
    chapter = book / 'chapters/en/chapter_a'
    edit(book / 'data/prices.csv', '3,30.0', '3,40.0')
    edit(book / 'img/dot.svg', 'r="4"', 'r="3"')
    edit(chapter / 'define.md', 'return x * factor', 'return factor * x')
    why = run_build(book, 'cache', 'why', 'chapter_a/data_table')
    assert why.returncode == 0, why.stderr
    assert why.stdout.splitlines() == ['chapter_a/data_table: not in the cache; it will execute because:',
                                       '  - data/prices.csv changed']
    result = run_build(book, 'execute')
    assert result.returncode == 0, result.stderr
    line = next(i for i, l in enumerate((chapter / 'define.md').read_text().splitlines(), 1) if 'def scale' in l)
    assert executed(result) == {'data_table': 'data/prices.csv changed',
                                'image': 'img/dot.svg changed',
                                'define': f'code cell 2 (line {line}) changed',
                                'use_lib': 'the d2l library changed'}
    assert outputs(book)['data_table'][1] == 'total price: 70.75\n'
    why = run_build(book, 'cache', 'why', 'chapters/en/chapter_a/data_table.md')
    assert why.stdout.startswith('chapter_a/data_table: in the cache (entry ')
    assert why.stdout.rstrip().endswith('book files it reads: data/prices.csv')



def test_files_read_by_native_code_are_keyed_when_the_section_declares_them(book):
    """npx.load reads in C++, past Python's open: the build sees the file only when declared."""
    def save(value):    # in a process of its own: MXNet's array semantics are global state
        subprocess.run([sys.executable, '-c', 'from mxnet import np, npx; npx.set_np(); '
                        f'npx.save({str(book / "data/weights.params")!r}, {{"w": np.full((2,), {value})}})'],
                       check=True)
    save(1.0)
    section = book / 'chapters/en/chapter_a/data_table.md'
    section.write_text(section.read_text() + textwrap.dedent('''
        ```{.python .input}
        from mxnet import npx
        npx.set_np()
        print('weights:', npx.load(os.path.join('..', 'data', 'weights.params'))['w'].sum())
        ```
        '''))

    def build():
        result = run_build(book, 'execute')
        assert result.returncode == 0, result.stdout + result.stderr
        return executed(result)
    assert list(build()) == ['data_table']              # the new code cell
    save(2.0)
    assert build() == {}                                # not seen: nothing records the read
    edit(section, 'shipped with the book.', 'shipped with the book.\n<!-- reads: data/weights.params -->')
    assert build() == {'data_table': 'data/weights.params is read now (declared)'}
    assert outputs(book)['data_table'][2] == 'weights: 4.0\n'
    save(3.0)
    why = run_build(book, 'cache', 'why', 'chapter_a/data_table')
    assert why.stdout.splitlines()[1:] == ['  - data/weights.params changed (declared)'], why.stdout
    assert build() == {'data_table': 'data/weights.params changed (declared)'}
    assert outputs(book)['data_table'][2] == 'weights: 6.0\n'
    why = run_build(book, 'cache', 'why', 'chapter_a/data_table')
    assert why.stdout.rstrip().endswith('book files it reads: data/prices.csv, data/weights.params (declared)')
    # a declared file that is not there is an error at the declaration
    edit(section, 'data/weights.params -->', 'data/weight.params -->')
    failed = run_build(book, 'execute')
    line = section.read_text().splitlines().index('<!-- reads: data/weight.params -->') + 1
    assert failed.returncode != 0
    assert f'{section}:{line}: declared read data/weight.params does not exist' in failed.stderr, failed.stderr

def test_environment_and_device_changes_execute_everything(book, tmp_path):
    # Another package version, as the kernel sees it: a distribution on the kernel's path.
    site = tmp_path / 'site'
    meta = site / 'fakepkg-1.0.dist-info' / 'METADATA'
    meta.parent.mkdir(parents=True)
    meta.write_text('Metadata-Version: 2.1\nName: fakepkg\nVersion: 1.0\n')
    first = run_build(book, 'execute', env=build_env([site]))
    assert first.returncode == 0, first.stderr
    assert set(executed(first).values()) == {'packages: fakepkg (none) -> 1.0'}
    meta.write_text('Metadata-Version: 2.1\nName: fakepkg\nVersion: 1.1\n')
    # A GPU, as the kernel sees it: nvidia-smi on the kernel's PATH.
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    smi = bin_dir / 'nvidia-smi'
    smi.write_text('#!/bin/sh\necho "Simulated GPU 80GB"\n')
    smi.chmod(0o755)
    env = build_env([site], PATH=f'{bin_dir}:{build_env()["PATH"]}')
    why = run_build(book, 'cache', 'why', 'chapter_a/gpus', env=env)
    assert why.stdout.splitlines()[1:] == ['  - devices: cpu (x86_64) -> 1 x Simulated GPU 80GB',
                                           '  - packages: fakepkg 1.0 -> 1.1'], why.stdout
    second = run_build(book, 'execute', env=env)
    assert second.returncode == 0, second.stderr
    assert sorted(executed(second)) == SECTIONS
    assert 'chapter_a/gpus asks for 2 GPUs; this machine has 1: it runs with 1' in second.stdout
    assert outputs(book)['gpus'][1] == 'devices: 0\n'


def test_section_budget_covers_all_cells_and_names_the_running_one(book):
    # each step takes a third of the budget (a per-cell timeout would let them all pass); the
    # cells before step 3 take about 9 s, so the budget runs out during step 3
    edit(book / 'config.ini', 'workers = 4', 'workers = 4\ntimeout = 12')
    path = book / 'chapters/en/chapter_a/gpus.md'
    cells = ''.join(f'\n```{{.python .input}}\ntime.sleep(4)  # step {i}\n```\n' for i in (1, 2, 3))
    path.write_text(path.read_text() + cells)
    result = run_build(book, 'execute')
    assert result.returncode != 0
    line = path.read_text().splitlines().index('time.sleep(4)  # step 3') + 1
    assert f'{path}:{line}: code cell failed with Timeout: the section ran out of its 12 s budget during this cell' \
        in result.stderr, result.stderr


def test_kernel_that_fails_to_start_once_is_started_again(book, tmp_path):
    """A kernelspec whose first start fails, as a port race would (papermill#511)."""
    spec = tmp_path / 'jupyter/kernels/python3'
    spec.mkdir(parents=True)
    marker = tmp_path / 'failed-once'
    (spec / 'flaky.py').write_text(textwrap.dedent(f'''
        import os, sys
        if not os.path.exists({str(marker)!r}):
            open({str(marker)!r}, 'w').close()
            sys.exit(1)
        os.execv(sys.executable, [sys.executable, '-m', 'ipykernel_launcher'] + sys.argv[1:])
    '''))
    (spec / 'kernel.json').write_text(
        '{"argv": ["%s", "%s", "-f", "{connection_file}"], "display_name": "flaky", "language": "python"}'
        % (__import__('sys').executable, spec / 'flaky.py'))
    edit(book / 'data/prices.csv', '3,30.0', '3,40.0')
    result = run_build(book, 'execute', env=build_env(JUPYTER_PATH=str(tmp_path / 'jupyter')))
    assert result.returncode == 0, result.stdout + result.stderr
    assert marker.exists()
    assert 'environment probe: the kernel failed to start (RuntimeError: Kernel died before replying to ' \
           'kernel_info); started it again' in result.stdout
    assert executed_count(result.stdout) == 1


def test_missing_entry_after_execution_is_an_error(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('print(1)')])
    nb.cells[0].metadata['md_line'] = 7
    job = Job('chapter_x/y', tmp_path / 'y.md', nb)
    ran = Planned('ab' * 32, 'cd' * 32, {}, job, 0, group=[job])   # executed, but its entry is gone
    (problem,) = fill([ran], Cache(tmp_path / 'cache'))
    assert str(problem).startswith(f'{tmp_path}/y.md:7: the outputs of this section are not in the cache after it ran')
    assert not nb.cells[0].outputs


def test_kernels_started_ahead_leave_the_section_a_fresh_namespace(book):
    """Kernels start, and import the framework, before their section is known; a section still
    finds nothing it did not define itself, and runs in its own directory."""
    chapter = book / 'chapters/en/chapter_a'
    edit(chapter / 'index.md', 'gpus\n', 'gpus\nframework\nbare\n')
    (chapter / 'framework.md').write_text('# Framework\n\n```{.python .input}\nimport mxnet\n'
                                          'print(mxnet.__name__)\n```\n', encoding='utf-8')
    (chapter / 'bare.md').write_text('# Bare\n\n```{.python .input}\nimport os\n'
                                     'print(sorted(n for n in dir() if not n.startswith("_")))\n'
                                     'print(os.path.basename(os.getcwd()))\n```\n', encoding='utf-8')
    result = run_build(book, 'execute')
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(executed(result)) == ['bare', 'framework']
    found = outputs(book)
    assert found['framework'] == ['mxnet\n']
    names, cwd = found['bare'][0].splitlines()
    assert 'mxnet' not in names and 'ahead' not in names, names
    assert cwd == 'chapter_a'
