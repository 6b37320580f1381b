"""Sphinx, started ahead of need: import it and the book's extensions now, build when told.

Usage: python -m bookbuild.sphinx_runner; then one line on stdin: the arguments of
``sphinx-build`` as a JSON list (runs them; the exit status is Sphinx's), or nothing (exits).
The build starts one while it writes an edition's reST, so that Sphinx's start-up (about a second
of imports: Sphinx, the theme, pybtex) overlaps that work instead of following it.
"""
import json
import sys

from sphinx.cmd.build import build_main

for _module in ('sphinx.builders.html', 'sphinx.builders.latex', 'furo', 'sphinx_copybutton',
                'sphinxcontrib.bibtex', 'sphinxcontrib.rsvgconverter', 'recommonmark', 'bookbuild.sphinx_ext'):
    try:
        __import__(_module)
    except ImportError:     # Sphinx reports what the book's conf.py needs and lacks
        pass


if __name__ == '__main__':
    line = sys.stdin.readline().strip()
    sys.exit(build_main(json.loads(line)) if line else 0)
