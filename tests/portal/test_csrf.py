"""CSRF protection on every unsafe request: what is refused, how the refusal reads, and the ways a
real page sends its token (form field, header, multipart)."""

from __future__ import annotations

import re

import httpx

from tests.conftest import PASSWORD, csrf_from, login

REFUSAL = "This form has expired or was sent from another site."


def refused_as_page(response: httpx.Response) -> bool:
    return (
        response.status_code == 403
        and response.headers["content-type"].startswith("text/html")
        and REFUSAL in response.text
    )


def refused_as_json(response: httpx.Response) -> bool:
    if response.status_code != 403 or response.headers["content-type"] != "application/json":
        return False
    error = response.json()["error"]
    return error["status"] == 403 and REFUSAL in error["message"]


async def signed_in(client: httpx.AsyncClient, make_user) -> str:
    user = await make_user()
    assert (await login(client, user.email)).status_code == 303
    return await csrf_from(client, "/")


async def still_signed_in(client: httpx.AsyncClient) -> bool:
    return (await client.get("/")).status_code == 200


async def test_a_post_without_a_token_is_refused(client, make_user):
    await signed_in(client, make_user)
    response = await client.post("/logout")
    assert refused_as_page(response)
    assert await still_signed_in(client)


async def test_a_post_with_a_wrong_token_is_refused(client, make_user):
    token = await signed_in(client, make_user)
    tampered = token[:-1] + ("1" if token.endswith("0") else "0")
    response = await client.post("/logout", data={"csrf_token": tampered})
    assert refused_as_page(response)
    response = await client.post("/logout", headers={"X-CSRF-Token": "nonsense"})
    assert refused_as_page(response)
    assert await still_signed_in(client)


async def test_the_login_form_itself_is_protected(client, make_user):
    user = await make_user()
    await client.get("/login")
    response = await client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert refused_as_page(response)
    assert client.cookies.get("atrium_session") is None


async def test_programs_get_the_refusal_as_json(client, make_user):
    await signed_in(client, make_user)
    assert refused_as_json(await client.post("/api/anything", json={"x": 1}))
    assert refused_as_json(await client.post("/logout", headers={"Accept": "application/json"}))


async def test_a_token_from_another_browser_is_refused(client, make_client, make_user):
    # Before sign-in: each browser's login form has a token of its own.
    other = make_client()
    user = await make_user()
    their_token = await csrf_from(other)
    assert their_token != await csrf_from(client)
    response = await client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": their_token}
    )
    assert refused_as_page(response)

    # After sign-in, even the same user's other browser has a different token.
    await login(client, user.email)
    await login(other, user.email)
    their_token = await csrf_from(other, "/")
    assert refused_as_page(await client.post("/logout", data={"csrf_token": their_token}))
    assert await still_signed_in(client)


async def test_every_page_carries_the_token_in_a_meta_tag(client, make_user):
    await signed_in(client, make_user)
    tokens = {await csrf_from(client, path) for path in ("/", "/profile", "/workspaces", "/nope")}
    assert len(tokens) == 1


async def test_the_header_from_the_meta_tag_is_accepted(client, make_user):
    token = await signed_in(client, make_user)
    response = await client.post(
        "/profile", data={"name": "Header Sent"}, headers={"X-CSRF-Token": token}
    )
    assert response.status_code == 303
    assert "Header Sent" in (await client.get("/profile")).text


async def test_a_multipart_form_with_the_token_is_accepted(client, make_user):
    token = await signed_in(client, make_user)
    # Text parts only (no filename), as a browser sends an enctype="multipart/form-data" form.
    fields = {"csrf_token": (None, token), "name": (None, "Multipart Sent"), "language": (None, "")}
    response = await client.post("/profile", files=fields)
    assert response.status_code == 303
    assert "Multipart Sent" in (await client.get("/profile")).text

    # A multipart body with a file in it still has its token found.
    upload = {"attachment": ("notes.txt", b"x" * 50_000, "text/plain")}
    response = await client.post("/logout", data={"csrf_token": token}, files=upload)
    assert response.status_code == 303
    assert not await still_signed_in(client)


async def test_a_multipart_form_without_the_token_is_refused(client, make_user):
    await signed_in(client, make_user)
    response = await client.post("/logout", files={"csrf_token": ("token.txt", b"", "text/plain")})
    assert refused_as_page(response)
    assert await still_signed_in(client)


async def test_the_token_changes_at_sign_in(client, make_user):
    user = await make_user()
    before = await csrf_from(client)
    await login(client, user.email)
    after = await csrf_from(client, "/")
    assert after != before
    assert refused_as_page(await client.post("/logout", data={"csrf_token": before}))
    assert await still_signed_in(client)
    assert (await client.post("/logout", data={"csrf_token": after})).status_code == 303


async def test_the_refusal_page_carries_a_token_for_a_retry(client):
    # The refusal is the ordinary error page, so a reload of the form can be sent again.
    await client.get("/login")
    response = await client.post("/logout")
    assert refused_as_page(response)
    assert re.search(r'<meta name="csrf-token" content="[0-9a-f]{64}">', response.text)
