"""Server-side sessions through HTTP: cookie flags, rotation at sign-in, revocation (sign-out,
deactivation, password change, expiry), and only a hash of the token kept in the database."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from domain.db import utcnow
from domain.people.actions import do_set_user_active
from domain.people.models import AuthSession
from tests.conftest import PASSWORD, csrf_from, login

NEW_PASSWORD = "a much longer new passphrase"


def set_cookie(response: httpx.Response, name: str) -> str:
    for value in response.headers.get_list("set-cookie"):
        if value.startswith(name + "="):
            return value
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers.get_list('set-cookie')}")


def flags(cookie: str) -> dict[str, str]:
    parts = [p.strip() for p in cookie.split(";")[1:]]
    return {k.lower(): v for k, _, v in (p.partition("=") for p in parts)}


async def replay(make_client: Callable[[], httpx.AsyncClient], cookie: str) -> httpx.Response:
    """What a thief holding only the cookie value gets from the home page."""
    thief = make_client()
    return await thief.get("/", headers={"Cookie": f"atrium_session={cookie}"})


def signed_out(response: httpx.Response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith("/login")


@pytest.fixture
async def https_client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
        yield c


async def test_cookies_over_http_are_httponly_lax_and_not_secure(client, make_user):
    user = await make_user()
    page = await client.get("/login")
    response = await login(client, user.email)
    for cookie in (set_cookie(page, "atrium_anon"), set_cookie(response, "atrium_session")):
        attributes = flags(cookie)
        assert "httponly" in attributes
        assert attributes["samesite"] == "Lax"
        assert attributes["path"] == "/"
        assert "secure" not in attributes


async def test_cookies_over_https_are_secure(https_client, make_user):
    user = await make_user()
    page = await https_client.get("/login")
    response = await login(https_client, user.email)
    assert response.status_code == 303
    session_cookie = set_cookie(response, "atrium_session")
    for cookie in (set_cookie(page, "atrium_anon"), session_cookie):
        attributes = flags(cookie)
        assert "secure" in attributes
        assert "httponly" in attributes
        assert attributes["samesite"] == "Lax"
        assert attributes["path"] == "/"
    assert (await https_client.get("/")).status_code == 200

    token = await csrf_from(https_client, "/")
    logout = await https_client.post("/logout", data={"csrf_token": token})
    cleared = flags(set_cookie(logout, "atrium_session"))
    assert cleared["max-age"] == "0"
    assert "secure" in cleared


async def test_the_session_id_changes_at_sign_in(client, make_client, make_user):
    first_user = await make_user()
    second_user = await make_user()
    await login(client, first_user.email)
    before = client.cookies["atrium_session"]

    # Signing in again from a signed-in browser (as anyone) starts a new session.
    token = await csrf_from(client, "/")
    response = await client.post(
        "/login", data={"email": second_user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303
    after = client.cookies["atrium_session"]
    assert after != before
    assert signed_out(await replay(make_client, before))
    assert (await replay(make_client, after)).status_code == 200


async def test_a_planted_session_cookie_is_not_adopted(client, make_client, make_user):
    user = await make_user()
    planted = "chosen-by-an-attacker-0123456789abcdef"
    client.cookies.set("atrium_session", planted)
    response = await login(client, user.email)
    assert response.status_code == 303
    assert set_cookie(response, "atrium_session").split(";")[0] != f"atrium_session={planted}"
    assert signed_out(await replay(make_client, planted))


async def test_deactivation_makes_a_captured_cookie_useless(client, make_client, make_user, db):
    user = await make_user()
    await login(client, user.email)
    captured = client.cookies["atrium_session"]
    assert (await replay(make_client, captured)).status_code == 200

    async with db.transaction() as session:
        await do_set_user_active(session, user.id, False)
    assert signed_out(await replay(make_client, captured))
    assert signed_out(await client.get("/"))

    # Coming back does not bring old sessions back.
    async with db.transaction() as session:
        await do_set_user_active(session, user.id, True)
    assert signed_out(await replay(make_client, captured))


async def test_a_password_change_signs_out_other_sessions_only(client, make_client, make_user):
    user = await make_user()
    laptop, phone = client, make_client()
    await login(laptop, user.email)
    await login(phone, user.email)
    phone_cookie = phone.cookies["atrium_session"]

    token = await csrf_from(laptop, "/profile")
    response = await laptop.post(
        "/profile/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
            "csrf_token": token,
        },
    )
    assert response.status_code == 303
    assert (await laptop.get("/")).status_code == 200
    assert signed_out(await phone.get("/"))
    assert signed_out(await replay(make_client, phone_cookie))


async def test_an_expired_session_is_signed_out(client, make_user, db):
    user = await make_user()
    await login(client, user.email)
    async with db.transaction() as session:
        await session.execute(
            update(AuthSession).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    response = await client.get("/")
    assert signed_out(response)
    assert flags(set_cookie(response, "atrium_session"))["max-age"] == "0"


async def test_an_active_session_is_extended(client, make_user, db):
    user = await make_user()
    await login(client, user.email)
    cookie = client.cookies["atrium_session"]
    now = utcnow()
    async with db.transaction() as session:
        await session.execute(
            update(AuthSession).values(
                last_seen_at=now - timedelta(minutes=10), expires_at=now + timedelta(minutes=1)
            )
        )
    response = await client.get("/")
    assert response.status_code == 200
    async with db.session() as session:
        expires_at = await session.scalar(select(AuthSession.expires_at))
    assert expires_at is not None and expires_at > now + timedelta(days=13)
    # The browser's copy is extended too, or it would drop the cookie 14 days after sign-in.
    renewed = set_cookie(response, "atrium_session")
    assert renewed.startswith(f"atrium_session={cookie};")
    assert int(flags(renewed)["max-age"]) > 13 * 24 * 3600
    assert "httponly" in flags(renewed)

    # Between renewals, requests do not send the cookie again.
    response = await client.get("/")
    assert "atrium_session" not in response.headers.get("set-cookie", "")

    # Signing out when a renewal is due still clears the cookie.
    token = await csrf_from(client, "/")
    async with db.transaction() as session:
        await session.execute(update(AuthSession).values(last_seen_at=now - timedelta(minutes=10)))
    response = await client.post("/logout", data={"csrf_token": token})
    assert [flags(set_cookie(response, "atrium_session"))["max-age"]] == ["0"]
    assert len(response.headers.get_list("set-cookie")) == 1
    assert client.cookies.get("atrium_session") is None


async def test_only_a_hash_of_the_token_is_stored(client, make_user, db):
    user = await make_user()
    await login(client, user.email)
    cookie = client.cookies["atrium_session"]
    async with db.session() as session:
        rows = (await session.scalars(select(AuthSession))).all()
    assert len(rows) == 1
    row = rows[0]
    assert row.user_id == user.id
    assert row.id == hashlib.sha256(cookie.encode()).hexdigest()
    stored = [str(getattr(row, c.key)) for c in AuthSession.__table__.columns]
    assert not any(cookie in value for value in stored)
