// Writing posts: the @mention autocomplete, the record picker of the composer, and a random
// client_key for forms rendered without one. Everything here only helps: every form works
// without it.
//
// Mentions: a field with data-mentions="<url>" asks that URL (?q=<typed>[&group=<id>]) for the
// people one may mention while an "@word" is being typed before the caret, and shows them in a
// listbox under the field. Arrow keys move, Enter or Tab chooses, Escape closes; a click chooses
// too. The answer is read as data (each option's data-handle and text), never inserted as HTML.
// data-mention-mode="list" (the "to people" fields) adds "@handle, " and needs no "@" typed.
(function () {
  "use strict";

  var MIN_CHARS = 1;
  var DELAY_MS = 150;

  function randomKey() {
    if (window.crypto && window.crypto.randomUUID) {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function fillClientKeys(root) {
    var fields = (root || document).querySelectorAll("input[data-client-key]");
    Array.prototype.forEach.call(fields, function (field) {
      if (!field.value) {
        field.value = randomKey();
      }
    });
  }

  // -- mention autocomplete -------------------------------------------------------------------

  var active = null; // {field, box, options, index, start, timer, request}
  var counter = 0;

  function typedMention(field) {
    var caret = field.selectionStart || 0;
    var before = field.value.slice(0, caret);
    var listMode = field.getAttribute("data-mention-mode") === "list";
    var match = listMode ? /(?:^|[\s,;])@?([\w.\-]*)$/.exec(before) : /(?:^|[^\w@./+\-])@([\w.\-]*)$/.exec(before);
    if (!match) {
      return null;
    }
    var word = match[1];
    var start = caret - word.length;
    if (field.value.charAt(start - 1) === "@") {
      start -= 1;
    }
    return { word: word, start: start, end: caret };
  }

  function close() {
    if (!active) {
      return;
    }
    if (active.timer) {
      window.clearTimeout(active.timer);
    }
    if (active.box.parentNode) {
      active.box.parentNode.removeChild(active.box);
    }
    active.field.removeAttribute("aria-activedescendant");
    active.field.setAttribute("aria-expanded", "false");
    active = null;
  }

  function highlight(index) {
    if (!active || !active.options.length) {
      return;
    }
    active.index = (index + active.options.length) % active.options.length;
    active.options.forEach(function (option, i) {
      option.element.setAttribute("aria-selected", i === active.index ? "true" : "false");
    });
    active.field.setAttribute("aria-activedescendant", active.options[active.index].element.id);
  }

  function choose(index) {
    if (!active || !active.options[index]) {
      return;
    }
    var field = active.field;
    var handle = active.options[index].handle;
    var typed = typedMention(field);
    var listMode = field.getAttribute("data-mention-mode") === "list";
    var insert = "@" + handle + (listMode ? ", " : " ");
    if (typed) {
      field.value = field.value.slice(0, typed.start) + insert + field.value.slice(typed.end);
      var caret = typed.start + insert.length;
      field.setSelectionRange(caret, caret);
    }
    close();
    field.focus();
  }

  function show(field, people) {
    if (!active || active.field !== field) {
      return;
    }
    var box = active.box;
    while (box.firstChild) {
      box.removeChild(box.firstChild);
    }
    active.options = [];
    if (!people.length) {
      close();
      return;
    }
    people.forEach(function (person, i) {
      var item = document.createElement("li");
      item.id = box.id + "-" + i;
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", "false");
      item.textContent = person.label;
      item.addEventListener("mousedown", function (event) {
        event.preventDefault(); // keep the focus in the field
        choose(i);
      });
      box.appendChild(item);
      active.options.push({ handle: person.handle, element: item });
    });
    if (!box.parentNode) {
      field.insertAdjacentElement("afterend", box);
    }
    field.setAttribute("aria-expanded", "true");
    highlight(0);
  }

  function parsePeople(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var people = [];
    Array.prototype.forEach.call(doc.querySelectorAll("li[data-handle]"), function (li) {
      people.push({ handle: li.getAttribute("data-handle"), label: li.textContent.trim() });
    });
    return people;
  }

  function lookUp(field) {
    var typed = typedMention(field);
    if (!typed || typed.word.length < MIN_CHARS) {
      close();
      return;
    }
    if (!active || active.field !== field) {
      close();
      var box = document.createElement("ul");
      counter += 1;
      box.id = "mention-box-" + counter;
      box.className = "mention-list mention-popup";
      box.setAttribute("role", "listbox");
      field.setAttribute("aria-controls", box.id);
      field.setAttribute("aria-autocomplete", "list");
      active = { field: field, box: box, options: [], index: 0, timer: null, seq: 0 };
    }
    var state = active;
    if (state.timer) {
      window.clearTimeout(state.timer);
    }
    state.timer = window.setTimeout(function () {
      var url = new URL(field.getAttribute("data-mentions"), window.location.href);
      url.searchParams.set("q", typed.word);
      var group = field.getAttribute("data-group");
      if (group) {
        url.searchParams.set("group", group);
      }
      state.seq += 1;
      var seq = state.seq;
      fetch(url.toString(), { headers: { "HX-Request": "true" }, credentials: "same-origin" })
        .then(function (response) {
          return response.ok ? response.text() : "";
        })
        .then(function (html) {
          if (active === state && seq === state.seq) {
            show(field, parsePeople(html));
          }
        })
        .catch(function () {
          close();
        });
    }, DELAY_MS);
  }

  document.addEventListener("input", function (event) {
    var field = event.target;
    if (field && field.hasAttribute && field.hasAttribute("data-mentions")) {
      lookUp(field);
    }
  });

  document.addEventListener("keydown", function (event) {
    if (!active || event.target !== active.field || !active.options.length) {
      return;
    }
    if (event.key === "ArrowDown") {
      event.preventDefault();
      highlight(active.index + 1);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      highlight(active.index - 1);
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      choose(active.index);
    } else if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });

  document.addEventListener("focusout", function (event) {
    if (active && event.target === active.field) {
      window.setTimeout(close, 100);
    }
  });

  // -- the record picker ----------------------------------------------------------------------

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-reference]") : null;
    if (!button) {
      return;
    }
    event.preventDefault();
    var form = button.closest("form");
    var field = form ? form.querySelector("[data-record-field]") : null;
    if (!field) {
      return;
    }
    var reference = button.getAttribute("data-reference");
    var present = field.value.split(/[\s,;]+/).filter(Boolean);
    if (present.indexOf(reference) === -1) {
      present.push(reference);
    }
    field.value = present.join(", ");
    field.dispatchEvent(new Event("change", { bubbles: true }));
  });

  // -- a share form opened under its post ----------------------------------------------------

  // "Cancel" closes it again (without JavaScript the link leads to the post's page).
  document.addEventListener("click", function (event) {
    var cancel = event.target.closest ? event.target.closest("[data-share-cancel]") : null;
    var slot = cancel && cancel.closest(".share-slot");
    if (!slot) return;
    event.preventDefault();
    slot.replaceChildren();
  });

  // -- client keys ----------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", function () {
    fillClientKeys(document);
  });
  document.addEventListener("htmx:load", function (event) {
    fillClientKeys(event.target);
  });
})();
