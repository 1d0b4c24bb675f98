"""The XSS corpus through the real app, in a real browser (issue 4): every payload of
tests/domain/xss_corpus.py written as posts, comments, poll options, group names and file names
of a real ``atrium serve``, the pages that show them opened in headless Chromium and poked: no
script may run and no htmx request may come from what people wrote.

The hostile content goes straight into the server's SQLite database through the domain actions
(the checks the web forms end in), as a staff user of this module's own whose display name is a
payload too; its groups are hidden, so other tests on the shared server do not see them. Every
payload is the body of a post and of a comment (those of ten posts gathered on one post, so that
fewer comment regions need loading); group names (at most 120 characters), poll options (at most
200, ten distinct ones per poll) and file names (as the upload cleans them) take every payload
their limits allow; what a channel refuses is counted, not written. The groups holding the posts
are filled one by one in the background while the browser already reads the ready ones.

The pages: every group holding posts (both pages of its timeline, the comment regions loaded by
their own htmx links), a post page with a poll and comments and one with files, the home timeline
(three pages) and the group list (all its pages). The browser context bypasses the
Content-Security-Policy on purpose, as in test_xss.py: the markup itself must be inert whatever
the headers, so a handler that survived would run and call ``__pwn()``. Loading a page whole is
phase one, with htmx free to work; then every htmx request is recorded at
``htmx:beforeRequest`` and cancelled, form submits and clicks on links to real places are
cancelled (a ``javascript:`` link would still be followed), and POKE sends test_xss.py's volley
of events to every element inside people's words and clicks everything htmx could act on.
Afterwards:

- no script ran (``__pwn`` was never called);
- no htmx request (nor attempt, ``htmx:confirm``) came from an element inside user content;
- every htmx request came from an element of our templates, to the path its own ``hx-*``
  attribute names, and every ``hx-*`` URL in the page is one of the app's htmx endpoints;
- every network request went to the server itself, and only an attachment's URL may carry a
  payload's text;
- the DOM is clean: no ``on*``, ``hx-on`` or ``javascript:``/``data:`` URL anywhere; rich text
  (post, comment, group description) holds only the markup allowlist; plain-text places (poll
  options, file names, group names, author names) hold text and no element, and show exactly the
  text that was written;
- the page logged no error.

A control plants unsafe markup in a post body and a poll option and checks each kind is seen.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import struct
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, Request
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal, load_principal
from domain.db import Database
from domain.demo.logins import DEMO_PASSWORD
from domain.errors import ValidationFailed
from domain.groups.actions import check_group_input, do_create_group
from domain.groups.models import NAME_MAX, GroupVisibility
from domain.markup import TAGS
from domain.people.actions import do_create_user
from domain.people.models import User
from domain.posts.actions import PostInput, do_create_post
from domain.posts.attachments import MAX_PER_POST, clean_filename, do_discard_upload, do_upload
from domain.posts.comments import do_add_comment
from domain.posts.models import PollKind, PollResults
from domain.posts.polls import MAX_OPTIONS, OPTION_MAX, PollInput
from domain.posts.storage import AttachmentStore
from tests.domain.xss_corpus import PAYLOADS
from tests.e2e.conftest import DESKTOP
from tests.e2e.test_sign_in import sign_in
from tests.e2e.test_xss import SENTINEL
from tests.server import Server

pytestmark = pytest.mark.e2e

# The author's display name is a payload too: it shows on every post and in the top bar.
AUTHOR_NAME = '<img src=x onerror=__pwn()>"onmouseover=__pwn() Xss Tester'
POSTS_PER_GROUP = 40  # two pages of a group's timeline
COMMENTS_EVERY = 10  # the comments for posts 10k … 10k+9 all go on post 10k+3 (with a poll)
POLL_EVERY, POLL_AT = 10, 3  # post i has a poll when i % 10 == 3
FILES_EVERY, FILES_AT = 10, 7  # and files when i % 10 == 7: payloads 10k … 10k+9 as names
IMAGE_EVERY = 5  # every fifth upload is a PNG: its name is also the preview's alt text
TEXT_FILE = b"A file of the XSS corpus.\n"
TABS = 2  # group pages read side by side

# Where people's words end up in a page. Rich text is markup from domain.markup; plain text
# must be text only; carriers hold a payload in an attribute.
RICH = ".post-body, .comment-body, .group-description"
PLAIN = (
    ".poll-label, .group-head h1, a.post-group, .groups-table td.col-link a, .post-author, "
    ".attachment-files a, .who, title"
)
CARRIERS = ".attachment-images img, progress.poll-bar"
USER_CONTENT = f"{RICH}, {PLAIN}, {CARRIERS}, .attachments"

# The htmx endpoints our templates point at (path only).
HTMX_PATHS = re.compile(
    r"/(?:|posts|posts/\d+|posts/\d+/(?:comments|reactions|edit|delete|pin|poll|share)"
    r"|posts/(?:mentions|records)|comments/\d+/(?:edit|delete)|timeline|follows"
    r"|records/[a-z]+/\d+/card|groups(?:/\d+/(?:join|leave))?|search|search/suggest"
    r"|attachments(?:/\d+/remove)?)"
)
ATTACHMENT_URL = re.compile(r"/attachments/\d+/[^/]*")
VERBS = ", ".join(
    f"[{p}hx-{v}]" for p in ("", "data-") for v in ("get", "post", "put", "patch", "delete")
)

# On top of test_xss.py's SENTINEL (``__pwn``, the htmx counter, cancelled link clicks): a log
# of every htmx attempt and request with the element that made it and, once the page is loaded,
# cancellation of every request and form submission; and a confirm() that says yes (so hx-confirm
# forms go on to ``htmx:beforeRequest``, where they are recorded and cancelled). No websocket:
# the live hub replays, at a time of its choosing, every post and comment written behind its
# back, re-rendering posts in the middle of a check (live frames have tests of their own).
WATCH = (
    SENTINEL
    + """
