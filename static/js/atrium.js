// Atrium's own front-end glue. htmx does the requests; this file adds what every page needs:
// the CSRF header on every htmx request, read from <meta name="csrf-token">.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  window.atrium = window.atrium || {};
  window.atrium.csrfToken = csrfToken;
})();
