"""XSS payloads for the sanitising pipeline (domain/markup.py), as people could type them.

Hand-written classics, plus combinations: every hostile link target in every markdown link form,
and every raw-HTML vector (script, event handlers, SVG, broken markup, htmx attributes) in every
markdown place it could hide in. A payload that would run a script calls ``__pwn()``; one that
would make htmx send a request aims at ``/pwn``. tests/e2e/test_xss.py renders them all into one
page with the real htmx and counts what ran; tests/domain/test_markup.py checks the markup.

``mention`` and ``hashtag_url`` are the lookups both tests render with: they resolve a few
handles, one of them a person whose display name is itself a payload.
"""

from __future__ import annotations

from domain.markup import MentionTarget

# Link targets that must never become an href.
HOSTILE_TARGETS = (
    "javascript:__pwn()",
    "JaVaScRiPt:__pwn()",
    "javascript:__pwn();//http://example.com",
    "javascript://%0a__pwn()",
    "javascript&colon;__pwn()",
    "&#106;avascript:__pwn()",
    "&#x6A;avascript:__pwn()",
    "&#0000106&#0000097vascript:__pwn()",
    "java&#x09;script:__pwn()",
    "java&#x0A;script:__pwn()",
    "java%09script:__pwn()",
    "%6Aavascript:__pwn()",
    "\\javascript:__pwn()",
    "javascript\\:__pwn()",
    "vbscript:__pwn()",
    "data:text/html,<script>__pwn()</script>",
    "data:text/html;base64,PHNjcmlwdD5fX3B3bigpPC9zY3JpcHQ+",
    "DATA:text/html,%3Cscript%3E__pwn()%3C/script%3E",
    "data:image/svg+xml,<svg onload=__pwn()>",
    "//pwn.example/x.js",
    "/pwn",
)

# The markdown forms a link target can be written in.
LINK_FORMS = (
    "[click]({url})",
    "[click](<{url}>)",
    '[click]({url} "title")',
    "<{url}>",
    "[click][ref]\n\n[ref]: {url}",
    "[click]\n\n[click]: <{url}>",
    "![image]({url})",
    "[![image]({url})]({url})",
    "**[bold]({url})**",
    "> [quoted]({url})",
    "- [item]({url})",
    "# [heading]({url})",
    "[`code`]({url}) and @bob",
)

# Raw HTML a user might paste: every one must end up as inert text.
HTML_VECTORS = (
    "<script>__pwn()</script>",
    "<ScRiPt>__pwn()</sCrIpT>",
    "<script src=/pwn.js></script>",
    "<img src=x onerror=__pwn()>",
    '<img src="x" onerror="__pwn()"/>',
    "<img src=x onerror=__pwn() ",
    "<img/src/onerror=__pwn()>",
    "<svg onload=__pwn()>",
    "<svg><script>__pwn()</script></svg>",
    '<svg><a xlink:href="javascript:__pwn()"><text y="20">x</text></a></svg>',
    "<svg><animate onbegin=__pwn() attributeName=x dur=1s>",
    "<math><mtext><table><mglyph><style><img src=x onerror=__pwn()>",
    "<body onload=__pwn()>",
    "<iframe src=javascript:__pwn()></iframe>",
    "<iframe srcdoc='<script>parent.__pwn()</script>'></iframe>",
    "<object data=javascript:__pwn()>",
    "<embed src=javascript:__pwn()>",
    "<details open ontoggle=__pwn()>",
    "<input autofocus onfocus=__pwn()>",
    "<a href=javascript:__pwn()>x</a>",
    '<a href="http://example.com" onmouseover="__pwn()">hover</a>',
    '<p style="background:url(javascript:__pwn())">x</p>',
    '<div style="animation-name:x" onanimationstart="__pwn()">x</div>',
    "<marquee onstart=__pwn()>x</marquee>",
    "<video><source onerror=__pwn()></video>",
    "<form><button formaction=javascript:__pwn()>x</button></form>",
    "<base href=javascript:__pwn()//>",
    '<meta http-equiv="refresh" content="0;url=javascript:__pwn()">',
    "<!--<img src=x onerror=__pwn()>-->",
    "<!--><img src=x onerror=__pwn()>-->",
    "<![CDATA[<img src=x onerror=__pwn()>]]>",
    "<scr<script>ipt>__pwn()</scr</script>ipt>",
    "<<script>__pwn()//<</script>",
    '<noscript><p title="</noscript><img src=x onerror=__pwn()>">',
    "</textarea><script>__pwn()</script>",
    '"><img src=x onerror=__pwn()>',
    "'><svg onload=__pwn()>",
    "<div hx-get=/pwn hx-trigger=load>x</div>",
    '<a hx-post="/pwn" hx-trigger="load">x</a>',
    '<div data-hx-get="/pwn" data-hx-trigger="load">x</div>',
    '<button hx-get="/pwn" hx-trigger="mouseover">x</button>',
    '<div hx-get="/pwn" hx-trigger="every 100ms">x</div>',
    '<img src=x hx-on:error="__pwn()">',
    '<div hx-on::load="__pwn()">x</div>',
    '<div hx-on:htmx:load="__pwn()">x</div>',
    "<div hx-get=/pwn hx-trigger=load hx-vals='js:{a:__pwn()}'>x</div>",
    '<div hx-get="/pwn" hx-trigger="load[__pwn()]">x</div>',
    '<div hx-boost="true"><a href="/pwn">x</a></div>',
    '<div hx-swap-oob="true" id="main"><img src=x onerror=__pwn()></div>',
)

