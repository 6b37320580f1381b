#!/usr/bin/env python3
"""Build the book: ``python3 build.py [all|html|pdf|slides|execute|lib|check|test|cache|translated|bench|serve] ...``.

Needs only the standard library to start. It installs the Debian packages the
build needs (when run as root; otherwise it prints the command), creates or
updates ``.venv`` from ``requirements.lock``, then runs the ``bookbuild``
pipeline inside that environment.
"""
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / '.venv'
LOCK = ROOT / 'requirements.lock'
STAMP = VENV / '.requirements.sha256'

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


def ensure_venv():
    wanted = hashlib.sha256(LOCK.read_bytes() + sys.version.encode()).hexdigest()
    if venv_python().exists() and STAMP.is_file() and STAMP.read_text().strip() == wanted:
        return
    if not venv_python().exists():
        print(f'creating {VENV.name} ...', flush=True)
        subprocess.run([sys.executable, '-m', 'venv', str(VENV)], check=True)
    print(f'installing {LOCK.name} into {VENV.name} ...', flush=True)
    subprocess.run([str(venv_python()), '-m', 'pip', 'install', '-q', '--disable-pip-version-check',
                    '-r', str(LOCK)], check=True)
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
