"""A crawler that sends bad input to every route, as an anonymous visitor and as a signed-in
one: malformed and oversized bodies, files where text is expected, missing tokens, junk in the
URL. No answer may be a 5xx, and every 4xx must say something a person or program can read.

Routes with parameters are tried with hostile values, and — for the signed-in visitor, on a
database holding the demo company when it is available — with the real paths the pages link to
(one per route), plus those paths with their numbers made too large for any integer column.
"""

from __future__ import annotations

import dataclasses
import html
import importlib.util
import re
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from domain.people.models import Role
from portal.app import create_app
from portal.settings import Settings
from tests.conftest import PASSWORD, csrf_from, login
from tests.portal.apps import running

HAS_DEMO = importlib.util.find_spec("domain.demo") is not None
LONG = "x" * 100_000
# Every field name our forms read, and a few they do not.
FIELDS = (
    "email",
    "password",
    "next",
    "name",
    "language",
    "current_password",
    "new_password",
    "confirm_password",
    "q",
    "id",
    "body",
)
MIB = 1024 * 1024
FORGED = "forged cookies and junk headers"
NON_ASCII = "non-ascii cookies"
HUGE_NUMBER = "9" * 25
PATH_PARAM_VALUES = ("1", HUGE_NUMBER, "..%2f..%2fetc")
HREF = re.compile(r'href="(/[^"#?]*)')


def carries_a_message(response: httpx.Response) -> bool:
    content_type = response.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        error = response.json().get("error", {})
        return error.get("status") == response.status_code and bool(
            str(error.get("message", "")).strip()
        )
    if content_type.startswith("text/html"):
        main = re.search(r"<main[^>]*>(.*)</main>", response.text, re.S)
        words = re.sub(r"<[^>]+>", " ", main.group(1)).split() if main else []
        return len(words) >= 3
    return False


@dataclasses.dataclass
class Visitor:
    """A browser crawling the app. A signed-in one signs in again when a request signed it out
    (``/logout`` accepts any body once the token is right); either fetches a fresh CSRF token
    when the cookie it is bound to has changed."""

    client: httpx.AsyncClient
    email: str | None
    password: str = PASSWORD
    token: str = ""
    bound_to: str | None = None

    async def ready(self) -> None:
        if self.email is not None and self.client.cookies.get("atrium_session") is None:
            assert (await login(self.client, self.email, self.password)).status_code == 303
        cookies = self.client.cookies
        bound_to = cookies.get("atrium_session") or cookies.get("atrium_anon")
        if not self.token or bound_to != self.bound_to:
            self.token = await csrf_from(self.client, "/" if self.email else "/login")
            cookies = self.client.cookies
            self.bound_to = cookies.get("atrium_session") or cookies.get("atrium_anon")


def concrete_paths(route: Route) -> Iterator[str]:
    """The route's path with each parameter filled by ordinary and hostile values."""
    if not route.param_convertors:
        yield route.path
        return
    for value in PATH_PARAM_VALUES:
        yield re.sub(r"\{[^}]+\}", value, route.path)


def get_requests() -> Iterator[tuple[str, dict[str, Any]]]:
    yield "plain", {}
    yield "unknown query params", {"params": {"utm_source": "x", "page": "-1", "__proto__": "1"}}
    yield "long query params", {"params": {"q": LONG[:6000], "next": LONG[:6000]}}
    yield "bad encodings", {"params": "%zz=%ff%fe&next=%00&q=%e2%82"}
    yield "repeated params", {"params": [("q", "a")] * 200}
    yield (
        FORGED,
        {
            "headers": {
                "Cookie": "atrium_session=" + "x" * 8000 + '; atrium_anon="a\\"b"; ;;==',
                "Accept-Language": "*;q=abc, nl;q=NaN, en;q=1e309, ;q=, " + "x" * 5000,
                "Accept": "application/json;q=abc, */*",
                "HX-Request": "true",
            }
        },
    )
    yield (
        NON_ASCII,
        {"headers": [(b"cookie", b"atrium_session=\xff\xfe; atrium_anon=\x80")]},
    )