# Markdown places a raw-HTML vector could hide in.
CONTEXTS = (
    "{v}",
    "**{v}**",
    "_{v}_",
    "> {v}",
    "- {v}",
    "1. {v}",
    "# {v}",
    "[{v}](http://example.com)",
    "text\n{v}\nmore text",
    "`{v}`",
    "```\n{v}\n```",
)

CLASSICS = (
    "",
    "plain text with an emoji 😀 and @bob and #tag",
    '[x](http://example.com "\\" onmouseover=\\"__pwn()")',
    "[x](http://example.com' onmouseover='__pwn())",
    '[x](http://example.com"onmouseover="__pwn())',
    'http://example.com/"onmouseover="__pwn()"',
    "http://example.com/<script>__pwn()</script>",
    'https://example.com/?q="><svg onload=__pwn()>',
    "https://example.com/#@bob onmouseover=__pwn()",
    '```"><script>__pwn()</script>\ncode\n```',
    "``` onmouseover=__pwn()\ncode\n```",
    "@<img src=x onerror=__pwn()>",
    '@bob"onmouseover="__pwn()',
    "#<script>__pwn()</script>",
    '#tag"onmouseover="__pwn()',
    "[@bob](javascript:__pwn())",
    "[#tag](javascript:__pwn())",
    "@mallory says hi",
    "ping @jsurl",
    "&lt;script&gt;__pwn()&lt;/script&gt;",
    "&#60;img src=x onerror=__pwn()&#62;",
    "\uff1cscript\uff1e__pwn()\uff1c/script\uff1e",
    "<scr\x00ipt>__pwn()</scr\x00ipt>",
    "[a](http://example.com)[b](javascript:__pwn())",
    "*[a*](javascript:__pwn())",
    "[a](javascript:__pwn() 'x')",
    "[a]( javascript:__pwn() )",
    "[a](\njavascript:__pwn())",
    "[a](<javascript:__pwn()>)",
    "[a]: javascript:__pwn()\n\n[a]",
    "<javascript:__pwn()>",
    "<mailto:x@example.com?body=<script>__pwn()</script>>",
    "mailto:x@example.com<script>__pwn()</script>",
    ">" * 40 + " <img src=x onerror=__pwn()>",
    "- " * 40 + "<svg onload=__pwn()>",
    "*" * 30 + "<script>__pwn()</script>" + "*" * 30,
    "[" * 30 + "x](javascript:__pwn())" + "]" * 30,
    "<a href='javascript:__pwn()'>",
    "<div\nonmouseover=__pwn()>hover</div>",
    "<div onmouseover\n=__pwn()>hover</div>",
    "<a href='x' onclick='__pwn()'>x</a>",
    "<style>*{background:url(javascript:__pwn())}</style>",
    "<link rel=import href=/pwn>",
    "<isindex type=image src=1 onerror=__pwn()>",
    "<template><img src=x onerror=__pwn()></template>",
    "<select autofocus onfocus=__pwn()></select>",
    "<x onclick=__pwn()>click</x>",
)


def _payloads() -> tuple[str, ...]:
    made = [
        *CLASSICS,
        *(form.format(url=url) for url in HOSTILE_TARGETS for form in LINK_FORMS),
        *(context.format(v=vector) for vector in HTML_VECTORS for context in CONTEXTS),
    ]
    return tuple(dict.fromkeys(made))


PAYLOADS = _payloads()

# People the lookups know; mallory's display name is a payload of its own, and jsurl's page is
# given (wrongly) as a script URL, so the last line of defence is tested too.
PEOPLE = {
    "bob": MentionTarget("/people/bob", "@bob"),
    "zoë": MentionTarget("/people/zo%C3%AB", "Zoë de Vries"),
    "mallory": MentionTarget("/people/mallory", '<img src=x onerror=__pwn()>"onmouseover=__pwn()'),
    "jsurl": MentionTarget("javascript:__pwn()", "@jsurl"),
}


def mention(handle: str) -> MentionTarget | None:
    return PEOPLE.get(handle.lower())


def hashtag_url(tag: str) -> str:
    return f"/tags/{tag}"
