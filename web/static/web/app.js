/* Progressive enhancement only: every page works without this file (CSP-friendly: no inline
   script or style anywhere; this file is loaded in <head> so the "js" class is set before the
   first paint and narrow screens never flash the full menu).
   - [data-collapse-narrow] <details> (the header menu, browse's filters) are open on wide
     screens (their summary is hidden there) and closed on phones until opened.
   - [data-refresh] reloads the page every N seconds while a matching run is active.
   - [data-autosubmit] submits its form when a select changes (language switcher).
   - [data-print] buttons open the browser's print dialog (the dashboard report). */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var narrow = window.matchMedia("(max-width: 760px)");

  function collapse() {
    document.querySelectorAll("details[data-collapse-narrow]").forEach(function (details) {
      details.open = !narrow.matches;
    });
  }

  function ready() {
    collapse();
    if (narrow.addEventListener) { narrow.addEventListener("change", collapse); }
    var el = document.querySelector("[data-refresh]");
    if (el) {
      var seconds = parseInt(el.getAttribute("data-refresh"), 10) || 3;
      window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
    }
    document.querySelectorAll("[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
