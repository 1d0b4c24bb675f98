"""The sanitising pipeline: what each markdown feature becomes, what never gets through, how
mentions and hashtags are found, and — by property and over the XSS corpus — that the output
only ever holds allowlisted markup and is a fixed point of the sanitiser."""

from __future__ import annotations

import unicodedata
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import ValidationFailed
from domain.markup import (
    LINK_CLASSES,
    LINK_REL,
    MAX_LENGTH,
    TAGS,
    MentionTarget,
    plain_text,
    render,
    sanitise,
)
from tests.domain.xss_corpus import PAYLOADS, hashtag_url, mention

REL = f'rel="{LINK_REL}"'


def html(text: str) -> str:
    return render(text, mention=mention, hashtag_url=hashtag_url).html


class AllowlistCheck(HTMLParser):
    """Everything in a piece of HTML that is not on the allowlist, as readable problems."""

    def __init__(self, *, sanitiser_only: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self.sanitiser_only = sanitiser_only
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TAGS:
            self.problems.append(f"tag <{tag}>")
        names = [name for name, _ in attrs]
        values = {name: value or "" for name, value in attrs}
        for name, value in values.items():
            squeezed = "".join(value.split()).lower()
            if name.startswith(("on", "hx-", "data-")) or "javascript:" in squeezed:
                self.problems.append(f"<{tag} {name}={value!r}>")
        if tag != "a":
            if attrs:
                self.problems.append(f"attributes on <{tag}>: {names}")
            return
        if len(set(names)) != len(names) or not set(names) <= {"href", "rel", "class"}:
            self.problems.append(f"attributes on <a>: {names}")
        if values.get("rel") != LINK_REL:
            self.problems.append(f"<a rel={values.get('rel')!r}>")
        # The sanitiser alone leaves class="" where no allowed class was left: inert.
        classes = LINK_CLASSES | {""} if self.sanitiser_only else LINK_CLASSES
        if "class" in values and values["class"] not in classes:
            self.problems.append(f"<a class={values['class']!r}>")
        ours = "class" in values or self.sanitiser_only
        if "href" in values and not self.allowed_href(values["href"], ours):
            self.problems.append(f"<a href={values['href']!r}>")

    @staticmethod
    def allowed_href(href: str, ours: bool) -> bool:
        """Absolute http, https and mailto; a path from the site root only on the mention and
        hashtag links the pipeline makes itself (the sanitiser alone cannot tell them apart)."""
        if ours and href.startswith("/") and not href.startswith(("//", "/\\")):
            return True
        parts = urlsplit(href)
        return parts.scheme in ("http", "https", "mailto") and href.startswith(parts.scheme + ":")

    def handle_endtag(self, tag: str) -> None:
        if tag not in TAGS:
            self.problems.append(f"end tag </{tag}>")

    def handle_comment(self, data: str) -> None:
        self.problems.append(f"comment {data!r}")

    def handle_decl(self, decl: str) -> None:
        self.problems.append(f"declaration {decl!r}")

    def handle_pi(self, data: str) -> None:
        self.problems.append(f"processing instruction {data!r}")

    def unknown_decl(self, data: str) -> None:
        self.problems.append(f"declaration {data!r}")


def problems(markup: str, *, sanitiser_only: bool = False) -> list[str]:
    check = AllowlistCheck(sanitiser_only=sanitiser_only)
    check.feed(markup)
    check.close()
    found = check.problems
    if sanitise(markup) != markup:
        found.append("not a fixed point of the sanitiser")
    return found


# --- the markdown subset ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("one\n\ntwo", "<p>one</p>\n<p>two</p>\n"),
        ("line\nbreak", "<p>line<br>\nbreak</p>\n"),
        (
            "*em* _em_ **strong** __strong__",
            "<p><em>em</em> <em>em</em> <strong>strong</strong> <strong>strong</strong></p>\n",
        ),
        ("- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n"),
        ("1. a\n2. b", "<ol>\n<li>a</li>\n<li>b</li>\n</ol>\n"),
        ("- a\n  - b", "<ul>\n<li>a\n<ul>\n<li>b</li>\n</ul>\n</li>\n</ul>\n"),
        (
            "> quoted\n> **too**",
            "<blockquote>\n<p>quoted<br>\n<strong>too</strong></p>\n</blockquote>\n",
        ),
        ("`a < b`", "<p><code>a &lt; b</code></p>\n"),
        (
            "```python\nif a < b:\n    pass\n```",
            "<pre><code>if a &lt; b:\n    pass\n</code></pre>\n",
        ),
        ("# Big news", "<p><strong>Big news</strong></p>\n"),
        ("Also big\n===", "<p><strong>Also big</strong></p>\n"),
        ("Emoji 😀👍🏽 stay", "<p>Emoji 😀👍🏽 stay</p>\n"),
        ("a &amp; b &lt; c", "<p>a &amp; b &lt; c</p>\n"),
    ],
)
def test_markdown_features(text: str, expected: str) -> None:
    assert html(text) == expected


