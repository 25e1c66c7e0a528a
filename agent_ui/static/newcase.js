// /console/new: a suggestion (clicked, or its key pressed) fills the category or grid field; Esc leaves a
// field so the keys 1–6 work; Ctrl+Enter submits from anywhere in the form.
(function () {
  "use strict";

  function form() { return document.getElementById("new-case"); }

  function markPicked() {
    var f = form();
    if (!f) return;
    document.querySelectorAll("[data-pick]").forEach(function (button) {
      var field = f.elements[button.getAttribute("data-pick")];
      button.setAttribute("aria-pressed", field && field.value === button.getAttribute("data-code") ? "true" : "false");
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-pick]");
    var f = form();
    if (!button || !f) return;
    var field = f.elements[button.getAttribute("data-pick")];
    if (!field) return;
    var code = button.getAttribute("data-code");
    field.value = field.value === code ? "" : code; // a second press takes the choice back
    field.dispatchEvent(new Event("change", { bubbles: true }));
    markPicked();
  });

  document.addEventListener("change", function (event) {
    if (event.target && (event.target.name === "category_code" || event.target.name === "grid_code")) markPicked();
  });

  document.addEventListener("keydown", function (event) {
    var f = form();
    if (!f || !f.contains(event.target)) return;
    if (event.key === "Escape" && event.target.blur) {
      event.target.blur();
      return;
    }
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      f.requestSubmit();
    }
  });

  document.addEventListener("htmx:afterSwap", markPicked);
  document.addEventListener("DOMContentLoaded", markPicked);
})();
