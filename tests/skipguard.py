"""pytest plugin: ``--fail-on-skip=browser,pdf`` turns a skipped test with one of those markers
into a failure, so CI cannot pass with the browser or PDF tests silently left out.

Tests marked ``browser`` need Chromium, tests marked ``pdf`` need xelatex; without them they skip.
"""
import shutil

import pytest

NEEDS = {'browser': 'chromium', 'pdf': 'xelatex'}


def pytest_addoption(parser):
    parser.addoption('--fail-on-skip', default='', metavar='MARKERS',
                     help='comma-separated markers (browser, pdf) whose tests must run, not skip')


def pytest_configure(config):
    config.addinivalue_line('markers', 'browser: opens the published site in headless Chromium')
    config.addinivalue_line('markers', 'pdf: typesets a PDF with xelatex')


def pytest_runtest_setup(item):
    for marker, program in NEEDS.items():
        if item.get_closest_marker(marker) and shutil.which(program) is None:
            pytest.skip(f'{program} is not installed')


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    required = {m.strip() for m in item.config.getoption('--fail-on-skip').split(',') if m.strip()}
    marked = sorted(m.name for m in item.iter_markers() if m.name in required)
    if report.skipped and marked:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix('Skipped: ')
        report.outcome = 'failed'
        report.longrepr = f'{", ".join(marked)} test skipped, but --fail-on-skip requires it to run: {reason}'
