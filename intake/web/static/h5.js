// Progressive enhancement only: the form works without this file (no geolocation, no search, no polling).
(function () {
  "use strict";
  function $(id) { return document.getElementById(id); }

  // 定位: fill the hidden lat/lon fields from the browser.
  var btn = $("locate");
  if (btn && navigator.geolocation) {
    btn.addEventListener("click", function () {
      var status = $("locate-status");
      status.textContent = "正在定位…";
      navigator.geolocation.getCurrentPosition(function (pos) {
        $("lat").value = pos.coords.latitude.toFixed(6);
        $("lon").value = pos.coords.longitude.toFixed(6);
        status.textContent = "已定位（" + $("lat").value + ", " + $("lon").value + "）";
      }, function () {
        status.textContent = "无法定位，请填写地址或选择街道社区";
      }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
    });
  } else if (btn) {
    btn.style.display = "none";
  }

  // 类型搜索: server-rendered fragment of matching categories.
  var search = $("cat-search"), timer = null;
  if (search) {
    search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        fetch(search.dataset.url + "?q=" + encodeURIComponent(search.value))
          .then(function (r) { return r.text(); })
          .then(function (html) { $("cat-results").innerHTML = html; });
      }, 250);
    });
  }

  // 照片: previews and the 9-photo limit before upload.
  var photos = $("photos");
  if (photos) {
    photos.addEventListener("change", function () {
      var box = $("photo-previews"), max = parseInt(photos.dataset.max, 10);
      box.innerHTML = "";
      if (photos.files.length > max) {
        alert("最多上传 " + max + " 张照片");
        photos.value = "";
        return;
      }
      Array.prototype.forEach.call(photos.files, function (f) {
        var img = document.createElement("img");
        img.src = URL.createObjectURL(f);
        img.alt = f.name;
        box.appendChild(img);
      });
    });
  }

  // 防重复提交
  var form = $("report-form");
  if (form) {
    form.addEventListener("submit", function () {
      var s = $("submit");
      s.disabled = true;
      s.textContent = "正在提交…";
    });
  }

  // 提交成功页: poll until the case number exists.
  function poll() {
    var el = document.querySelector("[data-poll]");
    if (!el) return;
    setTimeout(function () {
      fetch(el.dataset.poll).then(function (r) { return r.text(); }).then(function (html) {
        el.outerHTML = html;
        poll();
      }).catch(poll);
    }, 1000);
  }
  poll();
})();
