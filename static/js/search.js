// The top bar's search box: suggestions arrive by htmx (debounced in base.html's attributes);
// this module only adds keyboard navigation and closing. Without JavaScript the box still
// submits to /search.
(function () {
  "use strict";

  function box() { return document.getElementById("q"); }
  function panel() { return document.getElementById("search-suggestions"); }
  function options() {
    var p = panel();
    return p ? Array.prototype.slice.call(p.querySelectorAll("[role=option]")) : [];
  }

  function setActive(index) {
    var all = options();
    var input = box();
    all.forEach(function (option, i) {
      option.setAttribute("aria-selected", i === index ? "true" : "false");
      if (i === index) { option.scrollIntoView({ block: "nearest" }); }
    });
    if (input) {
      if (index >= 0 && all[index]) {
        input.setAttribute("aria-activedescendant", all[index].id);
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }
  }

  function activeIndex() {
    return options().findIndex(function (o) { return o.getAttribute("aria-selected") === "true"; });
  }

  function close() {
    var p = panel();
    var input = box();
    if (p) { p.innerHTML = ""; }
    if (input) {
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }
  }

  document.addEventListener("keydown", function (event) {
    var input = box();
    if (!input || event.target !== input) { return; }
    var all = options();
    var current = activeIndex();
    if (event.key === "ArrowDown" && all.length) {
      event.preventDefault();
      setActive(current < all.length - 1 ? current + 1 : 0);
    } else if (event.key === "ArrowUp" && all.length) {
      event.preventDefault();
      setActive(current > 0 ? current - 1 : all.length - 1);
    } else if (event.key === "Enter" && current >= 0) {
      event.preventDefault();
      window.location.assign(all[current].href);
    } else if (event.key === "Escape") {
      close();
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var p = panel();
    var input = box();
    if (p && input && event.target === p) {
      input.setAttribute("aria-expanded", options().length ? "true" : "false");
      input.removeAttribute("aria-activedescendant");
    }
  });

  document.addEventListener("click", function (event) {
    var p = panel();
    var input = box();
    if (p && input && !p.contains(event.target) && event.target !== input) { close(); }
  });
})();
