// Atrium's live connection: one websocket per page, frames swapped in by region id.
//
// The page names the last event it reflects (<body data-live-after>); the socket connects with
// it, and reconnects (exponential backoff, jittered) with the last id it has seen, so the server
// replays exactly what was missed. A frame is {"id", "kind", "target", "html"}: its HTML replaces
// the element whose id is `target` whole (applying a frame twice is harmless); empty HTML removes
// it. A new post goes behind an "N new posts" bar at the top of each timeline it belongs to until
// the bar is clicked. A "reload" frame reloads the page (the gap was too old to replay).
//
// HTML is parsed into an inert <template> and moved into the page: scripts in it never run, and
// nothing is evaluated; the server sanitises user text before it is ever in a frame. Forms in
// fragments come without a CSRF token (it is per session): the page's own is filled in.
(function () {
  "use strict";

  var body = document.body;
  if (!body || !body.hasAttribute("data-live-after") || !("WebSocket" in window)) {
    return;
  }

  var lastId = parseInt(body.getAttribute("data-live-after"), 10) || 0;
  var url = body.getAttribute("data-live-url") || "/ws";
  var socket = null;
  var attempt = 0;
  var paused = false;
  var retryTimer = null;
  var seen = [];
  var SEEN_MAX = 500;
  var pending = new Map(); // timeline list element -> [{target, html}, ...] (oldest first)

  function label(name, fallback) {
    return body.getAttribute("data-live-" + name) || fallback;
  }

  // -- the indicator ---------------------------------------------------------------------------
  var status = document.createElement("div");
  status.className = "live-status";
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  body.appendChild(status);

  function show(state) {
    status.setAttribute("data-state", state);
    status.textContent = state === "live" ? label("live", "Live") : label("reconnecting", "Reconnecting…");
  }

  // -- applying frames -------------------------------------------------------------------------
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function fragment(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    var token = csrfToken();
    template.content.querySelectorAll('input[name="csrf_token"]').forEach(function (input) {
      input.value = token;
    });
    return template.content;
  }

  function activate(nodes) {
    if (!window.htmx) return;
    nodes.forEach(function (node) {
      if (node.nodeType === Node.ELEMENT_NODE) window.htmx.process(node);
    });
  }

  function byId(root, id) {
    return root.querySelector('[id="' + id.replace(/["\\]/g, "\\$&") + '"]');
  }

  // What the reader opened or typed inside a region is theirs, not the frame's. An element marked
  // data-live-keep (a post's share form, its expanded comments) that has content moves into the
  // new HTML in place of its empty namesake; text typed and not sent yet is carried over to the
  // field with the same id; the focus stays where it was.
  function replace(element, html) {
    var content = fragment(html);
    var focused = element.contains(document.activeElement) ? document.activeElement : null;
    element.querySelectorAll("[data-live-keep]").forEach(function (kept) {
      if (!kept.id || !kept.firstElementChild) return;
      var slot = byId(content, kept.id);
      if (slot && !slot.firstElementChild) slot.replaceWith(kept);
    });
    var typed = [];
    element.querySelectorAll("textarea[id], input[id]").forEach(function (field) {
      if (field.type !== "hidden" && field.value !== field.defaultValue) {
        typed.push({ id: field.id, value: field.value });
      }
    });
    var caret = focused && typeof focused.selectionStart === "number"
      ? [focused.selectionStart, focused.selectionEnd] : null;
    var nodes = Array.prototype.slice.call(content.childNodes);
    element.replaceWith(content);
    typed.forEach(function (entry) {
      var twin = document.getElementById(entry.id);
      if (twin) twin.value = entry.value;
    });
    activate(nodes);
    if (!focused) return;
    var target = document.contains(focused) ? focused : focused.id && document.getElementById(focused.id);
    if (!target) return;
    target.focus();
    if (caret && typeof target.setSelectionRange === "function") {
      try { target.setSelectionRange(caret[0], caret[1]); } catch (e) { /* not a text field */ }
    }
  }

  function timelineLists(timelines) {
    var lists = Array.prototype.slice.call(document.querySelectorAll(".timeline-list"));
    return lists.filter(function (list) {
      var key = list.getAttribute("data-live-timeline");
      return !key || (timelines || []).indexOf(key) !== -1;
    });
  }

  function newPostsBar(list) {
    var bar = list.previousElementSibling;
    if (bar && bar.classList.contains("live-new-posts")) return bar;
    bar = document.createElement("button");
    bar.type = "button";
    bar.className = "live-new-posts";
    bar.addEventListener("click", function () {
      var queued = pending.get(list) || [];
      pending.delete(list);
      queued.forEach(function (entry) {
        var content = fragment(entry.html);
        var nodes = Array.prototype.slice.call(content.childNodes);
        list.insertBefore(content, list.firstChild);
        activate(nodes);
      });
      var empty = list.querySelector(".timeline-empty");
      if (empty) empty.remove();
      bar.remove();
    });
    list.parentNode.insertBefore(bar, list);
    return bar;
  }

  function countBar(list) {
    var queued = pending.get(list) || [];
    var n = queued.length;
    var bar = newPostsBar(list);
    if (!n) {
      pending.delete(list);
      bar.remove();
      return;
    }
    bar.textContent = (n === 1 ? label("new-one", "1 new post") : label("new-many", "{n} new posts")).replace("{n}", String(n));
  }

  function queueNewPost(frame) {
    timelineLists(frame.timelines).forEach(function (list) {
      var queued = pending.get(list) || [];
      if (queued.some(function (entry) { return entry.target === frame.target; })) return;
      queued.push({ target: frame.target, html: frame.html });
      pending.set(list, queued);
      countBar(list);
    });
  }

  // A post still waiting behind the bar was edited (new HTML) or deleted (gone from the queue).
  function updateQueued(frame) {
    pending.forEach(function (queued, list) {
      var kept = [];
      queued.forEach(function (entry) {
        if (entry.target !== frame.target) kept.push(entry);
        else if (frame.html) kept.push({ target: entry.target, html: frame.html });
      });
      pending.set(list, kept);
      countBar(list);
    });
  }

  function apply(frame) {
    if (!frame.target) return;
    var element = document.getElementById(frame.target);
    if (!element && frame.target.indexOf("post-") === 0 && frame.kind !== "post.created") {
      updateQueued(frame);
      return;
    }
    if (!frame.html) {
      if (element) element.remove();
      return;
    }
    if (element) {
      // A collapsed comments region stays collapsed (it loads its comments when opened); only
      // the link that opens it says how many there are now.
      if (element.classList.contains("collapsed")) {
        var post = document.getElementById(frame.target.replace("comments-", "post-"));
        var link = post && post.querySelector(".comments-link");
        if (link && typeof frame.link === "string") link.textContent = frame.link;
        return;
      }
      replace(element, frame.html);
    } else if (frame.kind === "post.created") {
      queueNewPost(frame);
    }
  }

  function received(event) {
    var frame;
    try {
      frame = JSON.parse(event.data);
    } catch (e) {
      return;
    }
    if (!frame || typeof frame !== "object") return;
    if (frame.kind === "heartbeat") {
      if (socket) socket.send("pong");
      return;
    }
    if (frame.kind === "reload") {
      window.location.reload();
      return;
    }
    if (typeof frame.id === "number") {
      if (seen.indexOf(frame.id) !== -1) return;
      seen.push(frame.id);
      if (seen.length > SEEN_MAX) seen.shift();
      if (frame.id > lastId) lastId = frame.id;
      body.setAttribute("data-live-last", String(lastId));
    }
    attempt = 0;
    apply(frame);
  }

  // -- the connection --------------------------------------------------------------------------
  function connect() {
    retryTimer = null;
    if (paused) return;
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(scheme + "//" + window.location.host + url + "?after=" + lastId);
    socket.addEventListener("open", function () {
      show("live");
      window.setTimeout(function () {
        if (socket && socket.readyState === WebSocket.OPEN) attempt = 0;
      }, 10000);
    });
    socket.addEventListener("message", received);
    socket.addEventListener("close", function (event) {
      socket = null;
      if (event.code === 4001) {
        // The session ended: the page reloads, and asks to sign in again.
        window.location.reload();
        return;
      }
      show("reconnecting");
      schedule();
    });
  }

  function schedule() {
    if (paused || retryTimer) return;
    var delay = Math.min(30000, 500 * Math.pow(2, attempt));
    attempt += 1;
    retryTimer = window.setTimeout(connect, delay * (0.5 + Math.random() / 2));
  }

  // For people debugging (and the browser tests): drop the socket and stay away, then come back.
  window.atrium = window.atrium || {};
  window.atrium.live = {
    pause: function () {
      paused = true;
      if (retryTimer) window.clearTimeout(retryTimer);
      retryTimer = null;
      if (socket) socket.close();
    },
    resume: function () {
      paused = false;
      attempt = 0;
      if (!socket) connect();
    },
    lastId: function () {
      return lastId;
    },
  };

  show("reconnecting");
  connect();
})();
