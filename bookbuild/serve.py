"""Live preview: ``build.py serve`` serves the website on 127.0.0.1, rebuilds it when the book
changes and reloads the pages open in the browser.

The main thread watches the book (file stats polled every ``POLL`` seconds) and rebuilds through
the same pipeline as ``build.py html`` (stamps and the execution cache skip unchanged work), holding
the build lock only while it builds. A thread serves ``_build/site`` and tells pages through
Server-Sent Events (``/__serve/events``) when a build starts, fails or publishes; the script that
listens is added to HTML pages as they are served, never to the published files. A failed build
shows its problems in the terminal and over the open pages, which keep the last good site.
"""
import functools
import http.server
import json
import os
import sys
import threading
import time
import traceback
from pathlib import Path

from . import config as config_mod, procs, uptodate
from .buildlock import exclusive
from .errors import BuildError
from .languages import SOURCE
from .pipeline import Build

POLL = 0.3          # seconds between two looks at the book's files
QUIET = 0.15        # a burst of edits is over when nothing changed for this long
EVENTS = '/__serve/events'
KEEPALIVE = 15      # seconds between comments on an idle event stream

SCRIPT = '''<script>/* live preview (build.py serve); not part of the published site */
(function () {
  var version = %d, key = 'serve-scroll:' + location.pathname;
  var saved = sessionStorage.getItem(key);
  if (saved !== null) {
    sessionStorage.removeItem(key);
    addEventListener('load', function () { scrollTo(0, +saved); });
  }
  function banner(state) {
    var b = document.getElementById('serve-banner');
    if (state.status === 'ok') { if (b) b.remove(); return; }
    if (!b) {
      b = document.createElement('div');
      b.id = 'serve-banner';
      b.setAttribute('role', 'status');
      b.style.cssText = 'position:fixed;left:0;right:0;bottom:0;z-index:99999;max-height:50vh;overflow:auto;' +
        'margin:0;padding:.6rem 1rem;font:13px/1.4 ui-monospace,monospace;white-space:pre-wrap;' +
        'box-shadow:0 -2px 8px rgba(0,0,0,.3)';
      document.body.appendChild(b);
    }
    var failed = state.status === 'failed';
    b.style.background = failed ? '#b71c1c' : '#37474f';
    b.style.color = '#fff';
    b.textContent = failed ? 'Build failed; this is the last good page.\\n' + state.problems.join('\\n')
                           : 'Rebuilding…';
  }
  var events = new EventSource('%s');
  events.onmessage = function (e) {
    var state = JSON.parse(e.data);
    if (state.status === 'ok' && state.version !== version) {
      events.close();
      sessionStorage.setItem(key, String(scrollY));
      location.reload();
      return;
    }
    banner(state);
  };
})();
</script>'''

WAITING = '''<!DOCTYPE html><html><head><meta charset="utf-8"><title>Building…</title></head>
<body style="font-family:system-ui,sans-serif;margin:3rem">
<p>The site is being built; this page reloads when it is ready.</p></body></html>'''


class State:
    """What the pages are told: the site's version (one more per published build), the status
    (``building``, ``ok`` or ``failed``) and the problems of the last failed build."""

    def __init__(self):
        self.version, self.status, self.problems = 0, 'building', []
        self.changed = threading.Condition()

    def set(self, status, problems=(), published=False):
        with self.changed:
            self.status, self.problems = status, list(problems)
            self.version += published
            self.changed.notify_all()

    def get(self):
        with self.changed:
            return {'version': self.version, 'status': self.status, 'problems': self.problems}

    def wait(self, last, timeout):
        """The state once it differs from ``last`` (or after ``timeout`` seconds)."""
        with self.changed:
            self.changed.wait_for(lambda: self.get() != last, timeout)
            return self.get()


class Handler(http.server.SimpleHTTPRequestHandler):
    """Files of the published site (``directory`` is the ``_build/site`` link, followed anew for
    every request), the reload script added to HTML pages, and the event stream."""

    def __init__(self, *args, state, **kwargs):
        self.state = state
        super().__init__(*args, **kwargs)

    def log_message(self, *args):
        pass

    def end_headers(self):
        self.send_header('Cache-Control', 'no-cache')
        super().end_headers()

    def do_GET(self):
        if self.path.split('?')[0] == EVENTS:
            return self.events()
        path = Path(self.translate_path(self.path))
        if path.is_dir() and self.path.split('?')[0].endswith('/'):
            path = path / 'index.html'
        if path.suffix == '.html' and path.is_file():
            return self.page(path.read_text(encoding='utf-8'))
        if path.suffix in ('', '.html') and not (Path(self.directory) / 'index.html').is_file():
            return self.page(WAITING)       # no site yet: the first build runs
        return super().do_GET()

    def page(self, text):
        script = SCRIPT % (self.state.get()['version'], EVENTS)
        at = text.rfind('</body>')
        body = (text[:at] + script + text[at:] if at >= 0 else text + script).encode('utf-8')
        self.send_response(200)
        self.send_header('Content-Type', 'text/html; charset=utf-8')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def events(self):
        self.send_response(200)
        self.send_header('Content-Type', 'text/event-stream')
        self.end_headers()
        last = None
        try:
            while True:
                state = self.state.wait(last, KEEPALIVE)
                self.wfile.write(f'data: {json.dumps(state)}\n\n'.encode() if state != last else b': idle\n\n')
                self.wfile.flush()
                last = state
        except (BrokenPipeError, ConnectionResetError):
            pass