def post_requests(token: str) -> Iterator[tuple[str, dict[str, Any]]]:
    header = {"X-CSRF-Token": token}
    yield "no csrf token", {"data": dict.fromkeys(FIELDS, "x")}
    yield "wrong csrf token", {"data": dict.fromkeys(FIELDS, "x"), "headers": {"X-CSRF-Token": "0"}}
    yield "empty form", {"headers": header, "data": {}}
    yield "blank fields", {"headers": header, "data": dict.fromkeys(FIELDS, "   ")}
    yield (
        "over-long fields",
        {"data": {"csrf_token": token, **dict.fromkeys(FIELDS, LONG)}},
    )
    yield (
        "malformed urlencoded",
        {
            "headers": {**header, "Content-Type": "application/x-www-form-urlencoded"},
            "content": b"%zz=%&&&=&email=%ff%fe%00&password&" + b"=" * 100,
        },
    )
    yield (
        "multipart without boundary",
        {"headers": {**header, "Content-Type": "multipart/form-data"}, "content": b"garbage"},
    )
    yield (
        "truncated multipart",
        {
            "headers": {**header, "Content-Type": "multipart/form-data; boundary=b0undary"},
            "content": b'--b0undary\r\nContent-Disposition: form-data; name="email"\r\n\r\nab',
        },
    )
    yield (
        "files where text is expected",
        {
            "headers": header,
            "files": {name: (f"{name}.bin", b"\x00\xff" * 500, "application/octet-stream")
                      for name in FIELDS},
        },
    )  # fmt: skip
    yield "too many fields", {"headers": header, "data": {f"f{i}": "1" for i in range(2000)}}
    yield (
        "binary garbage",
        {
            "headers": {**header, "Content-Type": "application/octet-stream"},
            "content": bytes(range(256)) * 64,
        },
    )
    yield (
        "binary garbage as a form",
        {
            "headers": {**header, "Content-Type": "application/x-www-form-urlencoded"},
            "content": bytes(range(256)) * 64,
        },
    )
    yield (
        "json",
        {"headers": header, "json": {"email": ["a"], "password": {"$ne": None}, "name": 1}},
    )
    yield (
        "huge content-length",
        {"headers": {**header, "Content-Length": str(11 * MIB)}, "content": b"x"},
    )


@dataclasses.dataclass
class Crawl:
    problems: list[str] = dataclasses.field(default_factory=list)
    answers: Counter[tuple[str, str, int]] = dataclasses.field(default_factory=Counter)
    followed: list[str] = dataclasses.field(default_factory=list)  # routes reached by links


def unique_routes(app: Starlette) -> list[Route]:
    """HTTP routes, one per path (every path gets every method anyway)."""
    routes: dict[str, Route] = {}
    for route in app.routes:
        if isinstance(route, Route):
            routes.setdefault(route.path, route)
    return list(routes.values())


async def crawl(app: Starlette, visitor: Visitor, *, follow_links: bool = False) -> Crawl:
    """Send every request; note each answer, and describe those that break the rules."""
    result = Crawl()
    problems = result.problems
    routes = unique_routes(app)
    followed: Counter[str] = Counter()

    async def send(method: str, path: str, label: str, kwargs: dict[str, Any]) -> httpx.Response:
        await visitor.ready()
        # A forged Cookie header stands in for the browser's cookies on this one request; the
        # browser keeps its own (the server rightly clears a session cookie it does not know).
        kept = httpx.Cookies(visitor.client.cookies)
        response = await visitor.client.request(method, path, **kwargs)
        if label in (FORGED, NON_ASCII):
            visitor.client.cookies = kept
        result.answers[method, path, response.status_code] += 1
        where = f"{method} {path} ({label}): {response.status_code}"
        if response.status_code >= 500:
            problems.append(where)
        elif response.status_code >= 400 and method != "HEAD" and not carries_a_message(response):
            problems.append(f"{where} without a message: {response.text[:200]!r}")
        if label == "huge content-length" and response.status_code != 413:
            problems.append(f"{where}, expected 413")
        return response

    known: dict[str, str] = {}  # parameter values seen in real links, by name

    def follow(route: Route, path: str) -> Iterator[str]:
        followed[route.path] += 1
        yield path
        if re.search(r"/\d+(?=/|$)", path):
            yield re.sub(r"/\d+(?=/|$)", "/" + HUGE_NUMBER, path)

    def links_to_follow(page: httpx.Response) -> Iterator[str]:
        """Paths on the page that fill a route's parameters, one per route, and the same path
        with its numbers too large; then other routes filled with the values seen (the API
        takes the same kinds and ids as the pages)."""
        if not page.headers.get("content-type", "").startswith("text/html"):
            return
        for href in HREF.findall(page.text):
            path = html.unescape(href)
            for route in routes:
                match = route.path_regex.match(path) if route.param_convertors else None
                if match is not None and not followed[route.path]:
                    known.update({k: v for k, v in match.groupdict().items() if k not in known})
                    yield from follow(route, path)
        for route in routes:
            fillable = route.param_convertors and set(route.param_convertors) <= set(known)
            if fillable and not followed[route.path]:
                path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: known[m.group(1)], route.path)
                yield from follow(route, path)

    queue = [path for route in routes for path in concrete_paths(route)]
    visited: set[str] = set()
    while queue:
        path = queue.pop(0)
        if path in visited:
            continue
        visited.add(path)
        for label, kwargs in get_requests():
            page = await send("GET", path, label, kwargs)
            if label == "plain":
                await send("HEAD", path, label, kwargs)
                if follow_links and page.status_code == 200:
                    queue.extend(links_to_follow(page))
        for index in range(len(list(post_requests("")))):
            # built afresh each time: a request may have signed the visitor out and in again
            await visitor.ready()
            label, kwargs = list(post_requests(visitor.token))[index]
            await send("POST", path, label, kwargs)
        await visitor.ready()
        await send("PUT", path, "other method", {"headers": {"X-CSRF-Token": visitor.token}})
    result.followed = sorted(followed)
    return result


