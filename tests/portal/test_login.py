"""Signing in and out through HTTP: the form, the answers to right and wrong credentials, where the
browser goes next, and argon2 hashes upgraded at sign-in."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher, extract_parameters
from argon2 import profiles as argon2_profiles
from sqlalchemy import select, update

from domain.people import passwords
from domain.people.actions import do_set_user_active
from domain.people.models import User
from domain.people.passwords import needs_rehash, verify_password
from tests.conftest import PASSWORD, csrf_from, login

BAD_CREDENTIALS = "The email address or password is not correct."


def hidden_field(page: str, name: str) -> str | None:
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', page)
    return html.unescape(match.group(1)) if match else None


async def test_login_page_is_a_form_with_a_hidden_csrf_token(client):
    response = await client.get("/login")
    assert response.status_code == 200
    assert re.search(r'<form method="post" action="(http://testserver)?/login"', response.text)
    assert 'name="email"' in response.text
    assert 'name="password"' in response.text
    token = hidden_field(response.text, "csrf_token")
    assert token
    # The same token is on the page's meta tag, for htmx and fetch.
    assert f'<meta name="csrf-token" content="{token}">' in response.text


async def test_sign_in_lands_on_home_with_a_session_cookie(client, make_user):
    user = await make_user(email="ada@example.com", name="Ada Lovelace")
    response = await login(client, "ada@example.com")
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert client.cookies.get("atrium_session")
    home = await client.get("/")
    assert home.status_code == 200
    assert user.name in home.text


async def test_sign_in_ignores_case_and_spaces_in_the_email(client, make_user):
    await make_user(email="grace@example.com")
    response = await login(client, "  Grace@Example.COM ")
    assert response.status_code == 303
    assert (await client.get("/")).status_code == 200


async def test_sign_in_returns_to_a_safe_next_page(client, make_user):
    user = await make_user()
    token = await csrf_from(client, "/login?next=/profile")
    response = await client.post(
        "/login",
        data={
            "email": user.email,
            "password": PASSWORD,
            "csrf_token": token,
            "next": "/profile",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/profile"


async def test_a_guarded_page_sends_the_browser_back_after_sign_in(client, make_user):
    user = await make_user()
    first = await client.get("/search?q=budget 2025")
    assert first.status_code == 303
    form = await client.get(first.headers["location"])
    assert (hidden_field(form.text, "next") or "").startswith("/search?q=budget")
    response = await client.post(
        "/login",
        data={
            "email": user.email,
            "password": PASSWORD,
            "csrf_token": hidden_field(form.text, "csrf_token") or "",
            "next": hidden_field(form.text, "next") or "",
        },
    )
    assert response.status_code == 303
    followed = await client.get(response.headers["location"])
    assert followed.status_code == 200
    assert followed.url.path == "/search"
    assert followed.url.params["q"] == "budget 2025"


OFF_SITE = ("//evil.com", "https://evil.com/x", "/\\evil.com", "///evil.com", "evil.com")


async def test_sign_in_refuses_to_redirect_off_site(make_client, make_user):
    user = await make_user()
    for target in OFF_SITE:
        browser = make_client()
        form = await browser.get("/login", params={"next": target})
        assert hidden_field(form.text, "next") == "/", target
        response = await browser.post(
            "/login",
            data={
                "email": user.email,
                "password": PASSWORD,
                "csrf_token": hidden_field(form.text, "csrf_token") or "",
                "next": target,
            },
        )
        assert response.status_code == 303, target
        assert response.headers["location"] == "/", target


async def test_a_signed_in_browser_is_sent_on_from_the_login_page(client, make_user):
    user = await make_user()
    await login(client, user.email)
    response = await client.get("/login", params={"next": "//evil.com"})
    assert response.status_code == 303
    assert response.headers["location"] == "/"


async def test_wrong_password_and_unknown_email_get_the_same_answer(client, make_user):
    user = await make_user(email="known@example.com")
    wrong_password = await login(client, user.email, "not the password")
    unknown_email = await login(client, "nobody@example.com", PASSWORD)
    for response, email in ((wrong_password, user.email), (unknown_email, "nobody@example.com")):
        assert response.status_code == 400
        assert BAD_CREDENTIALS in response.text
        assert hidden_field(response.text, "csrf_token")  # the form is shown again
        assert f'value="{email}"' in response.text  # with the email kept
        assert "atrium_session" not in response.headers.get("set-cookie", "")
    assert client.cookies.get("atrium_session") is None
    assert (await client.get("/")).status_code == 303


async def test_missing_fields_are_named(client):
    token = await csrf_from(client)
    response = await client.post("/login", data={"email": "", "password": "", "csrf_token": token})
    assert response.status_code == 400
    assert "Enter your email address." in response.text
    assert "Enter your password." in response.text


async def test_an_inactive_user_cannot_sign_in(client, make_user, db):
    user = await make_user()
    async with db.transaction() as session:
        await do_set_user_active(session, user.id, False)
    response = await login(client, user.email)
    assert response.status_code == 400
    assert BAD_CREDENTIALS in response.text
    assert client.cookies.get("atrium_session") is None


async def test_sign_out_ends_the_session_on_the_server(client, make_client, make_user):
    user = await make_user()
    await login(client, user.email)
    captured = client.cookies["atrium_session"]
    token = await csrf_from(client, "/")
    response = await client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert client.cookies.get("atrium_session") is None
    assert (await client.get("/")).status_code == 303

    # Someone who copied the cookie before sign-out gets nothing from it.
    thief = make_client()
    replay = await thief.get("/", headers={"Cookie": f"atrium_session={captured}"})
    assert replay.status_code == 303
    assert replay.headers["location"].startswith("/login")


@pytest.fixture
def recommended_hashing() -> Iterator[None]:
    """The production parameters for one test (the suite hashes with the cheapest profile)."""
    passwords.use_parameters(passwords.RECOMMENDED)
    yield
    passwords.use_parameters(argon2_profiles.CHEAPEST)


async def test_an_outdated_hash_is_upgraded_at_sign_in(client, make_user, db, recommended_hashing):
    user = await make_user()
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    async with db.transaction() as session:
        await session.execute(update(User).where(User.id == user.id).values(password_hash=weak))

    response = await login(client, user.email)
    assert response.status_code == 303

    async with db.session() as session:
        stored = await session.scalar(select(User.password_hash).where(User.id == user.id))
    assert stored is not None and stored != weak
    assert extract_parameters(stored) == passwords.RECOMMENDED
    assert not needs_rehash(stored)
    assert verify_password(stored, PASSWORD)
