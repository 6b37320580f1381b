"""The repository itself: book config, reader's GPU environment, generated library."""
import re

import yaml

from bookbuild import config, library
from conftest import ROOT


def lock_versions():
    pins = {}
    for line in (ROOT / 'requirements.lock').read_text().splitlines():
        m = re.match(r'^([A-Za-z0-9_.\-]+)==(\S+)$', line.strip())
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def test_book_config_has_four_editions():
    c = config.load(ROOT)
    assert c.languages == ['en', 'ja', 'zh', 'ko']
    assert c.bibfile.name == 'd2l.bib' and c.bibfile.is_file()


def test_environment_yml_matches_the_cpu_lock():
    env = yaml.safe_load((ROOT / 'environment.yml').read_text())
    deps = env['dependencies']
    assert any(str(d).startswith('cudatoolkit=11.2') for d in deps)
    assert any(str(d).startswith('cudnn=8') for d in deps)
    pip = next(d['pip'] for d in deps if isinstance(d, dict) and 'pip' in d)
    pinned = dict(p.split('==') for p in pip)
    assert pinned.pop('mxnet-cu112') == lock_versions()['mxnet']
    lock = lock_versions()
    for name, version in pinned.items():
        assert lock.get(name.lower()) == version, name
    python = next(str(d) for d in deps if str(d).startswith('python='))
    assert python == 'python=3.11'


def test_generated_library_is_current():
    library.check(ROOT / 'chapters' / 'en', ROOT / 'd2l' / 'mxnet.py')
