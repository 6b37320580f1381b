"""Sphinx extension with the book's per-language settings and page furniture.

conf.py (written by d2lbook) sets ``d2l_language``, ``d2l_languages`` and
``d2l_links``; everything else is derived here instead of by editing conf.py text.
"""
import html
import posixpath
import re
from pathlib import Path

from sphinx.builders.latex import LaTeXBuilder
from sphinx.builders.latex.util import ExtBabel
from sphinx.search import SearchLanguage

from .languages import LANGUAGES
from .slides import LABEL as SLIDES_LABEL

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


# HTML fonts: the system's, with the edition's CJK family first among the CJK ones,
# so that Han characters take the forms of the edition's language.
HTML_CJK_FONTS = {
    'JP': '"Hiragino Sans", "Hiragino Kaku Gothic ProN", "Noto Sans CJK JP", "Noto Sans JP", "Yu Gothic", Meiryo',
    'SC': '"PingFang SC", "Hiragino Sans GB", "Noto Sans CJK SC", "Noto Sans SC", "Microsoft YaHei"',
    'KR': '"Apple SD Gothic Neo", "Noto Sans CJK KR", "Noto Sans KR", "Malgun Gothic"',
}


def _font_stacks(cjk):
    cjk = HTML_CJK_FONTS[cjk] + ', ' if cjk else ''
    return {'font-stack': '-apple-system, BlinkMacSystemFont, "Segoe UI", Helvetica, Arial, '
                          f'{cjk}sans-serif, "Apple Color Emoji", "Segoe UI Emoji"',
            'font-stack--monospace': '"SFMono-Regular", Menlo, Consolas, Monaco, "Liberation Mono", '
                                     f'"DejaVu Sans Mono", {cjk}monospace'}


def on_config_inited(app, config):
    lang = LANGUAGES[config.d2l_language]
    # Furo: responsive, light and dark, no fonts, icons or scripts from other hosts.
    # (furo 2023.3.27 is the last release that supports Sphinx 5.)
    config.html_theme = 'furo'
    config.html_title = config.project
    config.html_theme_options = {'top_of_page_button': None,
                                 'light_css_variables': _font_stacks(lang.cjk_font)}
    config.pygments_dark_style = 'github-dark'
    config.html_static_path = list(config.html_static_path) + [config.d2l_static]
    config.mathjax_path = 'mathjax/tex-chtml-full.js'
    config.mathjax3_config = {'options': {'enableMenu': False}}
    config.html_show_sourcelink = False
    config.html_copy_source = False
    # sphinx-copybutton copies code cells only (outputs are not highlighted blocks),
    # without prompts or the output lines of console-style examples.
    config.copybutton_prompt_text = r'>>> |\.\.\. |\$ |In \[\d*\]: | {2,5}\.\.\.: '
    config.copybutton_prompt_is_regexp = True
    config.copybutton_exclude = '.linenos, .gp, .go'
    config.copybutton_selector = 'div:not(.output) > div.highlight pre'
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


# The theme's own words, in the editions' languages (Sphinx's catalogs lack them).
THEME_TEXT = {
    'On this page': {'ja': 'このページの内容', 'zh': '本页目录', 'ko': '이 페이지의 내용'},
    'Next': {'ja': '次へ', 'zh': '下一页', 'ko': '다음'},
    'Previous': {'ja': '前へ', 'zh': '上一页', 'ko': '이전'},
    'Back to top': {'ja': 'ページの先頭へ', 'zh': '回到顶部', 'ko': '맨 위로'},
    'Home': {'ja': 'ホーム', 'zh': '首页', 'ko': '홈'},
}


