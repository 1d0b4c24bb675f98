"""Sign-in throttling through HTTP: per account, per address, and a sliding 30-minute window.

Time passing is simulated by writing old failures straight into ``login_failures``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from domain.db import utcnow
from domain.people.models import LoginFailure
from portal.app import create_app
from tests.conftest import PASSWORD, csrf_from, login
from tests.portal.apps import running

TOO_MANY = "Too many failed sign-in attempts. Try again later."
WINDOW_SECONDS = 30 * 60
CLIENT_IP = "127.0.0.1"  # what httpx's ASGI transport reports as the client address


def assert_throttled(response: httpx.Response) -> int:
    assert response.status_code == 429
    assert TOO_MANY in response.text
    assert "atrium_session" not in response.headers.get("set-cookie", "")
    retry_after = int(response.headers["retry-after"])
    assert 0 < retry_after <= WINDOW_SECONDS + 1
    return retry_after


async def fail(client: httpx.AsyncClient, email: str, times: int = 1) -> None:
    for _ in range(times):
        response = await login(client, email, "wrong password")
        assert response.status_code == 400


async def add_failures(db, email: str, count: int, age: timedelta) -> None:
    at = utcnow() - age
    async with db.transaction() as session:
        session.add_all(LoginFailure(email=email, ip=CLIENT_IP, at=at) for _ in range(count))


@pytest.fixture
async def strict_client(settings) -> AsyncIterator[httpx.AsyncClient]:
    """A browser on an app that allows only 3 failed sign-ins per address in the window."""
    async with running(create_app(dataclasses.replace(settings, login_ip_limit=3))) as client:
        yield client


async def test_five_failures_lock_the_account_but_not_others(client, make_client, make_user):
    victim = await make_user()
    colleague = await make_user()
    await fail(client, victim.email, 5)

    # Even the right password is refused now, with a hint of when to come back.
    assert_throttled(await login(client, victim.email))
    assert_throttled(await login(make_client(), victim.email.upper()))

    # Another account from the same address is not affected.
    response = await login(make_client(), colleague.email)
    assert response.status_code == 303


async def test_the_address_limit_stops_guessing_across_accounts(strict_client, make_user):
    users = [await make_user() for _ in range(3)]
    await fail(strict_client, users[0].email, 2)
    assert (await login(strict_client, users[1].email)).status_code == 303
    strict_client.cookies.clear()  # the next browser at the same address
    await fail(strict_client, "nobody@example.com")

    # Three failures from this address: every account is refused from here, for now.
    assert_throttled(await login(strict_client, users[2].email))
    assert_throttled(await login(strict_client, "another@example.com"))


async def test_failures_older_than_the_window_no_longer_count(client, make_user, db):
    user = await make_user()
    await add_failures(db, user.email, 5, timedelta(minutes=31))
    assert (await login(client, user.email)).status_code == 303


async def test_retry_after_says_when_the_oldest_failure_leaves_the_window(client, make_user, db):
    user = await make_user()
    await add_failures(db, user.email, 5, timedelta(minutes=29))
    retry_after = assert_throttled(await login(client, user.email))
    assert 50 <= retry_after <= 61


async def test_address_failures_older_than_the_window_no_longer_count(strict_client, make_user, db):
    user = await make_user()
    await add_failures(db, "someone.else@example.com", 3, timedelta(minutes=31))
    assert (await login(strict_client, user.email)).status_code == 303


async def test_a_successful_sign_in_forgets_the_accounts_failures(
    client, make_client, make_user, db
):
    user = await make_user()
    await add_failures(db, user.email, 4, timedelta(minutes=1))
    assert (await login(make_client(), user.email, PASSWORD)).status_code == 303
    await fail(client, user.email, 1)
    # 4 + 1 would have locked the account had the first four still counted.
    assert (await login(make_client(), user.email)).status_code == 303


async def test_parallel_guesses_do_not_get_past_the_limit(make_client, make_user):
    user = await make_user()
    browsers = [make_client() for _ in range(8)]
    tokens = [await csrf_from(b) for b in browsers]
    responses = await asyncio.gather(
        *(
            b.post(
                "/login",
                data={"email": user.email, "password": f"guess {i}", "csrf_token": t},
            )
            for i, (b, t) in enumerate(zip(browsers, tokens, strict=True))
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [400] * 5 + [429] * 3
    assert_throttled(await login(make_client(), user.email))
