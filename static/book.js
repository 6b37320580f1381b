// The book's page scripts: copy buttons on code cells and a light/dark switch. No network access.
(function () {
  var KEY = 'd2l-theme';
  var saved = null;
  try { saved = localStorage.getItem(KEY); } catch (e) { /* storage may be disabled */ }
  if (saved) document.documentElement.setAttribute('data-theme', saved);

  function addCopyButtons() {
    document.querySelectorAll('div.highlight pre').forEach(function (pre) {
      var box = pre.parentElement;
      if (box.querySelector('button.d2l-copy')) return;
      var button = document.createElement('button');
      button.className = 'd2l-copy';
      button.type = 'button';
      button.textContent = 'Copy';
      button.setAttribute('aria-label', 'Copy code');
      button.addEventListener('click', function () {
        var text = pre.innerText;
        var done = function () { button.textContent = '✓'; setTimeout(function () { button.textContent = 'Copy'; }, 1200); };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, function () {});
        } else {
          var area = document.createElement('textarea');
          area.value = text; document.body.appendChild(area); area.select();
          try { document.execCommand('copy'); done(); } catch (e) { /* nothing to do */ }
          document.body.removeChild(area);
        }
      });
      box.appendChild(button);
    });
  }

  function addThemeSwitch() {
    var bar = document.querySelector('nav.d2l-bar .d2l-links');
    if (!bar) return;
    var button = document.createElement('button');
    button.className = 'd2l-theme';
    button.type = 'button';
    button.setAttribute('aria-label', 'Switch between light and dark appearance');
    var dark = function () {
      var t = document.documentElement.getAttribute('data-theme');
      return t ? t === 'dark' : window.matchMedia('(prefers-color-scheme: dark)').matches;
    };
    var label = function () { button.textContent = dark() ? '☀' : '☾'; };
    button.addEventListener('click', function () {
      var next = dark() ? 'light' : 'dark';
      document.documentElement.setAttribute('data-theme', next);
      try { localStorage.setItem(KEY, next); } catch (e) { /* storage may be disabled */ }
      label();
    });
    label();
    bar.appendChild(document.createTextNode(' '));
    bar.appendChild(button);
  }

  document.addEventListener('DOMContentLoaded', function () { addCopyButtons(); addThemeSwitch(); });
})();
