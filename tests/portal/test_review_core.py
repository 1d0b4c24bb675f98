"""Bad input that used to escape as a 500, and the bound on Accept-Language parsing."""

from __future__ import annotations

from portal.i18n import negotiate


async def test_a_non_ascii_csrf_header_is_refused_not_a_500(client):
    await client.get("/login")
    response = await client.post(
        "/login",
        data={"email": "a@example.com", "password": "x"},
        headers={"X-CSRF-Token": b"caf\xe9"},
    )
    assert response.status_code == 403


async def test_a_non_ascii_csrf_field_is_refused_not_a_500(client):
    await client.get("/login")
    response = await client.post(
        "/login",
        content="csrf_token=%E9t%C3%A9&email=a%40example.com",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 403


def test_a_huge_accept_language_is_bounded():
    header = ",".join(["xx;q=0.9"] * 20) + ",nl" + ",de" * 100_000
    assert negotiate(header) == "en"  # nl is past the 20 parts that are read
    assert negotiate("de,nl;q=0.8," + "x," * 1000) == "nl"
