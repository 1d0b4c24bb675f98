"""The one pipeline every user-written text goes through before anyone's browser sees it.

Posts, comments and every other text a person writes are stored as they were typed and shown
through ``render``; search documents and notifications use ``plain_text``. Keeping one pipeline
means one place to get right: nothing a user writes may run a script or make htmx send a request.

The steps, and what was chosen where ARCHITECTURE.md is silent:

1. markdown-it-py in CommonMark mode with raw HTML off, so ``<b>`` or ``<img onerror=…>`` in the
   input is shown as the text it is. Enabled: paragraphs, emphasis and strong, lists, links and
   ``<…>`` autolinks, inline and fenced code, block quotes, reference links; a newline is a line
   break (``breaks``), as people expect in a post. Disabled: images, thematic breaks, raw HTML,
   and indented code (four spaces of indentation in a post is rarely meant as code). Headings are
   kept but shown as a bold paragraph: a timeline has no place for ``<h1>``.
2. A pass over the parsed tokens: a link the user wrote keeps its text but loses its target unless
   that is an absolute ``http``, ``https`` or ``mailto`` URL (so no ``javascript:``, ``data:``,
   relative or protocol-relative links); bare ``http(s)://`` URLs become links; ``@handle`` and
   ``#tag`` in ordinary text (not in code, not in a link) are collected, and linked when the
   caller can resolve them. Only links made here from ``mention`` and ``hashtag_url`` may be
   site-relative (``/people/zoe``).
3. nh3 (ammonia) with an explicit allowlist, as the last word whatever the steps before did:
   the tags of ``TAGS``; on ``a`` only ``href`` (``http``, ``https``, ``mailto`` or a path from
   the site root), ``class`` limited to ``mention``/``hashtag``, and a fixed ``rel``; no other
   attribute on any tag (so no ``hx-*``, ``on*``, ``style``, ``id``, ``target``, ``data-*``).

``sanitise(render(t).html) == render(t).html``: the output is a fixed point of step 3.
Known limits: an ordered list always counts from 1 (``start`` is not allowed); a URL written
next to markdown punctuation (``*http://x*``) is cut where the emphasis begins; ``\\@name``
is still a mention, because the escape is gone by the time mentions are found.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

from domain.errors import ValidationFailed
from domain.text import N_

MAX_LENGTH = 20_000
TAGS = frozenset({"p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a"})
LINK_CLASSES = frozenset({"mention", "hashtag"})
SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer"


@dataclass(frozen=True)
class MentionTarget:
    """Where an ``@handle`` links to, and the text the link shows (a name, or the handle)."""

    url: str
    label: str


@dataclass(frozen=True)
class Rendered:
    """Safe HTML, with the ``@handles`` (as written, without the ``@``) and the lowercased
    ``#tags`` found in the text, each once, in order of appearance."""

    html: str
    mentions: tuple[str, ...]
    hashtags: tuple[str, ...]


MentionLookup = Callable[[str], MentionTarget | None]
HashtagUrl = Callable[[str], str]


def _site_path(url: str) -> str | None:
    """nh3's verdict on an href without a scheme: a path from the site root, and nothing else
    (``//host`` and ``/\\host`` leave the site in a browser)."""
    return url if url.startswith("/") and not url.startswith(("//", "/\\")) else None


def _scriptish(value: str) -> bool:
    """Whether a value reads "javascript:" anywhere. Harmless after "http://" (a host named
    JAVASCRIPT, a query), but no reader needs it, and refusing it is one less thing to trust."""
    return "javascript:" in "".join(value.split()).lower()


def _no_script_urls(tag: str, attribute: str, value: str) -> str | None:
    return None if _scriptish(value) else value


_CLEANER = nh3.Cleaner(
    tags=set(TAGS),
    clean_content_tags={"script", "style"},
    attributes={"a": {"href"}, "*": set()},
    generic_attribute_prefixes=set(),
    allowed_classes={"a": set(LINK_CLASSES)},
    url_schemes=set(SCHEMES),
    url_relative=_site_path,
    attribute_filter=_no_script_urls,
    link_rel=LINK_REL,
    strip_comments=True,
)

_MARKDOWN = MarkdownIt("commonmark", {"html": False, "breaks": True}).disable(
    ["image", "hr", "html_block", "html_inline", "code"]
)
# Every link target is parsed as written, so that the token pass below can drop a bad target and
# keep its text; markdown-it's own check would leave "[x](javascript:…)" as literal text instead.
_MARKDOWN.validateLink = lambda url: True  # type: ignore[method-assign]

