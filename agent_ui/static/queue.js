// The queue page: j/k move the selection, Enter opens it; filters apply on change; the auto-refresh
// (htmx, every N seconds) keeps the selected item and the scroll position.
(function () {
  "use strict";
  var KEY = "queue.selected";
  var selected = window.sessionStorage.getItem(KEY);
  var scrollY = 0;

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#queue-rows tr[data-item]")); }

  function apply(scroll) {
    var list = rows();
    var found = null;
    list.forEach(function (tr) {
      var on = tr.getAttribute("data-item") === selected;
      tr.classList.toggle("selected", on);
      tr.setAttribute("aria-selected", on ? "true" : "false");
      if (on) found = tr;
    });
    if (!found && list.length && selected === null) { select(list[0], false); return; }
    if (found && scroll) found.scrollIntoView({ block: "nearest" });
  }

  function select(tr, scroll) {
    selected = tr.getAttribute("data-item");
    window.sessionStorage.setItem(KEY, selected);
    apply(scroll);
  }

  function move(step) {
    var list = rows();
    if (!list.length) return;
    var at = -1;
    for (var i = 0; i < list.length; i++) { if (list[i].getAttribute("data-item") === selected) at = i; }
    var next = at < 0 ? 0 : Math.min(Math.max(at + step, 0), list.length - 1);
    select(list[next], true);
  }

  function typing(target) {
    var tag = (target && target.tagName) || "";
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var dialog = document.getElementById("shortcuts");
    if (dialog && dialog.open) return;
    if (event.key === "j") { move(1); event.preventDefault(); }
    else if (event.key === "k") { move(-1); event.preventDefault(); }
    else if (event.key === "Enter") {
      var tr = document.querySelector("#queue-rows tr.selected");
      if (tr) { window.location.href = tr.getAttribute("data-href"); event.preventDefault(); }
    }
  });

  document.addEventListener("click", function (event) {
    var tr = event.target.closest && event.target.closest("#queue-rows tr[data-item]");
    if (tr) select(tr, false);
  });

  // A changed filter applies at once (the form is a plain GET: the URL stays a bookmark).
  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("#queue-filters");
    if (form) form.submit();
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "queue-live") scrollY = window.scrollY;
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "queue-live") {
      apply(false);
      window.scrollTo(0, scrollY);
    }
  });

  document.addEventListener("DOMContentLoaded", function () { apply(false); });
})();
