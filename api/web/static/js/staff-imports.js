/* What JavaScript adds to the staff import pages (they work without it):
   - the import page asks for its progress (a small JSON answer) every few
     seconds and moves the bar; it reloads itself once the lines are checked
     (the refused lines then appear) and once the import is over (the
     summary and the letters);
   - the file can be dropped on the upload form. */
(function () {
  "use strict";

  function followProgress() {
    var box = document.querySelector("[data-import-progress]");
    if (!box || box.getAttribute("data-finished") === "true" || !window.fetch) { return; }
    var url = box.getAttribute("data-import-progress");
    var seconds = parseInt(box.getAttribute("data-poll-seconds"), 10) || 2;
    var bar = box.querySelector("progress");
    var count = box.querySelector("[data-import-count]");
    var step = box.querySelector("[data-import-step]");
    var refresh = box.querySelector("[data-refresh-link]");
    if (refresh) { refresh.hidden = true; }
    var checking = box.getAttribute("data-step") === "validating";
    var timer = null;
    var tick = function () {
      fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
        .then(function (response) {
          var type = response.headers.get("content-type") || "";
          if (!response.ok || type.indexOf("application/json") !== 0) { throw new Error("no progress"); }
          return response.json();
        })
        .then(function (p) {
          bar.value = p.percent;
          bar.setAttribute("data-percent", String(p.percent));
          bar.textContent = p.percent + " %";
          count.textContent = p.text;
          if (step.textContent !== p.step_label) { step.textContent = p.step_label; }
          if (p.finished || (checking && p.step !== "validating")) {
            window.clearInterval(timer);
            window.location.reload();
          }
        })
        .catch(function () {
          /* signed out, or the service restarting: stop, and let the link do it */
          window.clearInterval(timer);
          if (refresh) { refresh.hidden = false; }
        });
    };
    timer = window.setInterval(tick, seconds * 1000);
  }

  function dropZone() {
    document.querySelectorAll("[data-drop-zone]").forEach(function (zone) {
      var input = document.getElementById(zone.getAttribute("data-drop-zone"));
      var name = zone.querySelector("[data-drop-name]");
      if (!input || !window.DataTransfer) { return; }
      zone.hidden = false;
      var over = function (on) { return function (event) { event.preventDefault(); zone.classList.toggle("ec-drop-zone--over", on); }; };
      zone.addEventListener("dragenter", over(true));
      zone.addEventListener("dragover", over(true));
      zone.addEventListener("dragleave", over(false));
      zone.addEventListener("drop", function (event) {
        over(false)(event);
        var files = event.dataTransfer && event.dataTransfer.files;
        if (!files || !files.length) { return; }
        var kept = new DataTransfer();
        kept.items.add(files[0]);
        input.files = kept.files;
        name.textContent = "Fichier choisi : " + files[0].name;
      });
      input.addEventListener("change", function () {
        name.textContent = input.files.length ? "Fichier choisi : " + input.files[0].name : "";
      });
    });
  }

  function start() {
    followProgress();
    dropZone();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
