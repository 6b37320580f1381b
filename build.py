#!/usr/bin/env python3
"""Build the book: ``python3 build.py [all|html|pdf|slides|execute|lib|check|test|cache|translated|bench|serve] ...``.

Needs only the standard library to start. It installs the Debian packages the
build needs (when run as root; otherwise it prints the command), makes ``.venv``
hold exactly the packages of ``requirements/test.lock`` (the build's and the tests'),
then runs the ``bookbuild`` pipeline inside that environment.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / '.venv'
REQUIREMENTS = ROOT / 'requirements'
LOCK = REQUIREMENTS / 'test.lock'      # includes build.lock, which includes reader.lock
STAMP = VENV / '.requirements.sha256'
KEEP = {'pip', 'setuptools', 'wheel'}  # what venv itself installs

# Debian package -> a file or command that shows it is installed.
DEBIAN = {
    'pandoc': 'cmd:pandoc',
    'texlive-xetex': 'cmd:xelatex',
    'latexmk': 'cmd:latexmk',
    'texlive-latex-extra': '/usr/share/texlive/texmf-dist/tex/latex/titlesec/titlesec.sty',
    'texlive-fonts-recommended': '/usr/share/texlive/texmf-dist/fonts/tfm/adobe/times',
    'texlive-lang-cjk': '/usr/share/texlive/texmf-dist/tex/xelatex/xecjk/xeCJK.sty',
    'texlive-lang-chinese': '/usr/share/texlive/texmf-dist/tex/latex/ctex/ctexhook.sty',
    'fonts-noto-cjk': '/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc',
    'fonts-dejavu-core': '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf',
    'fonts-lmodern': '/usr/share/texmf/fonts/opentype/public/lm/lmroman10-regular.otf',
    'librsvg2-bin': 'cmd:rsvg-convert',
    'poppler-utils': 'cmd:pdftotext',
    'chromium': 'cmd:chromium',
    'make': 'cmd:make',
}
# Commands that only read sources or the cache do not need the Debian packages.
NO_SYSTEM_PACKAGES = {'lib', 'check', 'cache', 'translated', 'execute', 'slides'}


def missing_debian_packages():
    def present(probe):
        return shutil.which(probe[4:]) is not None if probe.startswith('cmd:') else Path(probe).exists()
    return [pkg for pkg, probe in DEBIAN.items() if not present(probe)]


def ensure_debian_packages():
    missing = missing_debian_packages()
    if not missing:
        return
    command = ['apt-get', 'install', '-y', '--no-install-recommends'] + missing
    if os.geteuid() != 0:
        sys.exit('build.py needs these Debian packages: ' + ' '.join(missing) +
                 '\ninstall them with:\n  sudo apt-get update && sudo ' + ' '.join(command))
    print('installing Debian packages: ' + ' '.join(missing), flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    subprocess.run(['apt-get', 'update', '-qq'], check=True, env=env)
    subprocess.run(command + ['-qq'], check=True, env=env)


def venv_python():
    return VENV / 'bin' / 'python'


def canonical(name):
    return re.sub(r'[-_.]+', '-', name).lower()


def locked_packages():
    return {canonical(m.group(1)) for m in re.finditer(r'^([A-Za-z0-9][A-Za-z0-9_.\-]*)==', LOCK.read_text(), re.M)}


def ensure_venv():
    """Install the lock (every package pinned, with hashes) and remove what it does not list.
    Runs again whenever a lock file, or the Python that runs build.py, changes."""
    locks = b''.join(p.read_bytes() for p in sorted(REQUIREMENTS.glob('*.lock')))
    wanted = hashlib.sha256(locks + sys.version.encode()).hexdigest()
    if venv_python().exists() and STAMP.is_file() and STAMP.read_text().strip() == wanted:
        return
    if not venv_python().exists():
        print(f'creating {VENV.name} ...', flush=True)
        subprocess.run([sys.executable, '-m', 'venv', str(VENV)], check=True)
    STAMP.unlink(missing_ok=True)
    pip = [str(venv_python()), '-m', 'pip', '--disable-pip-version-check']
    print(f'installing {LOCK.relative_to(ROOT)} into {VENV.name} ...', flush=True)
    subprocess.run(pip + ['install', '-q', '--no-deps', '--require-hashes', '-r', str(LOCK)], check=True)
    listed = json.loads(subprocess.run(pip + ['list', '--format=json'], capture_output=True, text=True,
                                       check=True).stdout)
    extra = sorted(p['name'] for p in listed if canonical(p['name']) not in locked_packages() | KEEP)
    if extra:
        print(f'removing packages {LOCK.name} does not list: {" ".join(extra)}', flush=True)
        subprocess.run(pip + ['uninstall', '-q', '-y'] + extra, check=True)
    STAMP.write_text(wanted)


def main():
    args = sys.argv[1:]
    command = next((a for a in args if not a.startswith('-')), 'all')
    if command not in NO_SYSTEM_PACKAGES:
        ensure_debian_packages()
    ensure_venv()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get('PYTHONPATH')])))
    python = str(venv_python())
    os.execve(python, [python, '-m', 'bookbuild'] + args, env)


if __name__ == '__main__':
    main()