# One scan finds bare URLs, mentions and hashtags, left to right, so that a URL's "#fragment" or
# "/@user" path is never read as a hashtag or mention. A mention does not follow a word
# character, "@", ".", "/", "+" or "-" (so a@b.nl is an email), nor is it followed by "@"
# (bob@mastodon.social); a hashtag needs a letter, so "#1" stays an issue number.
_FINDS = re.compile(
    r"(?P<url>\bhttps?://[^\s<>\"'`]+)"
    r"|(?<![\w@./+-])@(?P<mention>\w(?:[\w.-]*\w)?)(?![\w@])"
    r"|(?<![\w&#/])#(?P<tag>\w*[^\W\d_]\w*)"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_URL_TRAILER = ".,:;!?*_~'\""


def sanitise(html_text: str) -> str:
    """Step 3 alone: the HTML allowlist. ``render`` output passes through it unchanged.

    When ammonia drops an href through a callback it puts the link's rel in its place, and the
    next pass moves rel back to the end: one more pass makes the result a fixed point. (``render``
    checks its links beforehand, so this is a safety net there; a pass costs ~1/15 of a render.)
    """
    once = _CLEANER.clean(html_text)
    return once if once == html_text else _CLEANER.clean(once)


def render(
    text: str,
    *,
    mention: MentionLookup | None = None,
    hashtag_url: HashtagUrl | None = None,
) -> Rendered:
    """Markdown subset -> safe HTML, with the mentions and hashtags found on the way.

    ``mention(handle)`` gives the person's page, or None for nobody by that handle (the text
    stays plain); ``hashtag_url(tag)`` gives the page of a lowercased tag. Without them nothing
    is linked, but both are still collected, so a caller can look the handles up and render
    again. Raises ValidationFailed for a text over ``MAX_LENGTH`` characters.
    """
    if len(text) > MAX_LENGTH:
        raise ValidationFailed({"body": N_("This text is too long (at most 20,000 characters).")})
    found = _Found(mention, hashtag_url)
    # Lone surrogates (JSON can carry them) cannot be encoded; they become U+FFFD, as NUL does.
    text = unicodedata.normalize("NFC", _SURROGATE.sub("\ufffd", text))
    tokens = _MARKDOWN.parse(text)
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            token.type, token.tag = "paragraph_open", "p"
            tokens[i + 2].type, tokens[i + 2].tag = "paragraph_close", "p"
            inline = tokens[i + 1]
            inline.children = [
                Token("strong_open", "strong", 1),
                *(inline.children or []),
                Token("strong_close", "strong", -1),
            ]
        elif token.type == "inline":
            token.children = found.weave(token.children or [])
    rendered = _MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {})
    return Rendered(sanitise(rendered), tuple(found.mentions), tuple(found.hashtags))


def plain_text(text: str) -> str:
    """The text as a reader sees it, without markup: for search documents and notifications.

    The result is plain text, not HTML: escape it wherever it is shown.
    """
    stripped = nh3.clean(render(text).html, tags=set(), attributes={}, link_rel=None)
    return re.sub(r"\n{3,}", "\n\n", html.unescape(stripped)).strip()


def _allowed_target(href: str, *, need_host: bool = False) -> bool:
    try:
        parts = urlsplit(href)
    except ValueError:  # e.g. "http://[" is not a URL
        return False
    scheme_ok = parts.scheme.lower() in SCHEMES and not _scriptish(href)
    return scheme_ok and (bool(parts.netloc) or not need_host)


def _our_target(url: str) -> bool:
    """A mention or hashtag page: a path from the site root, or an absolute URL."""
    return (_site_path(url) is not None and not _scriptish(url)) or _allowed_target(url)


def _link(href: str, label: str, css_class: str | None = None) -> list[Token]:
    attrs: dict[str, str | int | float] = {"href": href}
    if css_class is not None:
        attrs["class"] = css_class
    text = Token("text", "", 0, content=label)
    return [Token("link_open", "a", 1, attrs=attrs), text, Token("link_close", "a", -1)]


def _trim_url(url: str) -> str:
    """Drop the punctuation a sentence puts after a URL, and a ")" the URL did not open."""
    unopened = url.count(")") - url.count("(")
    end = len(url)
    while end:
        if url[end - 1] == ")" and unopened > 0:
            unopened -= 1
        elif url[end - 1] not in _URL_TRAILER:
            break
        end -= 1
    return url[:end]


class _Found:
    """The mentions and hashtags of one text, and the rewriting of its inline tokens."""

    def __init__(self, mention: MentionLookup | None, hashtag_url: HashtagUrl | None) -> None:
        self.lookup = mention
        self.hashtag_url = hashtag_url
        self.mentions: dict[str, None] = {}  # dicts keep order and drop repeats
        self.hashtags: dict[str, None] = {}

    def weave(self, children: list[Token]) -> list[Token]:
        """Drop the targets of links that may not be followed, and link what the text names."""
        out: list[Token] = []
        links: list[bool] = []  # for each open link: was it kept?
        for token in children:
            if token.type == "link_open":
                keep = _allowed_target(str(token.attrGet("href") or ""))
                links.append(keep)
                if keep:
                    out.append(token)
            elif token.type == "link_close":
                if links.pop():
                    out.append(token)
            elif token.type == "text" and not links:
                out.extend(self.split(token.content))
            else:
                out.append(token)
        return out

    def split(self, content: str) -> list[Token]:
        out: list[Token] = []
        start = 0
        for match in _FINDS.finditer(content):
            made = self.make(match)
            if made is None:
                continue
            written, tokens = made
            out.append(Token("text", "", 0, content=content[start : match.start()]))
            out.extend(tokens)
            start = match.start() + len(written)
        out.append(Token("text", "", 0, content=content[start:]))
        return [t for t in out if t.type != "text" or t.content]

    def make(self, match: re.Match[str]) -> tuple[str, list[Token]] | None:
        """The part of the text a match covers, and the tokens that replace it."""
        if url := match["url"]:
            url = _trim_url(url)
            href = _MARKDOWN.normalizeLink(url)
            if not _allowed_target(href, need_host=True):
                return None
            return url, _link(href, url)
        written = match[0]
        if handle := match["mention"]:
            self.mentions.setdefault(handle)
            target = self.lookup(handle) if self.lookup else None
            if target is None or not _our_target(target.url):
                return written, [Token("text", "", 0, content=written)]
            return written, _link(target.url, target.label, "mention")
        tag = match["tag"].lower()
        self.hashtags.setdefault(tag)
        url = self.hashtag_url(tag) if self.hashtag_url else ""
        if not _our_target(url):
            return written, [Token("text", "", 0, content=written)]
        return written, _link(url, written, "hashtag")
