/* Framework tabs (a book with several tabs): one choice for every group of tabs on the page,
   remembered in this browser and followed by the other pages of the book open at the same time.
   Without this script every tab's code shows, one after the other. */
(function () {
  var KEY = 'd2l-tab';
  var root = document.documentElement;
  root.classList.add('d2l-tabs-js');

  function stored() {
    try { return localStorage.getItem(KEY); } catch (e) { return null; }
  }

  function children(el, cls) {
    return Array.prototype.filter.call(el.children, function (c) { return c.classList.contains(cls); });
  }

  function show(tab) {
    document.querySelectorAll('.d2l-tabs').forEach(function (group) {
      var bar = children(group, 'd2l-tab-bar')[0];
      var buttons = bar ? Array.prototype.slice.call(bar.querySelectorAll('button[data-tab]')) : [];
      var names = buttons.map(function (b) { return b.dataset.tab; });
      var active = names.indexOf(tab) >= 0 ? tab : names[0];
      buttons.forEach(function (b) {
        var on = b.dataset.tab === active;
        b.classList.toggle('d2l-active', on);
        b.setAttribute('aria-selected', on ? 'true' : 'false');
        b.tabIndex = on ? 0 : -1;
      });
      children(group, 'd2l-tab-panel').forEach(function (p) {
        p.classList.toggle('d2l-active', p.dataset.tab === active);
      });
    });
    document.querySelectorAll('nav.d2l-bar a[data-tab]').forEach(function (a) {
      a.classList.toggle('d2l-current', a.dataset.tab === tab);
    });
  }

  function choose(tab) {
    try { localStorage.setItem(KEY, tab); } catch (e) { /* private mode: this page only */ }
    show(tab);
  }

  document.addEventListener('click', function (e) {
    var button = e.target.closest && e.target.closest('.d2l-tab-bar button[data-tab]');
    if (!button) return;
    // keep the clicked group where it is on the screen while the others change height
    var before = button.getBoundingClientRect().top;
    choose(button.dataset.tab);
    window.scrollBy(0, button.getBoundingClientRect().top - before);
  });
  document.addEventListener('keydown', function (e) {
    var button = e.target.closest && e.target.closest('.d2l-tab-bar button[data-tab]');
    if (!button || (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft')) return;
    var all = Array.prototype.slice.call(button.parentNode.querySelectorAll('button[data-tab]'));
    var next = all[(all.indexOf(button) + (e.key === 'ArrowRight' ? 1 : all.length - 1)) % all.length];
    choose(next.dataset.tab);
    next.focus();
  });
  window.addEventListener('storage', function (e) {     // another page of the book chose a tab
    if (e.key === KEY && e.newValue) show(e.newValue);
  });
  function start() {
    var first = document.querySelector('.d2l-tab-bar button[data-tab]');
    show(stored() || (first && first.dataset.tab));
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
