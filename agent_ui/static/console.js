// The console's one script (the CSP allows no inline script). Keyboard shortcuts, htmx error messages.
(function () {
  "use strict";

  // Every element with data-key="x" is clicked (or focused, for fields) when x is pressed outside a field.
  // Two-key sequences ("g q") go to another page.
  var GOTO = { q: "/console/", n: "/console/new", c: "/console/callbacks" };
  var pendingG = false;

  function typing(target) {
    var tag = (target && target.tagName) || "";
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function shortcutFor(key) {
    var nodes = document.querySelectorAll("[data-key]");
    for (var i = 0; i < nodes.length; i++) {
      if (nodes[i].getAttribute("data-key") === key && !nodes[i].disabled && nodes[i].offsetParent !== null) {
        return nodes[i];
      }
    }
    return null;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var dialog = document.getElementById("shortcuts");
    if (event.key === "Escape" && dialog && dialog.open) { dialog.close(); return; }
    if (typing(event.target)) return;
    if (event.key === "?") {
      if (dialog) { dialog.open ? dialog.close() : dialog.showModal(); }
      event.preventDefault();
      return;
    }
    if (pendingG) {
      pendingG = false;
      if (GOTO[event.key]) { window.location.href = GOTO[event.key]; event.preventDefault(); }
      return;
    }
    if (event.key === "g") { pendingG = true; setTimeout(function () { pendingG = false; }, 1200); return; }
    var target = shortcutFor(event.key);
    if (!target) return;
    event.preventDefault();
    if (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT") {
      target.focus();
    } else {
      target.click();
    }
  });

  // A 4xx/5xx answer to an htmx request carries a Chinese message fragment: show it, keep the form.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status >= 400 && xhr.status !== 401) {
      var target = event.detail.requestConfig && event.detail.requestConfig.elt &&
        event.detail.requestConfig.elt.closest("[data-messages]");
      var box = (target && target.querySelector(".form-messages")) || document.getElementById("messages");
      box.innerHTML = xhr.responseText;
      event.detail.shouldSwap = false;
    }
  });
  document.addEventListener("htmx:sendError", function () {
    document.getElementById("messages").innerHTML =
      '<div class="flash error" role="alert">网络连接失败，请检查网络后重试（已填写的内容未丢失）。</div>';
  });

  // A button with data-confirm asks first (htmx's hx-confirm needs no eval either, but plain forms use this).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute && form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  }, true);
})();
