// sphinx-copybutton has no Japanese or Korean messages (its Chinese ones serve lang="zh-CN").
// Its script declares `messages` and `locale` globally and makes its buttons when the page has
// loaded, so adding the edition's messages here, just after it, is enough.
(function () {
  const editions = {
    ja: {copy: 'コピー', copy_to_clipboard: 'クリップボードにコピー', copy_success: 'コピーしました',
         copy_failure: 'コピーできませんでした'},
    ko: {copy: '복사', copy_to_clipboard: '클립보드에 복사', copy_success: '복사했습니다',
         copy_failure: '복사하지 못했습니다'},
  };
  const lang = document.documentElement.lang;
  if (typeof messages !== 'undefined' && editions[lang] && !(lang in messages)) {
    messages[lang] = editions[lang];
    locale = lang;
  }
})();