@pytest.fixture
async def crawled_app(settings: Settings) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    # Hundreds of failed sign-ins from one address would trip the per-address throttle, which
    # is tested elsewhere; here it would only hide the answers behind 429s.
    app = create_app(dataclasses.replace(settings, login_ip_limit=1_000_000))
    async with running(app) as client:
        yield app, client


async def test_anonymous_bad_input_never_breaks_a_page(crawled_app) -> None:
    app, client = crawled_app
    result = await crawl(app, Visitor(client, email=None))
    assert result.problems == []
    # The crawl reached the pages: the public ones answered, the others sent it to sign in.
    assert result.answers["GET", "/login", 200]
    assert result.answers["GET", "/healthz", 200]
    assert result.answers["GET", "/profile", 303]
    assert result.answers["POST", "/login", 400]


async def test_signed_in_bad_input_never_breaks_a_page(crawled_app, db, make_user) -> None:
    app, client = crawled_app
    if HAS_DEMO:  # a company to link to: cards, lists, exports
        from domain.demo import DEMO_PASSWORD, load_demo

        await load_demo(db)
        email, password, name = "admin@example.com", DEMO_PASSWORD, "Anna de Vries"
    else:
        email, password, name = "crawler@example.com", PASSWORD, "Test User"
        await make_user(email=email, name=name, roles=frozenset({Role.ADMIN}))
    visitor = Visitor(client, email=email, password=password)
    result = await crawl(app, visitor, follow_links=True)
    assert result.problems == []
    assert result.answers["GET", "/", 200]
    assert result.answers["GET", "/profile", 200]
    assert result.answers["POST", "/profile", 422]
    assert result.answers["POST", "/profile/password", 422]
    if HAS_DEMO:
        assert result.followed, "the pages linked to no route with parameters"
    # Nothing the crawler sent was taken as a real change.
    await visitor.ready()
    profile = await client.get("/profile")
    assert profile.status_code == 200
    assert f'value="{name}"' in profile.text
    client.cookies.clear()
    assert (await login(client, email, password)).status_code == 303


async def test_an_endless_body_is_cut_off_at_10_mib(crawled_app) -> None:
    _app, client = crawled_app
    token = await csrf_from(client)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(12):
            yield b"email=" + b"x" * (MIB - 6)

    response = await client.post(
        "/login",
        content=chunks(),
        headers={"X-CSRF-Token": token, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert carries_a_message(response)
    assert "too large" in response.text


TRAVERSALS = (
    "/static/../pyproject.toml",
    "/static/%2e%2e/pyproject.toml",
    "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/static/..%2f..%2f..%2fetc%2fpasswd",
    "/static/css/..%2f..%2fportal/settings.py",
    "/static/..%5c..%5cpyproject.toml",
    "/static/%252e%252e/pyproject.toml",
    "/static//etc/passwd",
    "/static/%00",
    "/static/css/atrium.css%00.txt",
    "/static/css/",
    "/static/nope.js",
)


async def test_static_files_stay_inside_the_static_dir(crawled_app) -> None:
    _app, client = crawled_app
    for path in TRAVERSALS:
        response = await client.get(path)
        assert response.status_code == 404, path
        assert carries_a_message(response), path
        for secret in ("build-system", "root:", "ConfigError"):
            assert secret not in response.text, path


async def test_the_raw_dotdot_path_is_refused(crawled_app) -> None:
    """httpx would tidy ``..`` out of a URL; a raw request line keeps it, as curl
    --path-as-is sends it."""
    app, _client = crawled_app
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    request = httpx.Request("GET", "http://testserver/static/x")
    request.url = request.url.copy_with(raw_path=b"/static/../../pyproject.toml")
    response = await transport.handle_async_request(request)
    await response.aread()
    assert response.status_code in (400, 404)
    assert b"build-system" not in response.content


async def test_a_real_static_file_is_served(crawled_app) -> None:
    _app, client = crawled_app
    response = await client.get("/static/css/atrium.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")


async def test_unknown_routes_are_404(crawled_app) -> None:
    _app, client = crawled_app
    token = await csrf_from(client)
    for method in ("GET", "POST"):
        for path in ("/nope", "/login/extra", "/profile/x/y", "/%ff", "/" + "a" * 5000):
            response = await client.request(method, path, headers={"X-CSRF-Token": token})
            assert response.status_code == 404, (method, path)
            assert carries_a_message(response), (method, path)
