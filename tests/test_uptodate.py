"""The quick "nothing changed" check (uptodate.py): a rebuild without changes only stats files,
and an edit to any kind of input, or to the published site, is still noticed."""
import os
import shutil

import pytest
from conftest import ROOT, copy_book, edit, run_build

from bookbuild import config as config_mod
from bookbuild.uptodate import Stamp

ARRAYS = 'chapters/en/chapter_basics/arrays.md'
UP_TO_DATE = 'nothing changed since the last html build'


def stamped(root):
    """A stamp recorded for the book as it is now (as after a successful build)."""
    stamp = Stamp(config_mod.load(root), 'html-en')
    stamp.begin()
    assert stamp.done({'site': '', 'notices': [], 'sections': 1, 'langs': 1})
    assert stamp.check() is not None
    return stamp


def append(path, text):
    with open(path, 'a', encoding='utf-8') as f:
        f.write(text)


EDITS = {
    'prose': lambda root: edit(root, ARRAYS, 'We add numbers', 'We add some numbers'),
    'same size, new time': lambda root: os.utime(root / ARRAYS, ns=(1, 1)),
    'translation': lambda root: append(root / 'chapters/ja/chapter_basics/arrays.md', '\n'),
    'config.ini': lambda root: edit(root, 'config.ini', 'A Tiny Book', 'A Small Book'),
    'bibliography': lambda root: append(root / 'references.bib', '\n'),
    'figure': lambda root: append(root / 'img/arrow.svg', '\n'),
    'new figure': lambda root: (root / 'img/new.svg').write_text('<svg/>'),
    'removed file': lambda root: (root / 'img/arrow.svg').unlink(),
    'data': lambda root: (root / 'data').mkdir() or (root / 'data/x.csv').write_text('1\n'),
    'translations.lock': lambda root: append(root / 'translations.lock', '\n'),
    'library': lambda root: (root / 'd2l').mkdir() or (root / 'd2l/mxnet.py').write_text('x = 1\n'),
    'theme': lambda root: shutil.copytree(ROOT / 'static', root / 'static'),
    'published site': lambda root: (root / '_build/site').mkdir(parents=True),
}


@pytest.mark.parametrize('kind', EDITS)
def test_an_edit_to_any_input_is_noticed(tmp_path, kind):
    root = copy_book(tmp_path)
    stamp = stamped(root)
    EDITS[kind](root)
    assert stamp.check() is None, kind


@pytest.mark.parametrize('variable', ['CUDA_VISIBLE_DEVICES', 'PATH', 'PYTHONPATH'])
def test_a_change_of_tools_or_devices_is_noticed(tmp_path, monkeypatch, variable):
    root = copy_book(tmp_path)
    stamp = stamped(root)
    monkeypatch.setenv(variable, os.environ.get(variable, '') + os.pathsep + str(tmp_path))
    assert stamp.check() is None


def test_an_edit_made_during_the_build_is_not_lost(tmp_path):
    root = copy_book(tmp_path)
    stamp = Stamp(config_mod.load(root), 'html-en')
    stamp.begin()
    EDITS['prose'](root)          # after the build read its sources
    assert not stamp.done({'site': '', 'notices': [], 'sections': 1, 'langs': 1})
    assert stamp.check() is None


def test_rebuild_without_changes_only_checks_then_an_edit_is_built(tmp_path):
    root = copy_book(tmp_path)
    first = run_build(root, 'html', '--lang', 'en')
    assert first.returncode == 0, first.stderr
    again = run_build(root, 'html', '--lang', 'en')
    assert again.returncode == 0, again.stderr
    assert UP_TO_DATE in again.stdout
    assert 'notebooks executed: 0, reused from cache: ' in again.stdout
    edit(root, ARRAYS, 'We add numbers', 'We add a few numbers')
    rebuilt = run_build(root, 'html', '--lang', 'en')
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert UP_TO_DATE not in rebuilt.stdout
    assert 'We add a few numbers' in (root / '_build/site/en/chapter_basics/arrays.html').read_text(encoding='utf-8')
    # another command, or the same one with other options, is not the build that was recorded
    strict = run_build(root, 'html', '--lang', 'en', '--strict')
    assert strict.returncode == 0, strict.stderr
    assert UP_TO_DATE not in strict.stdout
