"""What each edition needs besides its text: names, Sphinx language, CJK fonts, labels."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    code: str            # directory name under chapters/
    name: str            # the name readers see in the language switcher
    sphinx: str          # Sphinx `language`
    cjk_font: str = ''   # Noto CJK family suffix for xeCJK (JP, SC, KR); '' for none
    contents: str = 'Contents'
    references: str = 'References'
    date_format: str = ''
    chapter_name: str = ''      # word before the chapter number in PDF page headers


LANGUAGES = {
    'en': Language('en', 'English', 'en', chapter_name='Chapter'),
    'ja': Language(
        'ja', '日本語', 'ja', 'JP',
        contents='目次', references='参考文献', date_format='%Y年%m月%d日'),
    'zh': Language(
        'zh', '中文', 'zh_CN', 'SC',
        contents='目录', references='参考文献', date_format='%Y年%m月%d日'),
    'ko': Language(
        'ko', '한국어', 'ko', 'KR',
        contents='목차', references='참고 문헌', date_format='%Y년 %m월 %d일'),
}

SOURCE = 'en'
