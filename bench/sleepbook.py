"""The generated workload of the benchmark: a book whose code only sleeps, so the cost of executing
it is known and what is measured is the build's own overhead. Standard library only."""
import hashlib
import json
from pathlib import Path

from realbook import d2lbook_fonts

ALL_LANGS = ['en', 'ja', 'zh', 'ko']
EDITED = 3          # the section the edits change (clamped to the number of sections)

TEXT = {
    'en': dict(
        book='Build Benchmark',
        book_intro='A generated book: every section executes code that only sleeps, so the cost '
                   'of executing it is known and the benchmark measures the build.',
        chapter='Sleeping Code',
        chapter_intro='The sections of this chapter execute code that sleeps a fixed time.',
        section='Section {k}: Waiting',
        prose=['This section belongs to :numref:`chap_bench` . Its code sleeps for a fixed time, so '
               'the cost of executing it is known in advance and the benchmark measures the build, '
               'not the code.',
               'We first compute a small sum, then wait. The result does not depend on the language '
               'of the edition: every translation runs exactly the same program.'],
        figure='A box.',
        summary='Summary',
        point='Executing this section takes about {sleep} seconds.',
        c_sum='compute a small sum', c_sleep='sleep a fixed time: the cost of this section',
        edit='Edit {n}: one more sentence of prose, which changes no code.'),
    'ja': dict(
        book='ビルドのベンチマーク',
        book_intro='生成された本です。どの節も眠るだけのコードを実行するので、実行のコストがわかり、'
                   'ベンチマークはビルドを測ります。',
        chapter='眠るコード',
        chapter_intro='この章の節は、決まった時間だけ眠るコードを実行します。',
        section='第{k}節: 待つ',
        prose=['この節は :numref:`chap_bench` の一部です。コードは決まった時間だけ眠るので、実行の'
               'コストは前もってわかり、ベンチマークはコードではなくビルドを測ります。',
               'まず小さな和を計算し、それから待ちます。結果は版の言語によりません。どの翻訳もまったく'
               '同じプログラムを実行します。'],
        figure='箱。',
        summary='まとめ',
        point='この節の実行にはおよそ {sleep} 秒かかります。',
        c_sum='小さな和を計算する', c_sleep='決まった時間だけ眠る: この節のコスト',
        edit='編集 {n}: コードを変えない文をひとつ足します。'),
    'zh': dict(
        book='构建基准测试',
        book_intro='一本生成的书：每一节执行的代码只是休眠，因此执行的代价已知，基准测试衡量的是构建。',
        chapter='休眠的代码',
        chapter_intro='本章的各节执行休眠固定时间的代码。',
        section='第{k}节：等待',
        prose=['本节属于 :numref:`chap_bench` 。它的代码休眠固定的时间，因此执行的代价事先可知，'
               '基准测试衡量的是构建而不是代码。',
               '我们先计算一个小的和，然后等待。结果与版本的语言无关：每个译本都运行完全相同的程序。'],
        figure='一个方框。',
        summary='小结',
        point='执行本节大约需要 {sleep} 秒。',
        c_sum='计算一个小的和', c_sleep='休眠固定的时间：本节的代价',
        edit='编辑 {n}：再加一句不改变代码的话。'),
    'ko': dict(
        book='빌드 벤치마크',
        book_intro='생성된 책입니다. 모든 절은 잠들기만 하는 코드를 실행하므로 실행 비용을 알 수 있고, '
                   '벤치마크는 빌드를 측정합니다.',
        chapter='잠자는 코드',
        chapter_intro='이 장의 절들은 정해진 시간 동안 잠드는 코드를 실행합니다.',
        section='{k}절: 기다리기',
        prose=['이 절은 :numref:`chap_bench` 에 속합니다. 코드는 정해진 시간 동안 잠들기 때문에 실행 '
               '비용을 미리 알 수 있고, 벤치마크는 코드가 아니라 빌드를 측정합니다.',
               '먼저 작은 합을 계산한 뒤 기다립니다. 결과는 판의 언어와 상관없습니다. 모든 번역은 '
               '똑같은 프로그램을 실행합니다.'],
        figure='상자.',
        summary='요약',
        point='이 절을 실행하는 데 약 {sleep} 초가 걸립니다.',
        c_sum='작은 합을 계산한다', c_sleep='정해진 시간 동안 잠든다: 이 절의 비용',
        edit='편집 {n}: 코드를 바꾸지 않는 문장을 하나 더합니다.'),
}

SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="120" height="60" viewBox="0 0 120 60">'
       '<rect x="10" y="10" width="100" height="40" fill="none" stroke="black"/></svg>\n')
FENCE = '```'


