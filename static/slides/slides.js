// Slide decks (bookbuild/slides.py): keys, buttons and the address (#3) move between slides.
(function () {
  var slides = Array.prototype.slice.call(document.querySelectorAll('.slide'));
  var counter = document.querySelector('.deck-counter');
  var current = -1;

  function show(index) {
    index = Math.max(0, Math.min(slides.length - 1, index));
    if (index === current) return;
    current = index;
    slides.forEach(function (slide, i) { slide.hidden = i !== index; });
    slides[index].scrollTop = 0;
    counter.textContent = (index + 1) + ' / ' + slides.length;
    if (location.hash !== '#' + (index + 1)) history.replaceState(null, '', '#' + (index + 1));
  }

  function fromHash() {
    var n = parseInt(location.hash.slice(1), 10);
    show(isNaN(n) ? 0 : n - 1);
  }

  var NEXT = ['ArrowRight', 'ArrowDown', 'PageDown', ' ', 'Enter', 'n'];
  var PREV = ['ArrowLeft', 'ArrowUp', 'PageUp', 'Backspace', 'p'];
  document.addEventListener('keydown', function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    var key = e.key;
    if (key === ' ' && e.shiftKey) key = 'PageUp';
    if (NEXT.indexOf(key) >= 0) show(current + 1);
    else if (PREV.indexOf(key) >= 0) show(current - 1);
    else if (key === 'Home') show(0);
    else if (key === 'End') show(slides.length - 1);
    else return;
    e.preventDefault();
  });
  document.querySelector('.deck-next').addEventListener('click', function () { this.blur(); show(current + 1); });
  document.querySelector('.deck-prev').addEventListener('click', function () { this.blur(); show(current - 1); });
  window.addEventListener('hashchange', fromHash);
  fromHash();
})();
