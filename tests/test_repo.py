"""The repository itself: book config, reader's GPU environment, generated library."""
import os
import re
import subprocess
import sys

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


def test_ci_fails_when_browser_or_pdf_tests_are_skipped(tmp_path):
    (tmp_path / 'test_sample.py').write_text(
        'import pytest\n\n\n@pytest.mark.browser\ndef test_page():\n    pytest.skip("no chromium here")\n\n\n'
        'def test_other():\n    pytest.skip("not needed")\n')

    def pytest_run(*args):
        return subprocess.run([sys.executable, '-m', 'pytest', '-p', 'skipguard', '-rs', '-q', str(tmp_path), *args],
                              capture_output=True, text=True, cwd=tmp_path,
                              env={**os.environ, 'PYTHONPATH': str(ROOT / 'tests')})
    plain = pytest_run()
    assert plain.returncode == 0 and '2 skipped' in plain.stdout, plain.stdout
    guarded = pytest_run('--fail-on-skip=browser,pdf')
    assert guarded.returncode == 1 and '1 failed, 1 skipped' in guarded.stdout, guarded.stdout
    assert 'browser test skipped, but --fail-on-skip requires it to run: no chromium here' in guarded.stdout
    ci = (ROOT / '.ci/run').read_text()
    assert '\npython3 build.py\n' in ci and '\npython3 build.py test -rs --fail-on-skip=browser,pdf\n' in ci