class BookText:
    """The book's content; edits bump a section's prose, code or translation revision."""
    def __init__(self, sections, sleep):
        self.n, self.sleep = sections, sleep
        self.prose_rev = {}     # section -> number of prose edits (English only)
        self.code_rev = {}      # section -> number of code edits (every edition)
        self.tr_rev = {}        # section -> number of prose edits of the Japanese translation

    @property
    def count(self):
        return self.n

    def describe(self):
        return f'a generated book of {self.n} sections whose code sleeps {self.sleep:g} s'

    def edit(self, kind):
        """Edit the edited section: ``prose`` (English), ``code`` (every edition) or ``translation``
        (Japanese prose); return the languages whose files changed."""
        k = min(EDITED, self.n)
        revs = {'prose': self.prose_rev, 'code': self.code_rev, 'translation': self.tr_rev}[kind]
        revs[k] = revs.get(k, 0) + 1
        return {'prose': ['en'], 'code': ALL_LANGS, 'translation': ['ja']}[kind]

    def write_ours(self, root, langs):
        write_ours(root, langs, self)

    def write_d2lbook(self, bookdir, lang):
        write_d2lbook(bookdir, lang, self)

    def name(self, k):
        return f'chapter_bench/sec_{k:02d}'

    def files(self, lang):
        """{relative path: text} of one edition, in d2lbook Markdown."""
        t = TEXT[lang]
        files = {'index.md': '\n'.join([
            t['book'], '=' * 2 * len(t['book']), '', t['book_intro'], '',
            FENCE + 'toc', ':maxdepth: 2', ':numbered:', '', 'chapter_bench/index', FENCE, ''])}
        files['chapter_bench/index.md'] = '\n'.join(
            [f'# {t["chapter"]}', ':label:`chap_bench`', '', t['chapter_intro'], '', FENCE + 'toc',
             ':maxdepth: 2', ''] + [f'sec_{k:02d}' for k in range(1, self.n + 1)] + [FENCE, ''])
        for k in range(1, self.n + 1):
            files[self.name(k) + '.md'] = self.section(lang, k)
        return files

    def section(self, lang, k):
        t = TEXT[lang]
        lines = [f'# {t["section"].format(k=k)}', f':label:`sec_bench_{k}`', '']
        for p in t['prose']:
            lines += [p, '']
        if k == 1:
            lines += [f'![{t["figure"]}](../img/box.svg)', ':label:`fig_bench_box`', '']
        lines += ['$$s = \\sum_{i=1}^{n} i = \\frac{n(n+1)}{2}.$$', '',
                  FENCE + '{.python .input}', f'# {t["c_sum"]}', 'n = 100', 's = sum(range(1, n + 1))',
                  "print('sum:', s)", FENCE, '']
        rev = self.code_rev.get(k, 0)
        done = f"print('section {k} done')" if not rev else f"print('section {k} done, revision {rev}')"
        lines += [FENCE + '{.python .input}', f'# {t["c_sleep"]}', 'import time',
                  f'time.sleep({self.sleep})', done, FENCE, '',
                  f'## {t["summary"]}', '', f'* {t["point"].format(sleep=self.sleep)}']
        if lang == 'en':
            lines += [f'* {TEXT["en"]["edit"].format(n=i)}' for i in range(1, self.prose_rev.get(k, 0) + 1)]
        if lang == 'ja':
            lines += [f'* {TEXT["ja"]["edit"].format(n=i)}' for i in range(1, self.tr_rev.get(k, 0) + 1)]
        return '\n'.join(lines) + '\n'


def write_if_changed(path, text):
    """Only touch files whose content changes (d2lbook decides by modification time)."""
    path = Path(path)
    if path.is_file() and path.read_text(encoding='utf-8') == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding='utf-8')
    return True


def write_ours(root, langs, book):
    """This project's layout: config.ini, chapters/<lang>/, img/, translations.lock."""
    root = Path(root)
    config = ['[project]', 'name = benchbook', f'title = {TEXT["en"]["book"]}', 'author = The Benchmark',
              'release = 0.1.0', '', '[build]', 'languages = ' + ', '.join(langs), '']
    for lang in langs:
        if lang != 'en':
            config += [f'[{lang}]', f'title = {TEXT[lang]["book"]}', '']
    write_if_changed(root / 'config.ini', '\n'.join(config))
    write_if_changed(root / 'img' / 'box.svg', SVG)
    for lang in langs:
        for rel, text in book.files(lang).items():
            write_if_changed(root / 'chapters' / lang / rel, text)
    # a new translation is recorded as following the English text as it is now
    lock_path = root / 'translations.lock'
    data = json.loads(lock_path.read_text(encoding='utf-8')) if lock_path.is_file() else {}
    for lang in langs:
        if lang != 'en' and lang not in data:
            data[lang] = {rel: hashlib.sha256((root / 'chapters' / 'en' / rel).read_bytes()).hexdigest()[:16]
                          for rel in sorted(book.files('en'))}
    write_if_changed(lock_path, json.dumps(data, indent=1, ensure_ascii=False) + '\n')


def write_d2lbook(bookdir, lang, book):
    """One plain d2lbook book per language, as D2L keeps them (d2l-en, d2l-ja, ...)."""
    bookdir = Path(bookdir)
    config = ['[project]', f'name = benchbook-{lang}', f'title = {TEXT[lang]["book"]}',
              'author = The Benchmark', 'release = 0.1.0', f'lang = {lang}', '',
              '[build]', 'index = index', 'notebooks = **/*.md', 'resources = img', 'eval_notebook = True',
              d2lbook_fonts(lang), '']
    write_if_changed(bookdir / 'config.ini', '\n'.join(config))
    write_if_changed(bookdir / 'img' / 'box.svg', SVG)
    for rel, text in book.files(lang).items():
        write_if_changed(bookdir / rel, text)


