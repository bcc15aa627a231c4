// The pages' one script, served at a content-hashed path (assets.ts) and loaded with `defer`. It only
// adds comfort: every page reads and works the same without it (no data is fetched or written).
export const ENHANCE_SCRIPT = `'use strict';
(function enhance() {
  // A Copy button after every block marked data-copy (its value is the button's label); without clipboard access it selects the text instead.
  document.querySelectorAll('pre[data-copy]').forEach(function (block) {
    var label = block.getAttribute('data-copy') || 'Copy';
    var button = document.createElement('button');
    button.type = 'button';
    button.className = 'copy';
    button.textContent = label;
    button.addEventListener('click', function () {
      var text = block.textContent || '';
      var done = function (label) {
        button.textContent = label;
        window.setTimeout(function () { button.textContent = label; }, 2000);
      };
      var select = function () {
        var range = document.createRange();
        range.selectNodeContents(block);
        var selection = window.getSelection();
        if (selection) { selection.removeAllRanges(); selection.addRange(range); }
        done('Selected: press Ctrl+C');
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(function () { done('Copied'); }, select);
      } else {
        select();
      }
    });
    block.insertAdjacentElement('afterend', button);
  });

  // Times in the reader's own time zone; the UTC time the server wrote stays in the title.
  var format = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  document.querySelectorAll('time[datetime].local').forEach(function (time) {
    var when = new Date(time.getAttribute('datetime') || '');
    if (isNaN(when.getTime())) return;
    time.title = (time.textContent || '') + ' UTC';
    time.textContent = format.format(when);
  });

  // "/" moves to the search box, as on many sites; not while typing in a field.
  var search = document.querySelector('form.search input[type="search"]');
  document.addEventListener('keydown', function (event) {
    var target = event.target;
    var typing = target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.isContentEditable);
    if (event.key === '/' && search && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      search.focus();
    }
  });
})();
`;
