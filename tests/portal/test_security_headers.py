"""Security headers on every kind of response, the per-response CSP nonce, and no caching of pages
for a signed-in user."""

from __future__ import annotations

import re

import httpx

from tests.conftest import csrf_from, login

ANONYMOUS_REQUESTS = [
    ("GET", "/login", 200),  # a page
    ("GET", "/no-such-page", 404),
    ("GET", "/", 303),  # a redirect to the login page
    ("GET", "/logout", 405),
    ("POST", "/logout", 403),  # refused by CSRF protection
    ("GET", "/static/css/atrium.css", 200),
    ("GET", "/static/no-such-file.css", 404),
    ("GET", "/healthz", 200),
]


def script_src(response: httpx.Response) -> str:
    csp = response.headers["content-security-policy"]
    directives = {d.strip().split()[0]: d.strip() for d in csp.split(";") if d.strip()}
    return directives["script-src"]


def nonce_of(response: httpx.Response) -> str:
    match = re.search(r"'nonce-([^']+)'", script_src(response))
    assert match, response.headers["content-security-policy"]
    return match.group(1)


def assert_security_headers(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in script_src(response)
    assert nonce_of(response)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"]


async def test_every_response_has_security_headers(client):
    for method, path, status in ANONYMOUS_REQUESTS:
        response = await client.request(method, path)
        assert response.status_code == status, (method, path)
        assert_security_headers(response)


async def test_each_response_gets_its_own_nonce_on_its_script_tags(client):
    first, second = await client.get("/login"), await client.get("/login")
    assert nonce_of(first) != nonce_of(second)
    for response in (first, second):
        scripts = re.findall(r"<script\b[^>]*>", response.text)
        assert scripts
        for tag in scripts:
            assert f'nonce="{nonce_of(response)}"' in tag


async def test_error_pages_mark_their_scripts_with_the_nonce(client):
    response = await client.get("/no-such-page")
    assert f'<script nonce="{nonce_of(response)}"' in response.text


async def test_signed_in_pages_have_them_and_are_never_stored(client, make_user):
    user = await make_user()
    response = await login(client, user.email)
    assert_security_headers(response)
    for path in ("/", "/profile", "/workspaces", "/no-such-page"):
        response = await client.get(path)
        assert_security_headers(response)
        assert response.headers.get("cache-control") == "no-store", path
    token = await csrf_from(client, "/profile")
    invalid = await client.post("/profile", data={"name": "", "csrf_token": token})
    assert invalid.status_code == 422
    assert invalid.headers.get("cache-control") == "no-store"
