// Live sync progress: poll the JSON endpoint of every progress box while a
// sync runs, and reload the page when it ends so counts and runs refresh.
"use strict";
(function () {
  function poll(box) {
    var bar = box.querySelector("progress");
    var text = box.querySelector(".progress-text");
    var wasRunning = box.dataset.running === "true";
    function tick() {
      fetch(box.dataset.progress, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.json(); })
        .then(function (st) {
          if (st.running) {
            wasRunning = true;
            var frac = st.expected > 0 ? Math.min(1, st.rows / st.expected) : 0;
            bar.value = frac;
            text.textContent = "syncing " + (st.entity || "") + " " + (st.phase || "") + " " + (st.day || "") + ", " +
              st.rows.toLocaleString() + (st.expected > 0 ? " of about " + st.expected.toLocaleString() : "") + " rows, " +
              (st.requests || 0).toLocaleString() + " requests" +
              (st.secondsLeft >= 0 ? ", about " + (st.secondsLeft < 90 ? st.secondsLeft + " s" : Math.round(st.secondsLeft / 60) + " min") + " left" : "");
            setTimeout(tick, 500);
          } else if (wasRunning) {
            bar.value = 1;
            text.textContent = st.error ? "sync failed: " + st.error : "sync finished";
            setTimeout(function () { location.reload(); }, 300);
          }
        })
        .catch(function () { setTimeout(tick, 2000); });
    }
    tick();
  }
  // A report still being computed: poll until it is ready, then reload.
  function waitReport(box) {
    fetch(box.dataset.status, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (st) {
        if (st.ready) { location.reload(); } else { setTimeout(function () { waitReport(box); }, 500); }
      })
      .catch(function () { setTimeout(function () { waitReport(box); }, 2000); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    // Phones: the report filters start folded away (the summary line says
    // what they are); wider screens show them open.
    var filters = document.getElementById("filters-box");
    if (filters && window.matchMedia("(max-width: 700px)").matches) { filters.open = false; }
    var computing = document.getElementById("computing");
    if (computing) { setTimeout(function () { waitReport(computing); }, 300); }
    document.querySelectorAll("[data-progress]").forEach(function (box) {
      if (box.dataset.running === "true") { poll(box); }
    });
    document.querySelectorAll("form").forEach(function (f) {
      f.addEventListener("submit", function (ev) {
        // a form that removes something asks first (data-confirm)
        if (f.dataset.confirm && !window.confirm(f.dataset.confirm)) { ev.preventDefault(); return; }
        f.querySelectorAll("button[type=submit]").forEach(function (b) { setTimeout(function () { b.disabled = true; }, 0); });
      });
    });
  });
})();
