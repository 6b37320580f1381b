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


def landing_page(config):
    links = ''.join(f'<a href="{c}/index.html" hreflang="{c}" lang="{c}">{html.escape(LANGUAGES[c].name)} — '
                    f'{html.escape(config.title_for(c))}</a>' for c in config.languages)
    alternates = ''.join(f'<link rel="alternate" hreflang="{c}" href="{c}/index.html">' for c in config.languages)
    codes = '[' + ','.join(f'"{c}"' for c in config.languages) + ']'
    return LANDING.format(title=html.escape(config.title), links=links, alternates=alternates, codes=codes)


def notebooks_zip(nb_dir, target, prefix):
    """Zip every notebook of an edition (one per section)."""
    tmp = target.with_suffix('.tmp')
    with zipfile.ZipFile(tmp, 'w', zipfile.ZIP_DEFLATED) as z:
        for path in sorted(nb_dir.rglob('*.ipynb')):
            z.write(path, f'{prefix}/{path.relative_to(nb_dir).as_posix()}')
    os.replace(tmp, target)


def publish(config, editions):
    """``editions``: {lang: Renderer} with html built (and pdf when present).

    Builds ``_build/sites/<stamp>`` and points the ``_build/site`` symlink at it
    with one atomic rename. Languages not rebuilt this time are carried over
    from the previous site.
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
        dst = new / lang
        renderer = editions.get(lang)
        if renderer is None or not renderer.html_dir.is_dir():
            if previous and (previous / lang).is_dir():
                shutil.copytree(previous / lang, dst, symlinks=True)
            continue
        shutil.copytree(renderer.html_dir, dst, ignore=shutil.ignore_patterns('.buildinfo', '.doctrees'))
        shutil.copytree(renderer.nb_dir, dst / 'notebooks')
        notebooks_zip(renderer.nb_dir, dst / f'{config.name}-{lang}-notebooks.zip', f'{config.name}-{lang}')
        pdf = renderer.latex_dir / f'{config.name}-{lang}.pdf'
        if pdf.is_file():
            shutil.copy2(pdf, dst / renderer.pdf_name)
        elif previous and (previous / lang / renderer.pdf_name).is_file():
            shutil.copy2(previous / lang / renderer.pdf_name, dst / renderer.pdf_name)
    (new / 'index.html').write_text(landing_page(config), encoding='utf-8')
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
