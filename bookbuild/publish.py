"""Assemble the website and swap it in atomically: readers never see half a site."""
import html
import os
import re
import shutil
import time
import zipfile
from pathlib import Path

from .languages import LANGUAGES

LANDING = '''<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,">
{alternates}
<style>
body{{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}}
a{{display:block;font-size:1.4rem;margin:.8rem 0;color:#1565c0;text-decoration:none}}
@media (prefers-color-scheme: dark){{body{{background:#121212;color:#ddd}}a{{color:#90caf9}}}}
</style></head><body>
<h1>{title}</h1>
<nav>{links}</nav>
<script>
(function(){{var have={codes};var langs=navigator.languages||[navigator.language||''];
if(location.hash==='#choose')return;
for(var i=0;i<langs.length;i++){{var c=(langs[i]||'').slice(0,2).toLowerCase();
if(have.indexOf(c)>=0){{location.replace(c+'/index.html');return;}}}}}})();
</script></body></html>
'''


def landing_page(config, built):
    """The language chooser, linking only the editions in ``built``."""
    langs = [c for c in config.languages if c in built]
    links = ''.join(f'<a href="{c}/index.html" hreflang="{c}" lang="{c}">{html.escape(LANGUAGES[c].name)} — '
                    f'{html.escape(config.title_for(c))}</a>' for c in langs)
    alternates = ''.join(f'<link rel="alternate" hreflang="{c}" href="{c}/index.html">' for c in langs)
    codes = '[' + ','.join(f'"{c}"' for c in langs) + ']'
    return LANDING.format(title=html.escape(config.title), links=links, alternates=alternates, codes=codes)


def published_editions(config):
    """The editions whose website the published site holds now."""
    site = config.build_dir / 'site'
    return {lang for lang in config.languages if (site / lang / 'index.html').is_file()}


def notebooks_zip(nb_dir, target, prefix):
    """Zip every notebook of an edition (one per section)."""
    tmp = target.with_suffix('.tmp')
    with zipfile.ZipFile(tmp, 'w', zipfile.ZIP_DEFLATED) as z:
        for path in sorted(nb_dir.rglob('*.ipynb')):
            z.write(path, f'{prefix}/{path.relative_to(nb_dir).as_posix()}')
    os.replace(tmp, target)


def _why_not(renderer, kind, lang):
    if renderer is None:
        return f'{lang} was not built this time'
    if not renderer.output(kind).is_file():
        return 'it was never built'
    return f'the one in {renderer.output(kind).parent} is not current: not built from these sources, or it failed its checks'


def publish(config, editions, log=print, tab_editions=None):
    """``editions``: {lang: Renderer}; ``tab_editions``: {lang: [Renderer of each tab]} for a book
    with several tabs, whose PDFs and notebooks are per tab. Publishes only outputs that are current
    and passed their checks; for the others it carries over what the previous site had, and says so.

    Builds ``_build/sites/<stamp>`` and points the ``_build/site`` symlink at it
    with one atomic rename.
    """
    build = config.build_dir
    sites = build / 'sites'
    sites.mkdir(parents=True, exist_ok=True)
    link = build / 'site'
    previous = link.resolve() if link.is_symlink() else None
    if link.exists() and not link.is_symlink():
        shutil.rmtree(link)     # an old plain directory from an earlier layout
    new = sites / f'{time.strftime("%Y%m%d-%H%M%S")}-{os.getpid()}'
    new.mkdir()
    for lang in config.languages:
        dst, r = new / lang, editions.get(lang)
        old = previous / lang if previous and (previous / lang).is_dir() else None
        per_tab = (tab_editions or {}).get(lang) or ([r] if r is not None else [])
        pdf_names = [t.pdf_name for t in per_tab] or [f'{config.name}-{lang}.pdf']
        if r is not None and r.current('html'):
            shutil.copytree(r.html_dir, dst, ignore=shutil.ignore_patterns('.buildinfo', '.doctrees'))
            if r.slides_dir.is_dir():
                shutil.copytree(r.slides_dir, dst / 'slides')
            shutil.copytree(r.nb_dir, dst / 'notebooks')
            for t in per_tab:
                notebooks_zip(t.nb_dir, dst / t.zip_name, t.zip_name.removesuffix('-notebooks.zip'))
        elif old and (old / 'index.html').is_file():
            shutil.copytree(old, dst, symlinks=True, ignore=shutil.ignore_patterns(*pdf_names))
            if r is not None:
                log(f'publish: {lang} HTML carried over from the previous site ({_why_not(r, "html", lang)})')
        elif r is not None:
            log(f'publish: no {lang} HTML to publish ({_why_not(r, "html", lang)})')
        dst.mkdir(exist_ok=True)
        for t in per_tab or [None]:
            pdf_name = t.pdf_name if t is not None else pdf_names[0]
            what = f'{lang} PDF' + (f' ({t.tab})' if t is not None and t.tab else '')
            if t is not None and t.current('pdf'):
                shutil.copy2(t.output('pdf'), dst / pdf_name)
            elif old and (old / pdf_name).is_file():
                shutil.copy2(old / pdf_name, dst / pdf_name)
                if t is not None:
                    log(f'publish: {what} carried over from the previous site ({_why_not(t, "pdf", lang)})')
            elif t is not None:
                log(f'publish: no {what} to publish ({_why_not(t, "pdf", lang)})')
        if not any(dst.iterdir()):
            dst.rmdir()
    built = {lang for lang in config.languages if (new / lang / 'index.html').is_file()}
    (new / 'index.html').write_text(landing_page(config, built), encoding='utf-8')
    tmp_link = build / f'.site-{os.getpid()}'
    tmp_link.unlink(missing_ok=True)
    tmp_link.symlink_to(Path('sites') / new.name)
    os.replace(tmp_link, link)
    for old in sites.iterdir():
        if old != new:
            shutil.rmtree(old, ignore_errors=True)
    return link


COLAB_GITHUB = re.compile(r'^https://colab\.research\.google\.com/github/[^/]+/[^/]+/blob/[^/]+/(?P<path>.+)$')


def colab_tree_path(template):
    """Where a ``colab_url`` template points inside the notebooks repository: the path after
    ``blob/<branch>/`` for Colab's GitHub links, else from the first segment with a placeholder."""
    m = COLAB_GITHUB.match(template)
    if m:
        return m['path']
    segments = template.split('/')
    return '/'.join(segments[next(i for i, s in enumerate(segments) if '{' in s):])


def write_colab_tree(config):
    """With ``colab_url`` set: ``_build/colab/``, the notebooks of every built edition at the
    paths its Colab links expect, ready to push to the repository that Colab opens.
    Built aside and swapped in, like the site."""
    if not config.colab_url:
        return None
    build = config.build_dir
    target, tmp, old = build / 'colab', build / f'.colab-{os.getpid()}', build / f'.colab-old-{os.getpid()}'
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    layout = colab_tree_path(config.colab_url)
    for lang in config.languages:
        nb_dir = build / lang / 'notebooks'
        for nb in sorted(nb_dir.rglob('*.ipynb')):
            dst = tmp / layout.format(lang=lang, path=nb.relative_to(nb_dir).with_suffix('').as_posix())
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(nb, dst)
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)
    return target
