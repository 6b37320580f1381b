"""What the browser tests share: headless Chromium through Playwright, and a built site served on
127.0.0.1."""
import contextlib
import functools
import http.server
import threading

import pytest

try:
    from playwright import sync_api as playwright
except ImportError:
    playwright = None

CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-sync',
                 '--disable-background-networking', '--disable-component-update']


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serving(directory):
    """Serve ``directory`` on 127.0.0.1 at a free port; yields the base URL."""
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                            functools.partial(QuietHandler, directory=str(directory)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f'http://127.0.0.1:{httpd.server_address[1]}'
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextlib.contextmanager
def chromium():
    """A headless Chromium (the system's); the test is skipped where Playwright is not installed."""
    if playwright is None:
        pytest.skip('playwright is not installed')
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path='/usr/bin/chromium', args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
