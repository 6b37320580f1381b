"""What each edition needs besides its text: names, Sphinx language, CJK fonts, notices."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    code: str            # directory name under chapters/
    name: str            # the name readers see in the language switcher
    sphinx: str          # Sphinx `language`
    cjk_font: str = ''   # Noto CJK family suffix for xeCJK (JP, SC, KR); '' for none
    fallback_notice: str = ''
    stale_notice: str = ''
    contents: str = 'Contents'
    references: str = 'References'
    date_format: str = ''
    chapter_name: str = ''      # word before the chapter number in PDF page headers


LANGUAGES = {
    'en': Language('en', 'English', 'en', chapter_name='Chapter'),
    'ja': Language(
        'ja', '日本語', 'ja', 'JP',
        fallback_notice='この節はまだ翻訳されていません。英語の原文を表示しています。',
        stale_notice='この節の翻訳は英語版の最新の改訂に追いついていません。',
        contents='目次', references='参考文献', date_format='%Y年%m月%d日'),
    'zh': Language(
        'zh', '中文', 'zh_CN', 'SC',
        fallback_notice='本节尚未翻译，以下显示英文原文。',
        stale_notice='本节的译文尚未跟上英文版的最新修订。',
        contents='目录', references='参考文献', date_format='%Y年%m月%d日'),
    'ko': Language(
        'ko', '한국어', 'ko', 'KR',
        fallback_notice='이 절은 아직 번역되지 않았습니다. 영어 원문을 보여 드립니다.',
        stale_notice='이 절의 번역은 영어판의 최신 수정 사항을 아직 반영하지 못했습니다.',
        contents='목차', references='참고 문헌', date_format='%Y년 %m월 %d일'),
}

SOURCE = 'en'
