// hooklayer dashboard: live refresh. Pages work without this script;
// it only saves reloading. Every element with `data-refresh` and an `id` is re-fetched
// from the same URL every 3 s while the tab is visible, and replaced in place.
(function () {
  "use strict";
  var INTERVAL_MS = 3000;
  var busy = false;

  function refresh() {
    var parts = document.querySelectorAll("[data-refresh][id]");
    if (busy || document.hidden || parts.length === 0) return;
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Refresh": "1" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (text) {
        if (text === null) return;
        var fresh = new DOMParser().parseFromString(text, "text/html");
        // Never replace the part that holds the focus (a field being typed in, a link
        // reached by Tab): looked at now, when the answer is in, not when it was asked.
        var active = document.activeElement;
        parts.forEach(function (part) {
          if (active && part.contains(active) && active.tagName !== "BODY") return;
          var next = fresh.getElementById(part.id);
          if (next && next.innerHTML !== part.innerHTML) part.innerHTML = next.innerHTML;
        });
      })
      .catch(function () { /* offline for a moment: try again next tick */ })
      .then(function () { busy = false; });
  }

  window.setInterval(refresh, INTERVAL_MS);
})();
