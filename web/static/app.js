/* voc dashboard behaviour. Loaded as a static file: the CSP forbids inline scripts. */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }

  ready(function () {
    // Selects marked data-autosubmit submit their form on change (week picker, filters).
    document.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
      el.addEventListener("change", function () { if (el.form) { el.form.submit(); } });
    });

    // Forms marked data-confirm ask first (merge, hide, re-run).
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { ev.preventDefault(); }
      });
    });

    // Print buttons.
    document.querySelectorAll("[data-print]").forEach(function (el) {
      el.addEventListener("click", function (ev) { ev.preventDefault(); window.print(); });
    });

    // Copy-permalink buttons copy the current URL.
    document.querySelectorAll("[data-copy-url]").forEach(function (el) {
      el.addEventListener("click", function (ev) {
        ev.preventDefault();
        var url = window.location.href;
        if (navigator.clipboard) {
          navigator.clipboard.writeText(url).then(function () {
            el.textContent = "Link copied";
          }, function () { window.prompt("Permalink", url); });
        } else { window.prompt("Permalink", url); }
      });
    });

    // Empty filter fields are dropped so permalinks stay short.
    document.querySelectorAll("form[data-clean-get]").forEach(function (form) {
      form.addEventListener("submit", function () {
        form.querySelectorAll("input, select").forEach(function (el) {
          if (el.name && !el.value) { el.disabled = true; }
        });
      });
    });

    // Pages showing a running job refresh themselves until it finishes.
    var refresh = document.querySelector("[data-refresh-seconds]");
    if (refresh) {
      var s = parseInt(refresh.getAttribute("data-refresh-seconds"), 10) || 5;
      window.setTimeout(function () { window.location.reload(); }, s * 1000);
    }
  });
})();
