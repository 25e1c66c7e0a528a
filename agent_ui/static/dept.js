// The department portal: the queue's filters apply on change (a plain GET: the URL stays a bookmark); the
// auto-refresh (htmx, every N seconds) keeps the scroll position.
(function () {
  "use strict";
  var scrollY = 0;

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("#dept-filters");
    if (form) form.submit();
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "dept-live") scrollY = window.scrollY;
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "dept-live") window.scrollTo(0, scrollY);
  });

  // A submitted form's button waits for the answer (a photo upload takes a moment): no double submit.
  document.addEventListener("submit", function (event) {
    if (event.defaultPrevented) return;
    var button = event.target.querySelector && event.target.querySelector("button[type=submit]");
    if (button) window.setTimeout(function () { button.disabled = true; }, 0);
  });
})();