window.__htmxLog = [];
window.__cancel = false;
window.confirm = () => true;
delete window.WebSocket;
(() => {
  const USER = __USER__;
  const describe = (elt) => {
    if (!elt || !elt.localName) return "(none)";
    const article = elt.closest("article[id]");
    return `${article ? article.id + " " : ""}<${elt.localName} class="${elt.className}">`;
  };
  const own = (elt, verb) => {
    if (!elt || !elt.getAttribute) return null;
    return elt.getAttribute(`hx-${verb}`) ?? elt.getAttribute(`data-hx-${verb}`);
  };
  const log = (kind, detail, path) => {
    const elt = detail.elt;
    window.__htmxLog.push({
      kind,
      path: String(path),
      verb: String(detail.verb || (detail.requestConfig && detail.requestConfig.verb) || ""),
      own: own(elt, detail.verb || (detail.requestConfig && detail.requestConfig.verb)),
      user: !!(elt && elt.closest && elt.closest(USER)),
      elt: describe(elt),
    });
  };
  document.addEventListener("htmx:confirm", (event) => {
    log("attempt", event.detail, event.detail.path);
  });
  document.addEventListener("htmx:beforeRequest", (event) => {
    log("request", event.detail, event.detail.pathInfo.finalRequestPath);
    if (window.__cancel) event.preventDefault();
  });
  document.addEventListener("submit", (event) => {
    if (window.__cancel) event.preventDefault();
  }, true);
})();
""".replace("__USER__", json.dumps(USER_CONTENT))
)

# Phase one: load every page of the list ("Load older posts", "Load more"), then the comment
# regions of the posts with comments, through the page's own htmx links; wait until htmx settled.
EXPAND = """
async ({maxPages, comments}) => {
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const until = async (test, what) => {
    const end = Date.now() + 30000;
    while (!test()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(25);
    }
  };
  // htmx processes swapped-in content once it settles: only then do its links work.
  const busy = ".htmx-request, .htmx-settling, .htmx-swapping, .htmx-added";
  const settled = () => until(() => !document.querySelector(busy), "htmx to settle");
  let pages = 0;
  while (pages < maxPages) {
    await settled();
    const more = document.querySelector("main a.more");
    if (!more) break;
    more.click();
    await until(() => !more.isConnected, "the next page");
    pages++;
  }
  await settled();
  let regions = 0;
  if (comments) {
    // Those with comments ("3 comments", not "Comment").
    const links = Array.from(document.querySelectorAll("main a.comments-link"))
      .filter((link) => /\\d/.test(link.textContent));
    for (const link of links) link.click();
    regions = links.length;
    const targets = links.map((link) => link.getAttribute("hx-target"));
    const loaded = (selector) => !document.querySelector(selector).matches(".collapsed");
    await until(() => targets.every(loaded), "the comments");
  }
  await settled();
  window.__cancel = true;
  return {pages, regions};
}
"""

# Phase two: test_xss.py's EXERCISE, aimed where it matters. Every element inside people's words
# (where a handler could hide: an event reaches only its target and the target's ancestors) gets
# the whole volley of events and a click, and inside rich text a real focus() too; every element
# of our own in ``main`` that a person can click or that htmx listens on is clicked (a click
# anywhere else only bubbles up to one of these; a label's click is its control's), which sets
# off every htmx trigger of the page.
POKE = """
async ({user, rich, wait}) => {
  const types = ["mouseover", "mouseenter", "mousemove", "mousedown", "mouseup", "pointerover",
    "pointerenter", "pointerdown", "pointerup", "focus", "focusin", "blur", "keydown", "keyup",
    "input", "change", "submit", "dblclick", "contextmenu", "wheel", "touchstart", "copy", "paste",
    "animationstart", "animationend", "transitionend", "toggle", "load", "error"];
  const interactive = "a, button, input:not([type=hidden]), select, textarea, summary, " +
    "[tabindex], [hx-get], [hx-post], [hx-put], [hx-patch], [hx-delete], [hx-trigger]";
  const elements = Array.from(document.querySelectorAll("main *"));
  let volleyed = 0;
  let clicked = 0;
  for (const element of elements) {
    const mine = element.closest(user) !== null;
    if (mine) {
      volleyed++;
      for (const type of types) {
        element.dispatchEvent(new Event(type, {bubbles: true, cancelable: true}));
      }
    }
    if (!mine && !element.matches(interactive)) continue;
    clicked++;
    if (typeof element.focus === "function" && element.closest(rich)) element.focus();
    if (typeof element.click === "function") element.click();  // SVG has none
    else element.dispatchEvent(new MouseEvent("click", {bubbles: true, cancelable: true}));
  }
  await new Promise((resolve) => setTimeout(resolve, wait));
  return {
    pwned: window.__xss,
    where: window.__where,
    htmxLoaded: typeof window.htmx === "object",
    elements: elements.length,
    volleyed,
    clicked,
  };
}
"""

# The browser's reading of the DOM after the exercise.
INSPECT = """
({tags, rich, plain, carriers, verbs}) => {
  const allowed = new Set(tags);
  const problems = [];
  const hxUrls = [];
  const where = (el) => {
    const article = el.closest("article[id]");
    return `${location.pathname} ${article ? article.id : ""} <${el.localName}>`;
  };
  const scriptUrl = (value) =>
    /^(javascript|vbscript|data):/i.test(value.replace(/[\\u0000-\\u0020]/g, ""));
  const urlAttributes = new Set(["href", "src", "action", "formaction", "xlink:href", "data",
    "poster", "background", "srcdoc", "srcset"]);
  for (const el of document.querySelectorAll("*")) {
    for (const attribute of el.attributes) {
      const name = attribute.name.toLowerCase();
      if (name.startsWith("on") || name.startsWith("hx-on") || name.startsWith("data-hx-on")) {
        problems.push(`${where(el)} ${name}=${attribute.value}`);
      }
      if (urlAttributes.has(name) && scriptUrl(attribute.value)) {
        problems.push(`${where(el)} ${name}=${attribute.value}`);
      }
    }
  }
  for (const el of document.querySelectorAll(verbs)) {
    for (const attribute of el.attributes) {
      if (/^(data-)?hx-(get|post|put|patch|delete)$/.test(attribute.name)) {
        hxUrls.push(attribute.value);
      }
    }
  }
  const risky = (el) => Array.from(el.attributes).map((a) => a.name.toLowerCase()).filter(
    (n) => n.startsWith("on") || n.startsWith("hx-") || n.startsWith("data-hx-") || n === "style"
  );
  for (const box of document.querySelectorAll(rich)) {
    for (const name of risky(box)) problems.push(`${where(box)} ${name} on the container`);
    for (const el of box.querySelectorAll("*")) {
      const tag = el.localName;
      if (!allowed.has(tag)) problems.push(`${where(el)} not on the allowlist`);
      for (const attribute of el.attributes) {
        if (!(tag === "a" && ["href", "rel", "class"].includes(attribute.name))) {
          problems.push(`${where(el)} ${attribute.name}=${attribute.value}`);
        }
      }
      if (tag === "a" && el.hasAttribute("href")) {
        if (!["http:", "https:", "mailto:"].includes(el.protocol)) {
          problems.push(`${where(el)} href=${el.getAttribute("href")}`);
        } else if (el.origin === location.origin && !/^(mention|hashtag)$/.test(el.className)) {
          problems.push(`${where(el)} a site link that is no mention or hashtag: ${el.href}`);
        }
      }
    }
  }
  for (const box of document.querySelectorAll(plain)) {
    if (box.children.length) problems.push(`${where(box)} holds <${box.children[0].localName}>`);
    for (const name of risky(box)) problems.push(`${where(box)} ${name}`);
  }
  for (const el of document.querySelectorAll(carriers)) {
    for (const name of risky(el)) problems.push(`${where(el)} ${name}`);
    if (el.localName === "img" && new URL(el.src).origin !== location.origin) {
      problems.push(`${where(el)} src=${el.src}`);
    }
  }
  const texts = (selector) => Array.from(document.querySelectorAll(selector), (e) => e.textContent);
  return {
    problems,
    hxUrls,
    posts: document.querySelectorAll("main article.post").length,
    postBodies: document.querySelectorAll("main .post-body").length,
    comments: document.querySelectorAll("main .comment-body").length,
    pollLabels: texts("main .poll-label"),
    fileNames: texts("main .attachment-files a"),
    imageNames: Array.from(document.querySelectorAll("main .attachment-images img"), (e) => e.alt),
    groupNames: texts(".group-head h1, main a.post-group, .groups-table td.col-link a"),
    authors: texts("main .post-author"),
  };
}
"""


def tiny_png() -> bytes:
    """A valid 1 × 1 PNG, so the browser really shows the preview."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xcc\x33\x33"))
        + chunk(b"IEND", b"")
    )


