"""The notices a translated page shows when it is not (or no longer) a translation of the current
English section, in the edition's language. They are Markdown quotes, so they read the same in the
website, the PDF and the downloadable notebooks."""
import posixpath

from .changes import excerpt

TEXT = {
    'ja': {
        'missing': 'この節はまだ翻訳されていません。英語の原文を表示しています。',
        'structure': 'この節は翻訳の後に英語版でコードセルやラベルの構成が変わったため、'
                     '翻訳が追いつくまで英語の原文を表示しています。',
        'stale': 'この節の翻訳は英語版の最新の改訂に追いついていません。',
        'changes': '翻訳の後に[英語版]({url})で変わった箇所（本文にも印を付けています）：',
        'unknown': '変更点は[英語版]({url})で確認してください。',
        'code': 'コードは英語版の最新のものです。',
        'kinds': {'prose': '段落', 'code': 'コードセル', 'toc': '目次'},
        'status': {'changed': '英語版で変更された{kind}', 'added': '英語版で追加された{kind}',
                   'removed': '英語版で削除された{kind}'},
    },
    'zh': {
        'missing': '本节尚未翻译，以下显示英文原文。',
        'structure': '本节在翻译之后，英文版的代码单元或标签结构发生了变化；在译文跟上之前，以下显示英文原文。',
        'stale': '本节的译文尚未跟上英文版的最新修订。',
        'changes': '翻译之后[英文版]({url})中有变化的地方（正文中也已标出）：',
        'unknown': '请在[英文版]({url})中查看变化。',
        'code': '代码是英文版的最新代码。',
        'kinds': {'prose': '段落', 'code': '代码单元', 'toc': '目录'},
        'status': {'changed': '英文版中已修改的{kind}', 'added': '英文版中新增的{kind}',
                   'removed': '英文版中已删除的{kind}'},
    },
    'ko': {
        'missing': '이 절은 아직 번역되지 않았습니다. 영어 원문을 보여 드립니다.',
        'structure': '이 절은 번역 후 영어판에서 코드 셀이나 레이블의 구성이 바뀌어, '
                     '번역이 따라잡을 때까지 영어 원문을 보여 드립니다.',
        'stale': '이 절의 번역은 영어판의 최신 수정 사항을 아직 반영하지 못했습니다.',
        'space': ' ',
        'changes': '번역 후 [영어판]({url})에서 바뀐 곳(본문에도 표시했습니다):',
        'unknown': '바뀐 내용은 [영어판]({url})에서 확인하십시오.',
        'code': '코드는 영어판의 최신 코드입니다.',
        'kinds': {'prose': '단락', 'code': '코드 셀', 'toc': '목차'},
        'status': {'changed': '영어판에서 바뀐 {kind}', 'added': '영어판에서 추가된 {kind}',
                   'removed': '영어판에서 삭제된 {kind}'},
    },
}


def english_url(name):
    """The English page of section ``name``, relative to that section's page in another edition."""
    return posixpath.join(*(['..'] * (name.count('/') + 1)), 'en', f'{name}.html')


def _quote(lines):
    return '\n'.join(f'> {line}'.rstrip() for line in lines)


def missing(lang):
    return _quote([TEXT[lang]['missing']])


def structure(lang):
    return _quote([TEXT[lang]['structure']])


def describe(lang, change):
    """One change in words, with a quote of the English text (of the new version when there is one)."""
    text = TEXT[lang]
    words = text['status'][change.status].format(kind=text['kinds'][change.kind])
    quote = excerpt(change).replace('`', '')
    return f'{words}: `{quote}`' if quote else words


def stale(lang, name, changes, known=True):
    """The notice at the top of a stale page: what changed in English, per paragraph and cell."""
    text = TEXT[lang]
    url = english_url(name)
    lines = [text['stale'] + text.get('space', '') + (text['changes'] if known and changes else text['unknown']).format(url=url)]
    if known and changes:
        lines.append('')
        lines += [f'- {describe(lang, c)}' for c in changes]
    if not known or any(c.kind == 'code' for c in changes):
        lines += ['', text['code']]
    return _quote(lines)


def mark(lang, change):
    """The mark in the text of a stale page, before the paragraph or code cell that changed."""
    return _quote([describe(lang, change)])
