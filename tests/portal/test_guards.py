"""Who may reach the staff-only sections: staff see them, customers and partners get the same 404
as for a page that does not exist, anonymous browsers are sent to sign in, programs get 401."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from domain.people.models import UserKind
from tests.conftest import login


def main_of(page: str) -> str:
    return page.split('<main id="main">', 1)[1].split("</main>", 1)[0]


# /search is for everyone signed in (each caller finds what they may see): tests/search/.
SECTIONS = ("/workspaces", "/records", "/people", "/notifications")


async def test_staff_reach_every_section(client, make_user):
    user = await make_user(kind=UserKind.STAFF)
    await login(client, user.email)
    for path in SECTIONS:
        assert (await client.get(path)).status_code == 200, path


@pytest.mark.parametrize("kind", [UserKind.CUSTOMER, UserKind.PARTNER])
async def test_externals_get_not_found_for_every_section(client, make_user, kind):
    user = await make_user(kind=kind)
    await login(client, user.email)
    assert (await client.get("/")).status_code == 200
    missing = await client.get("/no-such-page")
    for path in SECTIONS:
        response = await client.get(path)
        assert response.status_code == 404, path
        # Indistinguishable from a page that does not exist.
        assert main_of(response.text) == main_of(missing.text)
        json_response = await client.get(path, headers={"Accept": "application/json"})
        assert json_response.status_code == 404
        assert json_response.json()["error"]["status"] == 404


async def test_external_pages_do_not_link_to_staff_sections(client, make_user):
    user = await make_user(kind=UserKind.CUSTOMER)
    await login(client, user.email)
    page = (await client.get("/")).text
    for path in SECTIONS:
        assert f'href="{path}"' not in page and f'href="http://testserver{path}"' not in page


async def test_anonymous_browsers_are_sent_to_sign_in_and_back(client):
    for path in SECTIONS:
        response = await client.get(path, params={"q": "x&y"})
        assert response.status_code == 303, path
        location = urlsplit(response.headers["location"])
        assert location.path == "/login"
        assert parse_qs(location.query)["next"] == [f"{path}?q=x%26y"]


async def test_anonymous_programs_get_401_json(client):
    for path in (*SECTIONS, "/", "/profile"):
        response = await client.get(path, headers={"Accept": "application/json"})
        assert response.status_code == 401, path
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"error": {"status": 401, "message": "Sign in first."}}
