/* What JavaScript adds to the pages (they all work without it):
   - the error summary takes the focus;
   - the password rules are ticked as they are met;
   - a waiting page asks for its status again every few seconds and goes to
     the next step's page when the process moved on;
   - "Renvoyer le code" counts down the wait the server gave (the button
     waits with it; without JavaScript the page says the wait, and the server
     refuses a resend too soon); while the code is on its way, the page
     reloads itself once (a link says "actualisez" without JavaScript). */
(function () {
  "use strict";

  function focusErrorSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (summary) { summary.focus(); }
  }

  var RULES = {
    password_length: function (v) { return v.length >= 8 && v.length <= 14; },
    password_characters: function (v) { return v.length > 0 && /^[A-Za-z0-9]*$/.test(v); },
    password_digit: function (v) { return /[0-9]/.test(v); },
    password_letter: function (v) { return /[A-Za-z]/.test(v); }
  };

  function watchPasswordRules() {
    document.querySelectorAll("[data-password-rules]").forEach(function (group) {
      var input = document.getElementById(group.getAttribute("data-password-rules"));
      if (!input) { return; }
      var update = function () {
        group.querySelectorAll("[data-rule]").forEach(function (item) {
          var check = RULES[item.getAttribute("data-rule")];
          if (!check) { return; }
          var met = check(input.value);
          item.classList.toggle("fr-message--valid", met);
          item.classList.toggle("fr-message--info", !met);
          var state = item.querySelector("[data-rule-state]");
          if (state) { state.textContent = met ? " : respectée" : " : non respectée"; }
        });
      };
      input.addEventListener("input", update);
      update();
    });
  }

  function autoRefresh() {
    var main = document.querySelector("[data-auto-refresh]");
    if (!main || !window.fetch || !window.DOMParser) { return; }
    var seconds = parseInt(main.getAttribute("data-auto-refresh"), 10);
    if (!(seconds > 0)) { return; }
    var here = window.location.pathname;
    var tick = function () {
      if (document.hidden) { return; }
      fetch(window.location.href, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "text/html" } })
        .then(function (response) {
          var there = new URL(response.url).pathname;
          if (there !== here) { window.location.assign(response.url); return null; }
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (!html) { return; }
          var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-status-region]");
          var current = document.querySelector("[data-status-region]");
          if (fresh && current && fresh.innerHTML !== current.innerHTML) { current.innerHTML = fresh.innerHTML; }
        })
        .catch(function () { /* offline for a moment: the next tick tries again */ });
    };
    window.setInterval(tick, seconds * 1000);
  }

  function countDown() {
    document.querySelectorAll("[data-countdown]").forEach(function (note) {
      var left = parseInt(note.getAttribute("data-countdown"), 10);
      var form = note.closest("form");
      var button = form ? form.querySelector("button[type=submit]") : null;
      var seconds = note.querySelector("[data-countdown-seconds]");
      if (!(left > 0) || !seconds) { return; }
      if (button) { button.disabled = true; }
      var timer = window.setInterval(function () {
        left -= 1;
        if (left > 0) { seconds.textContent = String(left); return; }
        window.clearInterval(timer);
        note.textContent = "Vous pouvez demander un nouveau code ; l’ancien ne fonctionnera plus.";
        if (button) { button.disabled = false; }
      }, 1000);
    });
  }

  function reloadSoon() {
    var note = document.querySelector("[data-reload-after]");
    var seconds = note ? parseInt(note.getAttribute("data-reload-after"), 10) : 0;
    if (seconds > 0) { window.setTimeout(function () { window.location.reload(); }, seconds * 1000); }
  }

  function start() {
    focusErrorSummary();
    countDown();
    reloadSoon();
    watchPasswordRules();
    autoRefresh();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
