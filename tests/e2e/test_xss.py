"""The XSS corpus in a real browser: every payload of tests/domain/xss_corpus.py rendered by
domain/markup.py into one page that loads the real htmx, then every element hovered, focused,
clicked and sent a volley of other events. Nothing may run, and nothing may be fetched.

The page has no Content-Security-Policy on purpose: the markup itself must be inert, whatever
the headers it is later served with. It is served by Playwright's router under a made-up origin;
any other request is recorded and aborted. A payload that ran would call ``__pwn()`` (it counts);
an htmx request would fire ``htmx:beforeRequest`` (counted too). Links to real places are not
followed (their click is cancelled), but a ``javascript:`` link, were one to survive, is: so a
click would run it. A control page of unsanitised markup shows the harness sees each kind of
attack.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import pytest
from playwright.async_api import Browser, Request, Route

from domain.markup import TAGS, render
from tests.domain.xss_corpus import PAYLOADS, hashtag_url, mention

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
HTMX_FILE = ROOT / "static" / "vendor" / "htmx.min.js"
PAGE = "http://xss.atrium.test/"
HTMX = PAGE + "htmx.min.js"

SENTINEL = """
window.__xss = 0;
window.__htmx = 0;
window.__where = [];
window.__pwn = () => {
  window.__xss++;
  const target = window.event && window.event.target;
  const article = target && target.closest ? target.closest("article") : null;
  window.__where.push(article ? article.id : "(no event)");
};
document.addEventListener("htmx:beforeRequest", () => { window.__htmx++; });
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest("a[href]");
  if (link && ["http:", "https:", "mailto:"].includes(link.protocol)) event.preventDefault();
}, true);
"""

EXERCISE = """
async () => {
  const types = ["mouseover", "mouseenter", "mousemove", "mousedown", "mouseup", "pointerover",
    "pointerenter", "pointerdown", "pointerup", "focus", "focusin", "blur", "keydown", "keyup",
    "input", "change", "submit", "dblclick", "contextmenu", "wheel", "touchstart", "copy", "paste",
    "animationstart", "animationend", "transitionend", "toggle", "load", "error"];
  const elements = Array.from(document.querySelectorAll("main *"));
  for (const element of elements) {
    for (const type of types) {
      element.dispatchEvent(new Event(type, {bubbles: true, cancelable: true}));
    }
    if (typeof element.focus === "function") element.focus();
    if (typeof element.click === "function") element.click();  // SVG has none
    else element.dispatchEvent(new MouseEvent("click", {bubbles: true, cancelable: true}));
  }
  await new Promise((resolve) => setTimeout(resolve, 600));
  return {
    pwned: window.__xss,
    where: window.__where,
    htmx: window.__htmx,
    htmxLoaded: typeof window.htmx === "object",
    elements: elements.length,
    mentions: document.querySelectorAll("main a.mention[href]").length,
    hashtags: document.querySelectorAll("main a.hashtag[href]").length,
  };
}
"""

# The browser's own reading of the DOM: tags, attributes and the protocol of every link.
OFF_THE_LIST = """
(tags) => {
  const allowed = new Set(tags);
  const problems = [];
  for (const element of document.querySelectorAll("main article *")) {
    const where = element.closest("article").id;
    const tag = element.localName;
    if (!allowed.has(tag)) problems.push(`${where}: <${tag}>`);
    for (const attribute of element.attributes) {
      if (!(tag === "a" && ["href", "rel", "class"].includes(attribute.name))) {
        problems.push(`${where}: <${tag} ${attribute.name}>`);
      }
    }
    if (tag === "a" && element.hasAttribute("href")
        && !["http:", "https:", "mailto:"].includes(element.protocol)) {
      problems.push(`${where}: <a href=${element.getAttribute("href")}>`);
    }
  }
  return problems;
}
"""


@dataclass
class Outcome:
    pwned: int
    where: list[str]
    htmx_requests: int
    htmx_loaded: bool
    elements: int
    mentions: int
    hashtags: int
    off_the_list: list[str]
    requests: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)


def page_of(bodies: Sequence[str]) -> str:
    articles = "\n".join(
        f'<article id="payload-{i}">{body}</article>' for i, body in enumerate(bodies)
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape('XSS corpus')}</title><script>{SENTINEL}</script>"
        f'<script src="{HTMX}"></script></head><body><main>{articles}</main></body></html>'
    )


async def exercise(browser: Browser, bodies: Sequence[str]) -> Outcome:
    """Load the bodies as one page, poke every element, and report what happened."""
    if not HTMX_FILE.is_file():
        pytest.fail(f"{HTMX_FILE} is missing: run `make setup`", pytrace=False)
    document = page_of(bodies)
    requests: list[str] = []
    page_errors: list[str] = []

    async def serve(route: Route) -> None:
        if route.request.url == PAGE:
            await route.fulfill(body=document, content_type="text/html; charset=utf-8")
        elif route.request.url == HTMX:
            await route.fulfill(path=HTMX_FILE, content_type="text/javascript")
        else:
            await route.abort()

    context = await browser.new_context()
    try:
        context.set_default_timeout(15_000)
        await context.route("**/*", serve)
        page = await context.new_page()

        def on_request(request: Request) -> None:
            requests.append(request.url)

        page.on("request", on_request)
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        await page.goto(PAGE, wait_until="load")
        found = await page.evaluate(EXERCISE)
        off_the_list = await page.evaluate(OFF_THE_LIST, sorted(TAGS))
    finally:
        await context.close()
    return Outcome(
        pwned=found["pwned"],
        where=found["where"],
        htmx_requests=found["htmx"],
        htmx_loaded=found["htmxLoaded"],
        elements=found["elements"],
        mentions=found["mentions"],
        hashtags=found["hashtags"],
        off_the_list=off_the_list,
        requests=requests,
        page_errors=page_errors,
    )


async def test_no_payload_of_the_corpus_runs_a_script_or_makes_a_request(
    browser: Browser,
) -> None:
    assert len(PAYLOADS) >= 300
    bodies = [render(p, mention=mention, hashtag_url=hashtag_url).html for p in PAYLOADS]
    outcome = await exercise(browser, bodies)

    assert outcome.htmx_loaded, "the page must run the real htmx"
    assert outcome.elements > len(PAYLOADS)
    assert outcome.mentions > 0
    assert outcome.hashtags > 0
    assert outcome.pwned == 0, f"scripts ran, from {sorted(set(outcome.where))}"
    assert outcome.htmx_requests == 0
    assert sorted(set(outcome.requests)) == [PAGE, HTMX]
    assert outcome.off_the_list == []
    assert outcome.page_errors == []


async def test_the_harness_sees_each_kind_of_attack(browser: Browser) -> None:
    """The same page, with markup that did not go through the pipeline."""
    unsanitised = [
        '<a href="javascript:__pwn()">link</a>',
        '<span onmouseover="__pwn()">hover</span>',
        '<img src="/missing.png" onerror="__pwn()">',
        '<div hx-get="/pwn" hx-trigger="load">htmx</div>',
    ]
    outcome = await exercise(browser, unsanitised)

    assert outcome.pwned >= 3
    assert outcome.htmx_requests >= 1
    assert PAGE + "pwn" in outcome.requests
    assert any("onmouseover" in problem for problem in outcome.off_the_list)