def a(href: str, text: str | None = None) -> str:
    return f'<a href="{href}" {REL}>{href if text is None else text}</a>'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[site](https://example.com/a?b=1&c=2)", a("https://example.com/a?b=1&amp;c=2", "site")),
        ("[mail](mailto:a@example.com)", a("mailto:a@example.com", "mail")),
        ("<https://example.com>", a("https://example.com")),
        ("<a@example.com>", a("mailto:a@example.com", "a@example.com")),
        ("see https://example.com/x.", f"see {a('https://example.com/x')}."),
        ("(http://example.com/a_(b))", f"({a('http://example.com/a_(b)')})"),
        ('[t](http://example.com "Title")', a("http://example.com", "t")),
        ("[r]\n\n[r]: http://example.com", a("http://example.com", "r")),
    ],
)
def test_links(text: str, expected: str) -> None:
    assert html(text) == f"<p>{expected}</p>\n"


def test_what_is_not_in_the_subset_stays_text() -> None:
    assert "<img" not in html("![alt](https://example.com/a.png)")
    assert html("---") == "<p>---</p>\n"
    assert html("| a | b |\n|---|---|\n| 1 | 2 |").startswith("<p>| a | b |")
    assert html("    indented") == "<p>indented</p>\n"
    assert html("~~struck~~") == "<p>~~struck~~</p>\n"


@pytest.mark.parametrize(
    "raw",
    [
        "<b>bold</b>",
        "<script>__pwn()</script>",
        '<div hx-get="/pwn" hx-trigger="load">x</div>',
        "<img src=x onerror=__pwn()>",
        "<!-- comment -->",
    ],
)
def test_raw_html_is_shown_as_text(raw: str) -> None:
    out = html(raw)
    assert out == f"<p>{raw.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')}</p>\n"
    assert plain_text(raw) == raw


@pytest.mark.parametrize(
    "target",
    [
        "javascript:__pwn()",
        "JavaScript:__pwn()",
        "&#106;avascript:__pwn()",
        "java%09script:__pwn()",
        "data:text/html,<script>__pwn()</script>",
        "vbscript:__pwn()",
        "file:///etc/passwd",
        "/admin/delete",
        "//evil.example/",
        "relative/path",
    ],
)
def test_a_link_to_a_forbidden_target_keeps_its_text_and_loses_its_target(target: str) -> None:
    assert html(f"[click **me**]({target})") == "<p>click <strong>me</strong></p>\n"
    assert html(f"[click][r]\n\n[r]: {target}") == "<p>click</p>\n"


def test_an_autolink_to_a_forbidden_target_is_text() -> None:
    assert html("<javascript:__pwn()>") == "<p>javascript:__pwn()</p>\n"


# --- mentions and hashtags -------------------------------------------------------------------


