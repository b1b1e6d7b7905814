// Filters the dialogues of an agenttest HTML report by outcome, suite, tag and text. The page
// is complete without it; this only hides and shows what is there, and keeps the filter in
// the address's #fragment so a filtered view can be shared.
(function () {
  'use strict';
  var form = document.getElementById('filters');
  if (!form) { return; }
  var each = function (list, f) { Array.prototype.forEach.call(list, f); };
  var search = form.querySelector('[name=q]');
  var suite = form.querySelector('[name=suite]');
  var tag = form.querySelector('[name=tag]');
  var outcomes = form.querySelectorAll('[name=outcome]');
  var shown = form.querySelector('.shown');
  var none = document.getElementById('no-match');
  var dialogues = [];
  each(document.querySelectorAll('section.dialogue'), function (el) {
    var tags = [];
    each(el.querySelectorAll('.tags .tag'), function (t) { tags.push(t.textContent); });
    dialogues.push({ el: el, text: el.textContent.toLowerCase(), tags: tags });
  });

  function state() {
    var off = [];
    each(outcomes, function (o) { if (!o.checked) { off.push(o.value); } });
    return { q: search.value.trim(), suite: suite.value, tag: tag.value, off: off };
  }

  function apply() {
    var s = state();
    var q = s.q.toLowerCase();
    var count = 0;
    dialogues.forEach(function (d) {
      var ok = s.off.indexOf(d.el.getAttribute('data-outcome')) < 0 &&
        (!s.suite || d.el.getAttribute('data-suite') === s.suite) &&
        (!s.tag || d.tags.indexOf(s.tag) >= 0) &&
        (!q || d.text.indexOf(q) >= 0);
      d.el.hidden = !ok;
      if (ok) {
        count += 1;
        if (q) { d.el.querySelector('details').open = true; }
      }
    });
    shown.textContent = 'showing ' + count + ' of ' + dialogues.length;
    none.hidden = count > 0;
    save(s);
  }

  function save(s) {
    var p = new URLSearchParams();
    if (s.q) { p.set('q', s.q); }
    if (s.suite) { p.set('suite', s.suite); }
    if (s.tag) { p.set('tag', s.tag); }
    if (s.off.length) { p.set('hide', s.off.join(',')); }
    var hash = p.toString();
    try {
      history.replaceState(null, '', hash ? '#' + hash : location.pathname + location.search);
    } catch (e) { /* a file: page may refuse; the filter still works */ }
  }

  function load() {
    var hash = location.hash.replace(/^#/, '');
    if (hash.indexOf('=') < 0) { return; }
    var p = new URLSearchParams(hash);
    search.value = p.get('q') || '';
    var pick = function (select, value) {
      each(select.options, function (o) { if (o.value === value) { select.value = value; } });
    };
    pick(suite, p.get('suite') || '');
    pick(tag, p.get('tag') || '');
    var off = (p.get('hide') || '').split(',');
    each(outcomes, function (o) { o.checked = off.indexOf(o.value) < 0; });
  }

  form.addEventListener('input', apply);
  form.addEventListener('change', apply);
  form.addEventListener('submit', function (e) { e.preventDefault(); });
  each(form.querySelectorAll('button[data-open]'), function (b) {
    b.addEventListener('click', function () {
      var open = b.getAttribute('data-open') === 'all';
      dialogues.forEach(function (d) {
        if (!d.el.hidden) { d.el.querySelector('details').open = open; }
      });
    });
  });
  form.hidden = false;
  load();
  apply();
}());