def shown(text: str) -> str:
    """A text as the browser shows it: the HTML parser drops U+0000 from text."""
    return text.replace("\x00", "")


def poll_options() -> list[tuple[str, ...]]:
    """The payloads as poll options (whitespace collapsed, as the poll does): each in the first
    poll that has room and no option equal to it (casefolded, as the poll compares them)."""
    polls: list[list[str]] = []
    for payload in PAYLOADS:
        option = " ".join(payload.split())
        if not option or len(option) > OPTION_MAX:
            continue
        for poll in polls:
            if len(poll) < MAX_OPTIONS and option.casefold() not in {o.casefold() for o in poll}:
                poll.append(option)
                break
        else:
            polls.append([option])
    return [tuple(poll) for poll in polls if len(poll) >= 2]


def group_name(payload: str) -> str:
    """A payload cut to a group name's length (its whitespace collapsed, as the form does)."""
    return " ".join(payload.split())[:NAME_MAX]


@dataclass
class Channel:
    accepted: int = 0
    refused: int = 0


@dataclass
class GroupContent:
    """A group holding posts, what was written in it, and whether it is written yet."""

    id: int
    name: str
    payloads: range
    post_ids: list[int] = field(default_factory=list)
    comments: int = 0
    commented: set[int] = field(default_factory=set)
    poll_labels: list[str] = field(default_factory=list)
    file_names: list[str] = field(default_factory=list)
    image_names: list[str] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class Corpus:
    """The corpus in the server's database: ``begin`` makes the author and the groups, ``fill``
    (run in the background) the posts, polls, files and comments, one group at a time."""

    def __init__(self, data_dir: Path) -> None:
        self.db = Database(f"sqlite+aiosqlite:///{data_dir / 'atrium.sqlite3'}")
        self.store = AttachmentStore(data_dir)
        self.email = f"xss-{secrets.token_hex(4)}@example.com"
        self.user_id = 0
        self.groups: list[GroupContent] = []
        self.group_names: list[str] = []
        self.channels = {
            name: Channel()
            for name in ("post", "comment", "group name", "poll option", "file name", "description")
        }
        self.polls = poll_options()
        self.post_of: dict[int, int] = {}  # payload index -> its post
        self.seconds = 0.0
        self.task: asyncio.Task[None] | None = None

    async def _principal(self, session: AsyncSession) -> Principal:
        user = await session.get(User, self.user_id)
        assert user is not None
        return await load_principal(session, user)

    async def begin(self) -> None:
        """The author, and a hidden group per payload; the first ones will hold the posts."""
        started = time.perf_counter()
        batches = range(0, len(PAYLOADS), POSTS_PER_GROUP)
        async with self.db.transaction() as session:
            user = await do_create_user(
                session, email=self.email, name=AUTHOR_NAME, password=DEMO_PASSWORD
            )
            self.user_id = user.id
            principal = await load_principal(session, user)
            for payload in PAYLOADS:
                holds_posts = len(self.groups) < len(batches)
                try:
                    group = await do_create_group(
                        session,
                        principal,
                        name=group_name(payload),
                        description=payload if holds_posts else "",
                        visibility=GroupVisibility.HIDDEN,
                    )
                except ValidationFailed:
                    self.channels["group name"].refused += 1
                    continue
                self.channels["group name"].accepted += 1
                assert group.name == check_group_input(group_name(payload), "", "hidden").name
                self.group_names.append(group.name)
                if holds_posts:
                    self.channels["description"].accepted += 1
                    start = batches[len(self.groups)]
                    payloads = range(start, min(start + POSTS_PER_GROUP, len(PAYLOADS)))
                    self.groups.append(GroupContent(group.id, group.name, payloads))
        self.seconds += time.perf_counter() - started

    async def fill(self) -> None:
        started = time.perf_counter()
        for content in self.groups:
            async with self.db.transaction() as session:
                principal = await self._principal(session)
                for i in content.payloads:
                    await self._post(session, principal, content, i)
                await self._comments(session, principal, content)
            content.ready.set()
            await asyncio.sleep(0.05)  # let the server's own writes (a sign-in) have a turn
        # Payloads no poll took: empty, or too long for an option.
        self.channels["poll option"].refused = len(PAYLOADS) - self.channels["poll option"].accepted
        self.seconds += time.perf_counter() - started

    async def _post(
        self, session: AsyncSession, principal: Principal, content: GroupContent, i: int
    ) -> None:
        """Payload ``i`` as a post in the group, with a poll or files when its turn comes."""
        poll = None
        if i % POLL_EVERY == POLL_AT and i // POLL_EVERY < len(self.polls):
            options = self.polls[i // POLL_EVERY]
            kind = PollKind.MULTIPLE if i // POLL_EVERY % 2 else PollKind.SINGLE
            poll = PollInput(kind, options, None, PollResults.AFTER_VOTE)
        files: list[tuple[int, str, bool]] = []
        if i % FILES_EVERY == FILES_AT:
            first = i - i % FILES_EVERY
            for u in range(first, min(first + MAX_PER_POST, len(PAYLOADS))):
                image = u % IMAGE_EVERY == 0
                data = tiny_png() if image else TEXT_FILE
                try:
                    upload = await do_upload(
                        session, principal, self.store, PAYLOADS[u], "text/plain", data
                    )
                except ValidationFailed:
                    self.channels["file name"].refused += 1
                    continue
                assert upload.filename == clean_filename(PAYLOADS[u])
                files.append((upload.id, upload.filename, image))
        try:
            post = await do_create_post(
                session,
                principal,
                PostInput(
                    body=PAYLOADS[i],
                    group_id=content.id,
                    poll=poll,
                    attachment_ids=tuple(f[0] for f in files),
                ),
            )
        except ValidationFailed:
            self.channels["post"].refused += 1
            for attachment_id, _name, _image in files:
                await do_discard_upload(session, principal, attachment_id)
            self.channels["file name"].refused += len(files)
            return
        self.channels["post"].accepted += 1
        self.post_of[i] = post.id
        content.post_ids.append(post.id)
        if poll is not None:
            self.channels["poll option"].accepted += len(poll.options)
            content.poll_labels.extend(poll.options)
        for _id, name, image in files:
            self.channels["file name"].accepted += 1
            (content.image_names if image else content.file_names).append(name)

    async def _comments(
        self, session: AsyncSession, principal: Principal, content: GroupContent
    ) -> None:
        """A comment for each post of the group: the payload half the corpus away from the
        post's own, all those of a run of ``COMMENTS_EVERY`` posts on the run's post with a
        poll (fewer comment regions to load, the same comments)."""
        for i in content.payloads:
            payload = PAYLOADS[(i + len(PAYLOADS) // 2) % len(PAYLOADS)]
            first = i - i % COMMENTS_EVERY
            run = [first + POLL_AT, *range(first, first + COMMENTS_EVERY)]
            post_id = next((self.post_of[j] for j in run if j in self.post_of), None)
            post_id = post_id or content.post_ids[0]
            try:
                await do_add_comment(session, principal, post_id, payload)
            except ValidationFailed:
                self.channels["comment"].refused += 1
                continue
            self.channels["comment"].accepted += 1
            content.comments += 1
            content.commented.add(post_id)

    def start(self) -> asyncio.Task[None]:
        """Fill the groups in the background (once)."""
        if self.task is None:
            self.task = asyncio.create_task(self.fill())
        return self.task

    async def ready(self, content: GroupContent) -> None:
        """Wait until the group is written (or the writing failed: then raise its error)."""
        task = self.start()
        waiting = asyncio.ensure_future(content.ready.wait())
        await asyncio.wait({waiting, task}, return_when=asyncio.FIRST_COMPLETED)
        if not content.ready.is_set():
            waiting.cancel()
            task.result()
            raise AssertionError(f"group {content.id} was never written")

    async def finished(self) -> None:
        await asyncio.shield(self.start())


@pytest.fixture(scope="module")
async def corpus(e2e_server: Server) -> AsyncIterator[Corpus]:
    corpus = Corpus(e2e_server.log_path.parent)
    try:
        await corpus.begin()
        yield corpus
    finally:
        if corpus.task is not None and not corpus.task.done():
            corpus.task.cancel()
            await asyncio.wait({corpus.task})
        await corpus.db.dispose()


@dataclass
class Tab:
    """A page of the signed-in context, with what it logged and fetched."""

    page: Page
    base_url: str
    problems: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
async def tabs(browser: Browser, e2e_server: Server, corpus: Corpus) -> AsyncIterator[list[Tab]]:
    """``TABS`` pages of one context signed in as the corpus's author, bypassing the CSP."""
    context = await browser.new_context(
        base_url=e2e_server.base_url, viewport=DESKTOP, locale="en-US", bypass_csp=True
    )
    try:
        context.set_default_timeout(30_000)
        await context.add_init_script(WATCH)
        tabs = []
        for _ in range(TABS):
            tab = Tab(await context.new_page(), e2e_server.base_url)
            watch(tab)
            tabs.append(tab)
        await tabs[0].page.goto("/login")
        await sign_in(tabs[0].page, corpus.email)
        await tabs[0].page.wait_for_url(f"{e2e_server.base_url}/")
        corpus.start()  # after signing in: its writes would make the sign-in wait
        yield tabs
    finally:
        await context.close()


def watch(tab: Tab) -> None:
    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            tab.problems.append(f"console error at {where}: {message.text}")

    def on_request(request: Request) -> None:
        tab.requests.append(request.url)

    tab.page.on("console", on_console)
    tab.page.on("pageerror", lambda exc: tab.problems.append(f"uncaught: {exc}"))
    tab.page.on("request", on_request)


@dataclass
class Outcome:
    path: str
    seconds: float
    expanded: dict[str, int]
    poked: dict[str, Any]
    inspected: dict[str, Any]
    htmx: list[dict[str, Any]]
    problems: list[str]
    requests: list[str]


async def visit(
    tab: Tab, path: str, *, max_pages: int = 1000, comments: bool = True, plant: str | None = None
) -> Outcome:
    """Open a page, load it whole (phase one), poke everything (two), read what happened."""
    started = time.perf_counter()
    page = tab.page
    first_problem, first_request = len(tab.problems), len(tab.requests)
    await page.goto(path, wait_until="load")
    await page.wait_for_function("typeof window.htmx === 'object'")
    expanded = await page.evaluate(EXPAND, {"maxPages": max_pages, "comments": comments})
    if plant is not None:
        await page.evaluate(plant)
    poked = await page.evaluate(POKE, {"user": USER_CONTENT, "rich": RICH, "wait": 300})
    inspected = await page.evaluate(
        INSPECT,
        {"tags": sorted(TAGS), "rich": RICH, "plain": PLAIN, "carriers": CARRIERS, "verbs": VERBS},
    )
    htmx = await page.evaluate("window.__htmxLog")
    return Outcome(
        path=path,
        seconds=time.perf_counter() - started,
        expanded=expanded,
        poked=poked,
        inspected=inspected,
        htmx=htmx,
        problems=tab.problems[first_problem:],
        requests=tab.requests[first_request:],
    )


def htmx_findings(outcome: Outcome) -> list[str]:
    """Every htmx attempt or request that is not ours: from user content, to a path its
    element does not name, or to a path that is not one of the app's htmx endpoints."""
    findings = []
    for entry in outcome.htmx:
        path = urlsplit(entry["path"]).path
        if entry["user"]:
            findings.append(f"from user content: {entry}")
        elif entry["own"] is None or urlsplit(entry["own"]).path != path:
            findings.append(f"not the element's own URL: {entry}")
        elif not HTMX_PATHS.fullmatch(path) or "pwn" in entry["path"].lower():
            findings.append(f"not an htmx endpoint of the app: {entry}")
    return findings


def request_findings(outcome: Outcome, base_url: str) -> list[str]:
    """Network requests that left the server, or carry a payload's aim outside an attachment."""
    findings = []
    for url in outcome.requests:
        if not url.startswith(base_url + "/"):
            findings.append(f"left the server: {url}")
        elif "pwn" in unquote(url).lower() and not ATTACHMENT_URL.fullmatch(urlsplit(url).path):
            findings.append(f"a payload's request: {url}")
    return findings


def assert_inert(outcome: Outcome, base_url: str) -> None:
    poked, inspected, where = outcome.poked, outcome.inspected, outcome.path
    assert poked["htmxLoaded"], f"{where}: the page must run the real htmx"
    assert poked["volleyed"] > 0, where
    assert poked["pwned"] == 0, f"{where}: scripts ran, from {sorted(set(poked['where']))}"
    assert htmx_findings(outcome) == [], where
    assert any(entry["kind"] == "request" for entry in outcome.htmx), f"{where}: no htmx at all"
    assert request_findings(outcome, base_url) == [], where
    assert inspected["problems"] == [], where
    # Every htmx URL in the page, requested or not, is one of the app's own endpoints.
    strays = [u for u in inspected["hxUrls"] if not HTMX_PATHS.fullmatch(urlsplit(u).path)]
    assert strays == [], where
    assert outcome.problems == [], f"{where}: the page logged errors"
    if inspected["posts"]:
        assert AUTHOR_NAME in inspected["authors"], where


def check_group_page(outcome: Outcome, content: GroupContent, base_url: str) -> None:
    assert_inert(outcome, base_url)
    inspected = outcome.inspected
    assert inspected["posts"] == len(content.post_ids)
    assert outcome.expanded["regions"] == len(content.commented)
    assert inspected["comments"] == content.comments
    # Shown as written, as text: every poll option, file name, and the group's name.
    assert sorted(inspected["pollLabels"]) == sorted(shown(o) for o in content.poll_labels)
    assert sorted(inspected["fileNames"]) == sorted(content.file_names)
    assert sorted(inspected["imageNames"]) == sorted(content.image_names)
    assert set(inspected["groupNames"]) == {content.name}


async def test_group_pages_run_nothing(corpus: Corpus, tabs: list[Tab]) -> None:
    """Every group holding posts, read as soon as it is written, ``TABS`` at a time."""
    started = time.perf_counter()
    todo: Iterator[GroupContent] = iter(corpus.groups)
    seconds: list[float] = []

    async def reader(tab: Tab) -> None:
        for content in todo:
            await corpus.ready(content)
            outcome = await visit(tab, f"/groups/{content.id}")
            seconds.append(outcome.seconds)
            check_group_page(outcome, content, tab.base_url)

    async with asyncio.TaskGroup() as readers:
        for tab in tabs:
            readers.create_task(reader(tab))
    print(
        f"\n{len(seconds)} group pages in {time.perf_counter() - started:.1f} s "
        f"({max(seconds):.1f} s at most each); writing took {corpus.seconds:.1f} s"
    )


async def test_the_corpus_went_in(corpus: Corpus) -> None:
    await corpus.finished()
    channels = corpus.channels
    print(f"\n{ {name: (c.accepted, c.refused) for name, c in channels.items()} }")
    assert len(PAYLOADS) >= 300
    # Each payload is a post and a comment; only the empty one is refused ("write something").
    for name in ("post", "comment", "group name", "file name"):
        assert channels[name].accepted >= len(PAYLOADS) - 1, name
        assert channels[name].refused <= 1, name
    assert channels["poll option"].accepted >= len(PAYLOADS) - 1
    assert sum(g.comments for g in corpus.groups) == channels["comment"].accepted
    assert sum(len(g.post_ids) for g in corpus.groups) == channels["post"].accepted


def first_post_with(corpus: Corpus, every: int, at: int) -> int:
    return corpus.post_of[min(i for i in corpus.post_of if i % every == at)]


async def test_post_pages_with_a_poll_and_files_run_nothing(
    corpus: Corpus, tabs: list[Tab]
) -> None:
    await corpus.finished()
    poll = await visit(tabs[0], f"/posts/{first_post_with(corpus, POLL_EVERY, POLL_AT)}")
    files = await visit(tabs[0], f"/posts/{first_post_with(corpus, FILES_EVERY, FILES_AT)}")
    for outcome in (poll, files):
        assert_inert(outcome, tabs[0].base_url)
        assert outcome.inspected["posts"] == 1
    assert poll.inspected["comments"] == COMMENTS_EVERY
    assert len(poll.inspected["pollLabels"]) == MAX_OPTIONS
    assert len(files.inspected["fileNames"]) + len(files.inspected["imageNames"]) == MAX_PER_POST


async def test_the_home_timeline_runs_nothing(corpus: Corpus, tabs: list[Tab]) -> None:
    await corpus.finished()
    outcome = await visit(tabs[0], "/", max_pages=2)
    assert_inert(outcome, tabs[0].base_url)
    assert outcome.expanded["pages"] == 2
    assert outcome.inspected["posts"] >= 60  # three pages of 20, and news on top
    assert outcome.inspected["comments"] > 0


async def test_the_group_list_runs_nothing(corpus: Corpus, tabs: list[Tab]) -> None:
    await corpus.finished()
    outcome = await visit(tabs[0], "/groups", comments=False)
    assert_inert(outcome, tabs[0].base_url)
    names = outcome.inspected["groupNames"]
    assert [n for n in corpus.group_names if n not in names] == []


PLANT = """
() => {
  const body = document.querySelector("main .post-body");
  body.insertAdjacentHTML("beforeend",
    '<a hx-get="/pwn-control" hx-trigger="click">htmx</a>' +
    '<span onmouseover="__pwn()">hover</span>' +
    '<a href="javascript:__pwn()">link</a>');
  window.htmx.process(body);
  document.querySelector("main .poll-label").insertAdjacentHTML("beforeend", "<b>bold</b>");
}
"""


async def test_the_harness_sees_a_planted_attack(corpus: Corpus, tabs: list[Tab]) -> None:
    """The same checks on a post page with unsafe markup planted in its body and in a poll
    option: each kind of attack is seen, so the tests above cannot pass vacuously."""
    post_id = first_post_with(corpus, POLL_EVERY, POLL_AT)
    outcome = await visit(tabs[0], f"/posts/{post_id}", plant=PLANT)
    assert outcome.poked["pwned"] >= 2  # the hover handler and the javascript: link
    findings = htmx_findings(outcome)
    assert any("from user content" in f and "/pwn-control" in f for f in findings)
    problems = outcome.inspected["problems"]
    assert any("onmouseover" in p for p in problems)
    assert any("href=javascript:" in p for p in problems)
    assert any("hx-get" in p for p in problems)
    assert any("holds <b>" in p for p in problems)
    assert "/pwn-control" in outcome.inspected["hxUrls"]
