/* Progressive enhancement only: every page works without this file.
   - [data-refresh] reloads the page every N seconds while a matching run is active.
   - [data-autosubmit] submits its form when a select changes (language switcher). */
(function () {
  "use strict";
  var el = document.querySelector("[data-refresh]");
  if (el) {
    var seconds = parseInt(el.getAttribute("data-refresh"), 10) || 3;
    window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
  }
  document.querySelectorAll("[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