def add_theme_text(app):
    """Add THEME_TEXT to Sphinx's message catalog for this edition, from a .mo file
    written in the build's own directory."""
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    code, locale = app.config.d2l_language, app.config.language
    catalog = Catalog(locale=locale, domain='sphinx')
    for msgid, translations in THEME_TEXT.items():
        if code in translations:
            catalog.add(msgid, translations[code])
    if not len(catalog):
        return
    base = Path(app.doctreedir) / 'theme-locale'
    mo = base / locale / 'LC_MESSAGES' / 'sphinx.mo'
    mo.parent.mkdir(parents=True, exist_ok=True)
    with open(mo, 'wb') as f:
        write_mo(f, catalog)
    app.add_message_catalog('sphinx', str(base))


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
    # Sections only: the index, the references and Sphinx's own pages have no notebook.
    if pagename != 'index' and (Path(links['notebooks']) / f'{pagename}.ipynb').is_file():
        extras.append(f'<a class="d2l-notebook" href="{_relative(pagename, "notebooks/" + pagename + ".ipynb")}" download>'
                      f'{html.escape(links["notebook_label"])}</a>')
        if pagename in cfg.d2l_slides:
            extras.append(f'<a class="d2l-slides" href="{_relative(pagename, "slides/" + pagename + ".html")}">'
                          f'{html.escape(SLIDES_LABEL[here])}</a>')
        for key in ('colab', 'discuss'):
            template = links.get(key)
            if template:
                url = template.format(lang=here, path=pagename)
                extras.append(f'<a class="d2l-{key}" href="{html.escape(url)}">{html.escape(links[key + "_label"])}</a>')
    if links.get('tabs'):       # several tabs: a PDF and a notebook zip of each
        extras.append('PDF ' + ' '.join(f'<a class="d2l-pdf" data-tab="{html.escape(t)}" href="{_relative(pagename, pdf)}">'
                                        f'{html.escape(t)}</a>' for t, pdf, _ in links['tabs']))
        extras.append('ZIP ' + ' '.join(f'<a class="d2l-zip" data-tab="{html.escape(t)}" href="{_relative(pagename, z)}">'
                                        f'{html.escape(t)}</a>' for t, _, z in links['tabs']))
    else:
        extras.append(f'<a class="d2l-pdf" href="{_relative(pagename, links["pdf"])}">PDF</a>')
    bar = ('<nav class="d2l-bar"><span class="d2l-langs">' + ' · '.join(items) + '</span>'
           '<span class="d2l-links">' + ' · '.join(extras) + '</span></nav>')
    context['body'] = bar + context.get('body', '')
    alternates = ''.join(
        f'<link rel="alternate" hreflang="{code}" href="{_relative(pagename, f"../{code}/{pagename}.html")}">'
        for code in cfg.d2l_languages)
    # An empty icon keeps browsers from asking the server for /favicon.ico.
    context['metatags'] = context.get('metatags', '') + alternates + '<link rel="icon" href="data:,">'


def hide_empty_outline(app, pagename, templatename, context, doctree):
    """Furo 2023.3.27 counts a page with several toctrees (the book's index) as having an outline:
    it shows an empty one and its scroll spy throws. Hide an outline without a heading to link to."""
    if 'furo_hide_toc' in context and not re.search(r'href="#[^"]', context.get('toc') or ''):
        context['furo_hide_toc'] = True


def add_tabs(app, config):
    """A book with several tabs: the script and style that switch them (static/tabs.*)."""
    if len(config.d2l_tabs) > 1:
        app.add_js_file('tabs.js')
        app.add_css_file('tabs.css')


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


class BookLaTeXBuilder(LaTeXBuilder):
    """Sphinx's LaTeX builder, knowing that the CJK editions load neither Babel nor polyglossia
    (xeCJK typesets them; ``on_config_inited`` empties both): Babel then needs no name for the
    language, and Sphinx's warning that it knows none for Korean ('ko') does not apply."""

    def init_babel(self):
        if self.context['babel'] or self.context['polyglossia']:
            return super().init_babel()
        self.babel = ExtBabel(self.config.language)
        self.babel.supported = True     # no language package is loaded: nothing is unsupported


def setup(app):
    app.add_search_language(SearchKorean)
    app.add_builder(BookLaTeXBuilder, override=True)
    app.add_config_value('d2l_language', 'en', 'env')
    app.add_config_value('d2l_languages', ['en'], 'html')
    app.add_config_value('d2l_slides', [], 'html')        # the sections with a slide deck
    app.add_config_value('d2l_links', {}, 'html')
    app.add_config_value('d2l_static', '', 'html')      # the book's static/ (or the build system's)
    app.add_config_value('d2l_tabs', [], 'html')        # several: pages show them as tabs (static/tabs.js)
    app.setup_extension('sphinx_copybutton')
    app.connect('config-inited', on_config_inited, priority=100)   # before sphinx-copybutton reads its settings
    app.connect('config-inited', lambda app, config: add_theme_text(app))
    app.connect('config-inited', add_tabs)
    app.connect('html-page-context', on_page_context)
    app.connect('html-page-context', hide_empty_outline, priority=600)    # after Furo's own
    app.add_css_file('book.css')
    app.add_js_file('copybutton-l10n.js', priority=600)     # after sphinx-copybutton's script
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
