// The grid worker's phone pages. Progressive enhancement only: every form works without this file (no GPS fix
// then: the address field stands in; no previews; no category search: the full list in <noscript> does).
(function () {
  "use strict";
  function $(id) { return document.getElementById(id); }
  document.documentElement.classList.add("js");  // grid.css: the Chinese photo button stands in for the native one

  // 定位: the browser's position into the hidden fields, at once when the report form opens, again on tap.
  var locate = $("locate"), status = $("locate-status");
  function fix() {
    status.textContent = "正在定位…";
    navigator.geolocation.getCurrentPosition(function (pos) {
      $("lat").value = pos.coords.latitude.toFixed(6);
      $("lon").value = pos.coords.longitude.toFixed(6);
      $("accuracy").value = Math.round(pos.coords.accuracy);
      status.dataset.located = "1";
      status.textContent = "已定位（精度约 " + Math.round(pos.coords.accuracy) + " 米）";
      locate.textContent = "重新定位";
    }, function () {
      status.dataset.located = "";
      status.textContent = "无法定位：请打开定位权限后点“定位”，或填写地址";
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
  }
  if (locate && status && navigator.geolocation) {
    locate.hidden = false;
    locate.addEventListener("click", fix);
    if (!$("lat").value) fix();
  }

  // 类别搜索 (htmx fetches the choices); Enter searches instead of submitting the report. htmx is loaded
  // after this file (the page shell's order): look for it once every deferred script has run.
  document.addEventListener("DOMContentLoaded", function () {
    var searchBox = $("cat-search-box");
    if (!searchBox || !window.htmx) return;
    searchBox.hidden = false;
    $("cat-search").addEventListener("keydown", function (event) {
      if (event.key === "Enter") event.preventDefault();
    });
  });

  // 照片: previews of what was taken, and the limit before anything is uploaded.
  var photos = $("photos");
  if (photos) {
    photos.addEventListener("change", function () {
      var box = document.querySelector("[data-previews]"), max = parseInt(photos.dataset.max, 10);
      box.textContent = "";
      if (photos.files.length > max) {
        box.textContent = "最多 " + max + " 张照片，请重新选择";
        photos.value = "";
        return;
      }
      Array.prototype.forEach.call(photos.files, function (f, i) {
        var img = document.createElement("img");
        img.src = URL.createObjectURL(f);
        img.alt = "照片 " + (i + 1);
        box.appendChild(img);
      });
      var label = document.querySelector("[data-photo-button] span");
      if (label) label.textContent = photos.files.length ? "重新拍照（已选 " + photos.files.length + " 张）" : "拍照";
    });
  }

  // 防重复提交: a second tap while the first is under way sends nothing (the server would answer it with the
  // first report anyway, but a phone on a slow network should not upload the photos twice).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-once")) return;
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = "1";
    var button = form.querySelector("button[type=submit]");
    if (button) {
      button.dataset.label = button.textContent;
      button.disabled = true;
      button.textContent = button.dataset.busy || "正在提交…";
    }
  });
  // Back from another page (bfcache): the form may be sent again.
  window.addEventListener("pageshow", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-once]"), function (form) {
      delete form.dataset.sent;
      var button = form.querySelector("button[type=submit]");
      if (button && button.dataset.label) {
        button.disabled = false;
        button.textContent = button.dataset.label;
      }
    });
  });
})();
