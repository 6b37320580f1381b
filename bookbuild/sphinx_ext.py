"""Sphinx extension with the book's per-language settings and page furniture.

conf.py (written by d2lbook) sets ``d2l_language``, ``d2l_languages`` and
``d2l_links``; everything else is derived here instead of by editing conf.py text.
"""
import html
import posixpath
import re

from sphinx.search import SearchLanguage

from .languages import LANGUAGES

LATIN_FONTS = r'''
\setmainfont{Latin Modern Roman}
\setsansfont{Latin Modern Sans}
\setmonofont{DejaVu Sans Mono}[Scale=0.82]
'''


def _cjk_fonts(suffix):
    # Korean separates words with spaces; xeCJK drops spaces between CJK characters unless told.
    space = r'\xeCJKsetup{CJKspace=true}' '\n' if suffix == 'KR' else ''
    return (r'\usepackage{fontspec}' '\n' r'\usepackage{xeCJK}' '\n' + space +
            rf'\setCJKmainfont{{Noto Serif CJK {suffix}}}' '\n'
            rf'\setCJKsansfont{{Noto Sans CJK {suffix}}}' '\n'
            rf'\setCJKmonofont{{Noto Sans Mono CJK {suffix}}}' '\n')


def on_config_inited(app, config):
    lang = LANGUAGES[config.d2l_language]
    # A light theme and local assets only: no fonts, icons or MathJax from other hosts.
    config.html_theme = 'alabaster'
    config.html_theme_options = {'fixed_sidebar': True, 'show_relbars': True, 'show_powered_by': False,
                                 'sidebar_width': '260px', 'page_width': '1180px'}
    config.html_sidebars = {'**': ['about.html', 'searchbox.html', 'navigation.html', 'relations.html']}
    config.html_static_path = list(config.html_static_path) + [config.d2l_static]
    config.mathjax_path = 'mathjax/tex-chtml-full.js'
    config.mathjax3_config = {'options': {'enableMenu': False}}
    config.html_show_sourcelink = False
    config.html_copy_source = False
    config.numfig_secnum_depth = 1      # Fig. 2.3 in HTML, as in the PDF
    config.latex_docclass = {'manual': 'report', 'howto': 'article'}
    elements = dict(config.latex_elements)
    elements['fontpkg'] = LATIN_FONTS
    # d2lbook loads natbib for author-year citations, which Sphinx's bibliography
    # environment does not provide; numeric citations work with it.
    elements['preamble'] = elements.get('preamble', '').replace(
        r'\usepackage{natbib}', r'\usepackage[numbers]{natbib}')
    if lang.cjk_font:
        elements.update(polyglossia='', babel='', fontenc=_cjk_fonts(lang.cjk_font),
                        fvset=r'\fvset{fontsize=\small,formatcom=\xeCJKVerbAddon}')
    else:   # the names of the other editions, e.g. on the front page
        elements['fontenc'] = elements.get('fontenc', r'\usepackage{fontspec}') + '\n' + _cjk_fonts('JP')
    elements['preamble'] += '\n\\usepackage{qrcode}'
    elements['preamble'] += '\n' + (r'\AtBeginDocument{\renewcommand{\bibname}{%s}'
                                    r'\renewcommand{\contentsname}{%s}'
                                    r'\renewcommand{\chaptername}{%s}}' % (lang.references, lang.contents,
                                                                            lang.chapter_name))
    config.latex_elements = elements
    if lang.date_format:
        config.today_fmt = lang.date_format


def _relative(pagename, target):
    """Link from the page ``pagename`` to ``target`` (both relative to the language root)."""
    depth = pagename.count('/')
    return posixpath.join(*(['..'] * depth + [target])) if depth else target


def on_page_context(app, pagename, templatename, context, doctree):
    cfg = app.config
    here = cfg.d2l_language
    links = cfg.d2l_links
    items = []
    for code in cfg.d2l_languages:
        url = _relative(pagename, f'../{code}/{pagename}.html')
        name = html.escape(LANGUAGES[code].name)
        cls = ' class="d2l-current"' if code == here else ''
        items.append(f'<a href="{url}" hreflang="{code}" lang="{code}"{cls}>{name}</a>')
    extras = []
    if doctree is not None and pagename != 'index':
        extras.append(f'<a class="d2l-notebook" href="{_relative(pagename, "notebooks/" + pagename + ".ipynb")}" download>'
                      f'{html.escape(links["notebook_label"])}</a>')
        for key in ('colab', 'discuss'):
            template = links.get(key)
            if template:
                url = template.format(lang=here, path=pagename)
                extras.append(f'<a class="d2l-{key}" href="{html.escape(url)}">{html.escape(links[key + "_label"])}</a>')
    extras.append(f'<a class="d2l-pdf" href="{_relative(pagename, links["pdf"])}">PDF</a>')
    bar = ('<nav class="d2l-bar"><span class="d2l-langs">' + ' · '.join(items) + '</span>'
           '<span class="d2l-links">' + ' · '.join(extras) + '</span></nav>')
    context['body'] = bar + context.get('body', '')
    alternates = ''.join(
        f'<link rel="alternate" hreflang="{code}" href="{_relative(pagename, f"../{code}/{pagename}.html")}">'
        for code in cfg.d2l_languages)
    # An empty icon keeps browsers from asking the server for /favicon.ico.
    context['metatags'] = context.get('metatags', '') + alternates + '<link rel="icon" href="data:,">'


class SearchKorean(SearchLanguage):
    """Korean search: words are indexed with every prefix of two or more syllables,
    so a query for a noun finds it with its particles attached (배열 finds 배열을)."""
    lang = 'ko'
    language_name = 'Korean'
    HANGUL = re.compile(r'[\uac00-\ud7a3]')

    def split(self, input):
        words = []
        for word in self._word_re.findall(input):
            words.append(word)
            if self.HANGUL.search(word):
                words.extend(word[:n] for n in range(2, len(word)))
        return words

    def word_filter(self, word):
        return len(word) > 1 or bool(self.HANGUL.search(word))

    def stem(self, word):
        return word.lower()


def setup(app):
    app.add_search_language(SearchKorean)
    app.add_config_value('d2l_language', 'en', 'env')
    app.add_config_value('d2l_languages', ['en'], 'html')
    app.add_config_value('d2l_links', {}, 'html')
    app.add_config_value('d2l_static', '', 'html')
    app.add_config_value('d2l_setup', '', 'html')     # hash of the code, tools and assets behind the pages
    app.connect('config-inited', on_config_inited)
    app.connect('html-page-context', on_page_context)
    app.add_css_file('book.css')
    app.add_js_file('book.js')
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
