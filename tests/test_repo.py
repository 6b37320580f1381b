"""The repository itself: book config, requirement locks, reader's GPU environment, generated library."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from bookbuild import config, library
from conftest import ROOT


LAYERS = ('reader', 'build', 'test')      # each includes the one before


def canonical(name):
    return re.sub(r'[-_.]+', '-', name).lower()


def lock_versions(layer='reader', requirements=ROOT / 'requirements'):
    """{package: (version, number of hashes)} of ``requirements/<layer>.lock``."""
    text = (requirements / f'{layer}.lock').read_text().replace('\\\n', ' ')
    return {canonical(m[1]): (m[2], len(re.findall(r'--hash=sha256:[0-9a-f]{64}', m[3])))
            for m in re.finditer(r'^([A-Za-z0-9][\w.\-]*)==(\S+)(.*)$', text, re.M)}


def requirements_in(layer, requirements=ROOT / 'requirements'):
    """{package: pinned version or None} of ``<layer>.in``, with the files it includes (-r)."""
    found = {}
    for line in (requirements / f'{layer}.in').read_text().splitlines():
        line = line.split('#')[0].strip()
        if line.startswith('-r '):
            found.update(requirements_in(Path(line[3:].strip()).stem, requirements))
        elif line and not line.startswith('-'):
            name, _, version = re.match(r'^([\w.\-]+)(==)?(\S*)', line).groups()
            found[canonical(name)] = version or None
    return found


def lock_problems(requirements=ROOT / 'requirements'):
    """What is wrong with the locks: a requirement of an .in file that its lock does not pin, or at
    another version; a package without hashes; a layer at other versions than the one it includes;
    a package the build excludes."""
    problems = []
    excluded = {canonical(line.split('#')[0].strip())
                for line in (requirements / 'excludes.txt').read_text().splitlines() if line.split('#')[0].strip()}
    below = {}
    for layer in LAYERS:
        lock = lock_versions(layer, requirements)
        for name, version in requirements_in(layer, requirements).items():
            if name not in lock:
                problems.append(f'{layer}.lock does not pin {name}')
            elif version and lock[name][0] != version:
                problems.append(f'{layer}.lock has {name} {lock[name][0]}, {layer}.in asks for {version}')
        problems += [f'{layer}.lock: {name} has no hash' for name, (_, hashes) in lock.items() if not hashes]
        problems += [f'{layer}.lock has {name} {lock.get(name, ("none",))[0]}, the layer below {version}'
                     for name, (version, _) in below.items() if lock.get(name, (None,))[0] != version]
        problems += [f'{layer}.lock has {name}, which excludes.txt leaves out' for name in lock if name in excluded]
        below = lock
    return problems


def test_locks_pin_every_requirement_with_hashes():
    assert lock_problems() == []
    assert {'awscli', 'botocore', 's3transfer', 'jupyter', 'jupyterlab'}.isdisjoint(lock_versions('test'))
    assert {'pytest', 'playwright'}.isdisjoint(lock_versions('build'))
    assert {'sphinx', 'd2lbook', 'ipykernel'}.isdisjoint(lock_versions('reader'))


def test_lock_check_finds_a_requirement_the_lock_lacks(tmp_path):
    shutil.copytree(ROOT / 'requirements', tmp_path / 'requirements')
    build_in = tmp_path / 'requirements/build.in'
    build_in.write_text(build_in.read_text().replace('furo==2023.3.27', 'furo==2024.1.29') + 'tqdm\n')
    reader = tmp_path / 'requirements/reader.lock'
    reader.write_text(re.sub(r'(pandas==\S+) \\\n(\s+--hash=\S+ \\\n)*\s+--hash=\S+', r'\1', reader.read_text()))
    assert lock_problems(tmp_path / 'requirements') == [
        'reader.lock: pandas has no hash',
        'build.lock has furo 2023.3.27, build.in asks for 2024.1.29',
        'build.lock does not pin tqdm',
        'test.lock has furo 2023.3.27, test.in asks for 2024.1.29',
        'test.lock does not pin tqdm']


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
    pinned = {canonical(name): version for name, version in (p.split('==') for p in pip)}
    reader, build = lock_versions('reader'), lock_versions('build')
    assert pinned.pop('mxnet-cu112') == reader['mxnet'][0]
    # the reader's packages at the reader lock's versions; the Jupyter front end is the reader's own
    assert set(requirements_in('reader')) - {'mxnet'} <= set(pinned)
    for name, version in pinned.items():
        if name != 'jupyter':
            assert build[name][0] == version, name
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
