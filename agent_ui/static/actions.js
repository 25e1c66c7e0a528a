// The case page's actions panel: one-key picks of the classifier's top three, a filter over the category
// list, and a "合并到该工单" button on each possible duplicate the case page lists (rows carrying
// data-duplicate-number). Loaded with defer; the panel itself arrives later by htmx, so everything here
// works by event delegation or re-runs after each swap.
(function () {
  "use strict";

  function confirmForm() { return document.getElementById("case-confirm"); }

  document.addEventListener("click", function (event) {
    var pick = event.target.closest && event.target.closest("[data-pick-category]");
    if (pick) {
      var form = confirmForm();
      var select = form && form.querySelector("select[name=category_code]");
      if (!select) return;
      var filter = form.querySelector(".category-filter");
      if (filter && filter.value) { filter.value = ""; applyFilter(filter); }
      select.value = pick.getAttribute("data-pick-category");
      select.dispatchEvent(new Event("change", { bubbles: true })); // htmx refreshes the dispatch preview
      var buttons = document.querySelectorAll("[data-pick-category]");
      for (var i = 0; i < buttons.length; i++) buttons[i].classList.toggle("picked", buttons[i] === pick);
      var submit = form.querySelector("button[type=submit]");
      if (submit) submit.focus(); // Enter (or d) now confirms with the picked category
      return;
    }
    var merge = event.target.closest && event.target.closest("[data-merge-into]");
    if (merge) {
      var mform = document.getElementById("case-merge");
      if (!mform) return;
      mform.querySelector("input[name=into]").value = merge.getAttribute("data-merge-into");
      mform.scrollIntoView({ block: "center" });
      mform.querySelector("input[name=reason]").focus(); // a merge needs its reason
    }
  });

  function applyFilter(input) {
    var form = input.closest("form");
    var select = form && form.querySelector("select[name=" + input.getAttribute("data-filter-for") + "]");
    if (!select) return;
    var words = input.value.trim().toLowerCase();
    var groups = select.querySelectorAll("optgroup");
    for (var g = 0; g < groups.length; g++) {
      var shown = 0;
      var groupHit = words && groups[g].label.toLowerCase().indexOf(words) >= 0;
      var options = groups[g].querySelectorAll("option");
      for (var o = 0; o < options.length; o++) {
        var hit = !words || groupHit || options[o].textContent.toLowerCase().indexOf(words) >= 0;
        options[o].hidden = !hit;
        if (hit) shown++;
      }
      groups[g].hidden = shown === 0;
    }
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("input[data-filter-for]")) applyFilter(event.target);
  });

  // Enter in the filter picks the first category still shown (and does not submit the form).
  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (event.key !== "Enter" || !(input.matches && input.matches("input[data-filter-for]"))) return;
    event.preventDefault();
    var select = input.closest("form").querySelector("select[name=" + input.getAttribute("data-filter-for") + "]");
    var first = select && select.querySelector("optgroup:not([hidden]) option:not([hidden])");
    if (first) {
      select.value = first.value;
      select.dispatchEvent(new Event("change", { bubbles: true }));
      select.focus();
    }
  });

  function wireDuplicates() {
    if (!document.getElementById("case-merge")) { // this case can no longer be merged (e.g. dispatched)
      var stale = document.querySelectorAll("button[data-merge-into]");
      for (var k = 0; k < stale.length; k++) stale[k].remove();
      return;
    }
    var rows = document.querySelectorAll("[data-duplicate-number]");
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].querySelector("[data-merge-into]")) continue;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "merge-here";
      button.setAttribute("data-merge-into", rows[i].getAttribute("data-duplicate-number"));
      button.textContent = "合并到该工单";
      var cell = rows[i].querySelector("td:last-child") || rows[i];
      cell.appendChild(button);
    }
  }

  document.addEventListener("DOMContentLoaded", wireDuplicates);
  document.addEventListener("htmx:afterSettle", wireDuplicates);
})();