def test_mentions_link_to_people_and_keep_unknown_handles_plain() -> None:
    out = render("Hi @bob, @Zoë and @nobody!", mention=mention)
    assert out.html == (
        f'<p>Hi <a href="/people/bob" class="mention" {REL}>@bob</a>, '
        f'<a href="/people/zo%C3%AB" class="mention" {REL}>Zoë de Vries</a> and @nobody!</p>\n'
    )
    assert out.mentions == ("bob", "Zoë", "nobody")


def test_a_decomposed_name_is_one_mention() -> None:
    decomposed = unicodedata.normalize("NFD", "@Zoë")
    assert render(decomposed, mention=mention).mentions == ("Zoë",)


@pytest.mark.parametrize(
    ("text", "handles"),
    [
        ("(@bob) @bob. @bob's @bob: @bob!", ("bob",)),
        ("@bob @Bob @bob", ("bob", "Bob")),
        ("@jan.de-vries.", ("jan.de-vries",)),
        ("write to a@b.nl or first.last@example.com", ()),
        ("@bob@mastodon.social", ()),
        ("`@bob` and\n```\n@bob\n```", ()),
        ("[@bob](https://example.com) <https://example.com/@bob> https://x.nl/@bob", ()),
        ("**@bob**", ("bob",)),
    ],
)
def test_where_mentions_are_found(text: str, handles: tuple[str, ...]) -> None:
    assert render(text, mention=mention).mentions == handles


def test_a_display_name_is_text_however_it_reads() -> None:
    out = html("@mallory")
    assert "&lt;img src=x onerror=__pwn()&gt;" in out
    assert problems(out) == []


def test_without_lookups_nothing_is_linked_but_everything_is_collected() -> None:
    out = render("@bob likes #Python")
    assert out.html == "<p>@bob likes #Python</p>\n"
    assert (out.mentions, out.hashtags) == (("bob",), ("python",))


def test_hashtags() -> None:
    out = render(
        "#Python #python #Ünïcode_2 #1 a#b `#code` https://x.nl/#frag", hashtag_url=hashtag_url
    )
    assert out.hashtags == ("python", "ünïcode_2")
    assert out.html == (
        f'<p><a href="/tags/python" class="hashtag" {REL}>#Python</a> '
        f'<a href="/tags/python" class="hashtag" {REL}>#python</a> '
        f'<a href="/tags/ünïcode_2" class="hashtag" {REL}>#Ünïcode_2</a> #1 a#b '
        f'<code>#code</code> <a href="https://x.nl/#frag" {REL}>https://x.nl/#frag</a></p>\n'
    )


@pytest.mark.parametrize("url", ["javascript:__pwn()", "//evil.example/", "/a/javascript:x", ""])
def test_a_lookup_that_gives_a_bad_url_leaves_the_text_plain(url: str) -> None:
    out = render(
        "@bob #tag", mention=lambda h: MentionTarget(url, "Bob"), hashtag_url=lambda t: url
    )
    assert out.html == "<p>@bob #tag</p>\n"
    assert html("@jsurl") == "<p>@jsurl</p>\n"


# --- length, plain text, the sanitiser itself ------------------------------------------------


def test_a_text_over_the_limit_is_refused() -> None:
    assert render("x" * MAX_LENGTH).html.startswith("<p>x")
    with pytest.raises(ValidationFailed) as raised:
        render("x" * (MAX_LENGTH + 1))
    assert set(raised.value.errors) == {"body"}


def test_plain_text() -> None:
    text = "# News\n\n**Hi** @bob, a < b & [c](javascript:x) <https://x.nl>\n\n- one\n- two"
    assert plain_text(text) == "News\nHi @bob, a < b & c https://x.nl\n\none\ntwo"


def test_the_sanitiser_alone_strips_everything_off_the_list() -> None:
    dirty = (
        '<p hx-get="/pwn" onclick="__pwn()" style="x" id="i" data-x="1" class="mention">t</p>'
        '<script>__pwn()</script><img src=x onerror=__pwn()><a href="/x" target="_blank" '
        'class="mention evil" rel="opener">a</a><!-- c -->'
    )
    assert sanitise(dirty) == f'<p>t</p><a href="/x" class="mention" {REL}>a</a>'


