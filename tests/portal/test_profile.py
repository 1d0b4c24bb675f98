"""The profile page through HTTP: a user changes their name, language and password; invalid input
is shown back with messages per field and changes nothing."""

from __future__ import annotations

import html

import httpx
from sqlalchemy import select

from domain.db import Database
from domain.people.models import User
from tests.conftest import PASSWORD, UserFactory, csrf_from, login

NEW_PASSWORD = "a much longer new passphrase"


async def signed_in_user(
    client: httpx.AsyncClient, make_user: UserFactory, **kwargs: object
) -> User:
    user = await make_user(**kwargs)
    assert (await login(client, user.email)).status_code == 303
    return user


async def stored(db: Database, user_id: int) -> User:
    async with db.session() as session:
        user = await session.scalar(select(User).where(User.id == user_id))
    assert user is not None
    return user


async def post_profile(client: httpx.AsyncClient, path: str, data: dict[str, str]):
    token = await csrf_from(client, "/profile")
    return await client.post(path, data={**data, "csrf_token": token})


async def test_the_profile_page_shows_the_users_details(client, make_user):
    user = await signed_in_user(client, make_user, email="ada@example.com", name="Ada Lovelace")
    page = await client.get("/profile")
    assert page.status_code == 200
    assert 'value="ada@example.com"' in page.text
    assert 'value="Ada Lovelace"' in page.text
    assert user.language is None
    assert '<option value="" selected>' in page.text


async def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = await client.get("/profile")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/profile"


async def test_a_user_changes_name_and_language(client, make_user):
    await signed_in_user(client, make_user, name="Old Name")
    response = await post_profile(client, "/profile", {"name": "  New   Name ", "language": "nl"})
    assert response.status_code == 303
    assert response.headers["location"] == "/profile?saved=profile"

    page = await client.get(response.headers["location"])
    assert '<html lang="nl">' in page.text  # the chosen language wins over the browser's
    assert 'value="New Name"' in page.text
    assert '<option value="nl" selected>' in page.text
    assert "New Name" in (await client.get("/")).text

    # Back to following the browser.
    await post_profile(client, "/profile", {"name": "New Name", "language": ""})
    page = await client.get("/profile", headers={"Accept-Language": "en"})
    assert '<html lang="en">' in page.text


INVALID_PROFILES = [
    ({"name": "   ", "language": ""}, "name", "This field is required."),
    ({"name": "x" * 201, "language": ""}, "name", "This value is too long."),
    ({"name": "Valid", "language": "fr"}, "language", "Choose English, Dutch or the browser"),
]

REFUSED_PASSWORD_CHANGES = [
    ("wrong password", NEW_PASSWORD, NEW_PASSWORD, "current_password", "is not correct"),
    (PASSWORD, "short", "short", "new_password", "at least 10 characters"),
    (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "!", "confirm_password", "not the same"),
    (PASSWORD, NEW_PASSWORD, "", "confirm_password", "This field is required."),
]


async def test_invalid_profile_input_is_shown_back_and_changes_nothing(client, make_user, db):
    user = await signed_in_user(client, make_user, name="Kept Name")
    for data, field, message in INVALID_PROFILES:
        response = await post_profile(client, "/profile", data)
        assert response.status_code == 422, data
        assert message in html.unescape(response.text), data
        assert f'aria-describedby="{field}-error"' in response.text, data
        after = await stored(db, user.id)
        assert (after.name, after.language) == ("Kept Name", None), data


async def test_a_refused_password_change_changes_nothing(client, make_user, db):
    user = await signed_in_user(client, make_user)
    before = (await stored(db, user.id)).password_hash
    for current, new, confirm, field, message in REFUSED_PASSWORD_CHANGES:
        response = await post_profile(
            client,
            "/profile/password",
            {"current_password": current, "new_password": new, "confirm_password": confirm},
        )
        assert response.status_code == 422, field
        assert message in response.text, field
        assert f'aria-describedby="{field}-error"' in response.text, field
        assert (await stored(db, user.id)).password_hash == before, field
    assert (await client.get("/")).status_code == 200


async def test_guessing_the_current_password_is_throttled_like_signing_in(client, make_user, db):
    """A stolen session must not become a way to guess the password: wrong current passwords
    count as failed sign-ins of the account, and a mistyped new password counts for nothing."""
    user = await signed_in_user(client, make_user)
    before = (await stored(db, user.id)).password_hash
    for _ in range(3):  # refused for the new password alone: no attempt used
        data = {"current_password": PASSWORD, "new_password": "short", "confirm_password": "short"}
        assert (await post_profile(client, "/profile/password", data)).status_code == 422
    wrong = {
        "current_password": "not my password",
        "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD,
    }
    for _ in range(5):
        assert (await post_profile(client, "/profile/password", wrong)).status_code == 422
    refused = await post_profile(client, "/profile/password", wrong)
    assert refused.status_code == 429
    assert "Too many failed sign-in attempts" in refused.text
    assert int(refused.headers["retry-after"]) > 0
    right = dict(wrong, current_password=PASSWORD)
    assert (await post_profile(client, "/profile/password", right)).status_code == 429, (
        "not even the right password while throttled"
    )
    assert (await stored(db, user.id)).password_hash == before


async def test_a_user_changes_their_password(client, make_client, make_user):
    user = await signed_in_user(client, make_user)
    response = await post_profile(
        client,
        "/profile/password",
        {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert "Your password has been changed." in page.text

    assert (await login(make_client(), user.email, PASSWORD)).status_code == 400
    assert (await login(make_client(), user.email, NEW_PASSWORD)).status_code == 303