def watched(root, langs):
    """The files and folders whose changes make a new site: the chapters of the served editions
    (English too: translations show its code), figures, theme assets, data, bibliography, settings."""
    try:
        config = config_mod.load(root)
        extra = [config.static_dir, config.bibfile, root / config.data_dir]
    except BuildError:      # a broken config.ini: keep watching it, the build reports it
        extra = [root / 'static', root / 'data']
    chapters = [root / 'chapters' / lang for lang in dict.fromkeys([SOURCE, *langs])]
    return chapters + [root / 'img', root / 'config.ini', root / 'translations.lock'] + extra


def _hidden_or_backup(name):
    return name.startswith(('.', '#')) or name.endswith('~')


def snapshot(paths):
    """``{file: (size, mtime, inode)}`` under ``paths``, leaving out hidden files and editor backups."""
    entries = []
    for top in paths:
        uptodate.walk(top, entries, skip=_hidden_or_backup)
    return {path: stat for path, *stat in entries if stat != [None]}


def changed_files(before, after, root):
    names = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    shown = [os.path.relpath(p, root) for p in names[:5]]
    return ', '.join(shown) + (f' and {len(names) - 5} more' if len(names) > 5 else '')


def rebuild(root, langs, state, log=print):
    """Build the website of ``langs`` through the pipeline of ``build.py html``; tell the pages."""
    state.set('building')
    start = time.time()
    build_dir = root / '_build'
    quiet = functools.partial(_without_pdf_notes, log)
    try:
        with exclusive(build_dir, log=log, command='build.py serve'), procs.owned(build_dir, log=log):
            build = Build(root, ','.join(langs), keep_going=True, log=quiet)
            build.run(html=True, pdf=False)
    except (Exception, SystemExit) as e:     # the preview goes on; the author fixes the book
        problems = _problems(e, root)
        log(f'build failed with {len(problems)} problem(s); still serving the last good site:')
        for p in problems:
            log(f'  {p}')
        state.set('failed', problems)
        return False
    executed = len(build.report.executed) if build.report else 0
    log(f'rebuilt in {time.time() - start:.1f}s' + (f', executed {executed} notebook(s)' if executed else '')
        + '; reloading open pages')
    state.set('ok', published=True)
    return True


def _problems(error, root):
    """What a failed build tells the terminal and the pages: ``file:line: message``, relative to the book."""
    if isinstance(error, BuildError):
        return [str(p).replace(f'{root}{os.sep}', '', 1) for p in error.problems]
    if isinstance(error, SystemExit):
        return [str(error)]
    traceback.print_exc()       # a fault of the build itself: the traceback goes to the terminal
    return [''.join(traceback.format_exception_only(error)).strip()]


def _without_pdf_notes(log, message):
    if not (message.startswith('publish:') and ' PDF ' in message):     # the preview makes no PDF
        log(message)


def serve(root, langs=None, host=None, port=8000, log=print):
    """Serve and rebuild until Ctrl-C or SIGTERM (both raise KeyboardInterrupt in this thread)."""
    root = Path(root).resolve()
    config = config_mod.load(root)
    langs = [l.strip() for l in (langs or SOURCE).split(',') if l.strip()]
    unknown = [l for l in langs if l not in config.languages]
    if unknown:
        raise SystemExit(f'error: --lang {",".join(unknown)} is not in [build] languages '
                         f'({", ".join(config.languages)})')
    host = host or '127.0.0.1'
    sys.stdout.reconfigure(line_buffering=True)     # each line as it happens, also into a pipe or file
    state = State()
    handler = functools.partial(Handler, state=state, directory=str(config.build_dir / 'site'))
    try:
        httpd = http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as e:
        raise SystemExit(f'error: cannot serve on {host}:{port}: {e.strerror} '
                         '(choose another port with --port N; --port 0 picks a free one)') from None
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    log(f'serving http://{host}:{httpd.server_address[1]}/{langs[0]}/index.html '
        f'(watching the book for changes; Ctrl-C stops)')
    if host not in ('127.0.0.1', 'localhost'):
        log(f'note: --host {host} makes the preview reachable from other machines')
    try:
        seen = snapshot(watched(root, langs))
        rebuild(root, langs, state, log)
        while True:
            time.sleep(POLL)
            now = snapshot(watched(root, langs))
            if now == seen:
                continue
            while True:         # wait for the burst of edits to end
                time.sleep(QUIET)
                later = snapshot(watched(root, langs))
                if later == now:
                    break
                now = later
            log(f'changed: {changed_files(seen, now, root)}')
            seen = now
            rebuild(root, langs, state, log)
    except KeyboardInterrupt:
        log('preview stopped')
    finally:
        httpd.shutdown()
        httpd.server_close()
    return 0