@pytest.mark.parametrize("href", ["//evil.example", "/a/javascript:x"])
def test_the_sanitiser_settles_where_ammonia_reorders(href: str) -> None:
    """Dropping an href by callback leaves rel where href was; the second pass restores order."""
    clean = sanitise(f'<a href="{href}" class="mention">x</a>')
    assert clean == f'<a class="mention" {REL}>x</a>'
    assert sanitise(clean) == clean


# --- properties and the corpus ---------------------------------------------------------------

ALPHABET = "<>\"'&`=:/()[]*_#@!\n\t -.\\~|0123456789abcdehijlnoprstvxyzJSÜëé😀\u200b\x00"
FRAGMENTS = (
    "javascript:", "data:text/html,", "vbscript:", "__pwn()", "http://", "https://x.nl/",
    "mailto:", "//", "[", "](", ")", "<", ">", "</", "<a href=", "<img src=x onerror=",
    "<svg onload=", "<script>", "hx-get=", "hx-on:click=", " onmouseover=", '"', "'", "`", "```\n",
    "\n", "\n\n", "> ", "- ", "1. ", "# ", "*", "**", "_", "@bob", "@Zoë", "@mallory", "@jsurl",
    "#tag", "&#106;", "&#x6A;", "&amp;", "&lt;", "&colon;", "\\", "[r]: ", "!", "    ",
)  # fmt: skip

HTML_FRAGMENTS = (
    "<a", "<p", "<img", "<svg", "<script>", "</a>", "</p>", "<br/>", ">", " href=", " class=",
    " rel=", " onclick=", " hx-get=", " style=", '"', "'", "mention", "hashtag", "evil",
    "javascript:", "java script:", "http://", "https://x.nl/", "/", "//", "/people/1", "mailto:",
    "<!--", "-->", "<![CDATA[", "&#106;", "<pre>", "\n", "<code>", "<li>", "<table>",
)  # fmt: skip

chars = st.text(alphabet=st.sampled_from(ALPHABET) | st.characters(), max_size=300)
soup = st.lists(st.sampled_from(FRAGMENTS) | st.text(ALPHABET, max_size=4), max_size=40).map(
    "".join
)


@given(st.one_of(chars, soup))
def test_any_text_renders_to_allowlisted_markup_only(text: str) -> None:
    out = render(text, mention=mention, hashtag_url=hashtag_url)
    assert problems(out.html) == []
    assert len(set(out.mentions)) == len(out.mentions)
    assert len(set(out.hashtags)) == len(out.hashtags)
    assert all(tag == tag.lower() for tag in out.hashtags)
    plain_text(text)


html_soup = st.lists(
    st.sampled_from(HTML_FRAGMENTS) | st.text(ALPHABET, max_size=4), max_size=40
).map("".join)


@given(html_soup)
def test_the_sanitiser_alone_settles_on_allowlisted_markup(dirty: str) -> None:
    clean = sanitise(dirty)
    assert problems(clean, sanitiser_only=True) == []


@given(st.text(alphabet="abcXYZéëü0123456789 ,?😀", max_size=100))
def test_plain_text_of_text_without_markup_is_that_text(text: str) -> None:
    assert plain_text(text) == text.strip()


def test_every_corpus_payload_renders_to_allowlisted_markup_only() -> None:
    assert len(PAYLOADS) >= 300
    failures = {
        payload: found
        for payload in PAYLOADS
        if (found := problems(render(payload, mention=mention, hashtag_url=hashtag_url).html))
    }
    assert failures == {}


def test_the_check_itself_catches_what_it_is_for() -> None:
    assert problems('<p onclick="x">a</p>') != []
    assert problems('<a href="javascript:x" rel="x">a</a>') != []
    assert problems(f'<a href="/x" {REL}>a</a>') != []  # site-relative, but not ours
    assert problems("<img src=x>") != []
    assert problems(f'<a href="/people/bob" class="mention" {REL}>a</a>') == []
