"""Error answers: one page for people, one JSON shape for programs, never internals, always the
security headers."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.errors import Forbidden, NotFound, Throttled
from portal.app import create_app
from portal.auth.guards import require_principal
from portal.settings import Settings
from tests.conftest import csrf_from, login
from tests.portal.apps import running

SECRET_DETAIL = "connection string postgresql://admin:hunter2@db.internal/atrium"
SECURITY_HEADERS = (
    "content-security-policy",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
)


async def explode(request: Request) -> Response:
    raise RuntimeError(SECRET_DETAIL)


async def not_found(request: Request) -> Response:
    raise NotFound("invoice 12 belongs to account 31")


async def forbidden(request: Request) -> Response:
    raise Forbidden("only the owner may archive this")


async def throttled(request: Request) -> Response:
    raise Throttled(42)


async def needs_login(request: Request) -> Response:
    require_principal(request)
    return Response("secret")


EXTRA_ROUTES = [
    Route("/boom", explode, methods=["GET", "POST"]),
    Route("/api/boom", explode),
    Route("/domain/not-found", not_found),
    Route("/domain/forbidden", forbidden),
    Route("/domain/throttled", throttled),
    Route("/api/needs-login", needs_login),
    Route("/needs-login", needs_login),
]


@pytest.fixture
async def web(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real app with a few routes that fail on purpose."""
    app = create_app(settings)
    app.router.routes.extend(EXTRA_ROUTES)
    async with running(app) as client:
        yield client


def page_text(response: httpx.Response) -> str:
    main = re.search(r"<main[^>]*>(.*)</main>", response.text, re.S)
    assert main, "an error page is a full page"
    return " ".join(re.sub(r"<[^>]+>", " ", main.group(1)).split())


def assert_error_page(response: httpx.Response, status: int, says: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert says in page_text(response)
    for header in SECURITY_HEADERS:
        assert header in response.headers, header


def assert_error_json(response: httpx.Response, status: int, says: str = "") -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"status", "message"}
    assert body["error"]["status"] == status
    assert says in body["error"]["message"]
    assert body["error"]["message"].strip()


async def test_an_unknown_page_is_a_404_page(web: httpx.AsyncClient) -> None:
    response = await web.get("/no/such/page")
    assert_error_page(response, 404, "This page does not exist")
    assert "Not found" in page_text(response)
    assert "/no/such/page" not in page_text(response)  # nothing reflected back


async def test_an_unknown_page_for_a_program_is_json(web: httpx.AsyncClient) -> None:
    assert_error_json(await web.get("/api/no-such-thing"), 404, "does not exist")
    assert_error_json(await web.get("/no/such/page", headers={"Accept": "application/json"}), 404)


async def test_a_browser_accept_header_gets_the_page(web: httpx.AsyncClient) -> None:
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,application/json;q=0.8"
    response = await web.get("/no/such/page", headers={"Accept": accept})
    assert_error_page(response, 404, "This page does not exist")


async def test_a_wrong_method_is_a_405_page_with_allow(web: httpx.AsyncClient) -> None:
    response = await web.options("/")
    assert_error_page(response, 405, "This action is not available here.")
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}

    token = await csrf_from(web)  # past the CSRF check, the router answers
    response = await web.put("/login", headers={"X-CSRF-Token": token})
    assert_error_page(response, 405, "This action is not available here.")
    response = await web.delete(
        "/healthz", headers={"X-CSRF-Token": token, "Accept": "application/json"}
    )
    assert_error_json(response, 405, "not available")


async def test_a_missing_csrf_token_is_a_403_page(web: httpx.AsyncClient) -> None:
    await web.get("/login")
    response = await web.post("/login", data={"email": "a@example.com", "password": "x"})
    assert_error_page(response, 403, "This form has expired or was sent from another site.")
    assert "No access" in page_text(response)
    response = await web.post("/api/boom", headers={"Accept": "application/json"})
    assert_error_json(response, 403, "expired")


async def test_a_crash_is_a_plain_500_page(
    web: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="portal.errors"):
        response = await web.get("/boom")
    assert_error_page(response, 500, "Something went wrong on our side.")
    for leak in ("hunter2", "RuntimeError", "Traceback", "explode", "db.internal", ".py"):
        assert leak not in response.text
    assert response.headers["cache-control"] == "no-store"
    # The operator finds the details in the log.
    assert any(SECRET_DETAIL in (r.exc_text or "") for r in caplog.records)


async def test_a_crash_for_a_signed_in_user_keeps_their_page_frame(
    web: httpx.AsyncClient, make_user
) -> None:
    user = await make_user(name="Crash Witness")
    await login(web, user.email)
    response = await web.get("/boom")
    assert_error_page(response, 500, "Something went wrong on our side.")
    assert "Crash Witness" in response.text  # the menu is still there, to go elsewhere
    assert "hunter2" not in response.text

    token = await csrf_from(web, "/")
    response = await web.post("/boom", headers={"X-CSRF-Token": token})
    assert_error_page(response, 500, "Something went wrong")


async def test_a_crash_for_a_program_is_plain_json(web: httpx.AsyncClient) -> None:
    response = await web.get("/api/boom")
    assert_error_json(response, 500, "Something went wrong on our side.")
    assert "hunter2" not in response.text
    for header in SECURITY_HEADERS:
        assert header in response.headers


async def test_domain_errors_map_to_their_status(web: httpx.AsyncClient) -> None:
    response = await web.get("/domain/not-found")
    assert_error_page(response, 404, "This page does not exist")
    assert "account 31" not in response.text

    response = await web.get("/domain/forbidden")
    assert_error_page(response, 403, "You do not have access to this page.")
    assert "owner" not in response.text

    response = await web.get("/domain/throttled", headers={"Accept": "application/json"})
    assert_error_json(response, 429, "Too many requests")
    assert response.headers["retry-after"] == "42"


async def test_a_page_behind_sign_in(web: httpx.AsyncClient) -> None:
    assert_error_json(await web.get("/api/needs-login"), 401, "Sign in first.")
    response = await web.get("/needs-login?x=1")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/needs-login%3Fx%3D1"


async def test_head_of_an_unknown_page_is_404_without_a_body(web: httpx.AsyncClient) -> None:
    response = await web.head("/no/such/page")
    assert response.status_code == 404
    assert response.content == b""
