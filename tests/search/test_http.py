"""Search through HTTP: the /search page (results, filters, facets, pages, htmx fragment), the
top bar's suggestions, the JSON API (cursor pages, errors), bad queries (never a 500) and who may
ask at all."""

from __future__ import annotations

import re

import httpx
import pytest

from domain.db import Database
from domain.people.models import UserKind
from search.index import Ref, SearchDocument
from tests.conftest import UserFactory, login
from tests.search.conftest import Running

EVERYONE = frozenset({"role:employee"})


async def _staff(running: Running, make_user: UserFactory) -> httpx.AsyncClient:
    user = await make_user(kind=UserKind.STAFF)
    client = running.client()
    assert (await login(client, user.email)).status_code == 303
    return client


async def _seed(running: Running, n: int = 45) -> None:
    from datetime import UTC, datetime, timedelta

    base = datetime(2026, 1, 1, tzinfo=UTC)
    docs = [
        SearchDocument(
            id=f"post:{i}",
            kind="post",
            title=f"Harbour report {i}",
            body=f"Cranes and <b>containers</b> number {i}",
            url=f"/posts/{i}",
            audience=EVERYONE,
            author=Ref(1 + i % 2, f"Author {1 + i % 2}"),
            date=base + timedelta(days=i),
        )
        for i in range(1, n + 1)
    ]
    docs.append(
        SearchDocument(
            id="project:7",
            kind="project",
            title="Harbour crane project",
            body="PRJ-7",
            url="/records/projects/7",
            audience=EVERYONE,
            account=Ref(31, "Acme BV"),
            date=base + timedelta(days=100),
        )
    )
    docs.append(
        SearchDocument(
            id="post:999",
            kind="post",
            title="Harbour secret",
            url="/posts/999",
            audience=frozenset({"group:99"}),
        )
    )
    await running.state["search"].upsert(docs)


async def test_the_page_shows_results_facets_and_pages(
    db: Database, running: Running, make_user: UserFactory
) -> None:
    await _seed(running)
    client = await _staff(running, make_user)
    page = await client.get("/search", params={"q": "harbour"})
    assert page.status_code == 200
    assert "46 results" in page.text  # not the secret one
    assert "Harbour secret" not in page.text
    assert page.text.count('class="hit"') == 20
    assert "<mark>Harbour</mark>" in page.text and "&lt;b&gt;containers" in page.text
    assert "Vary" in page.headers and "HX-Request" in page.headers["vary"]
    # Facets with counts: 45 posts, 1 project; the authors; the account.
    assert re.search(r'kind=post[^"]*"[^>]*>Posts</a> <span class="count">45</span>', page.text)
    assert re.search(r">Acme BV</a> <span class=\"count\">1</span>", page.text)
    # Page 3 holds the last 6.
    third = await client.get("/search", params={"q": "harbour", "page": "3"})
    assert third.text.count('class="hit"') == 6 and 'rel="next"' not in third.text
    assert 'rel="prev"' in third.text
    # A facet link filters.
    projects = await client.get("/search", params={"q": "harbour", "kind": "project"})
    assert "1 result" in projects.text and "<mark>Harbour</mark> crane project" in projects.text
    authored = await client.get("/search", params={"q": "harbour", "author": "2"})
    assert "23 results" in authored.text  # the odd ones
    # htmx gets the results region alone.
    fragment = await client.get("/search", params={"q": "harbour"}, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert 'class="hit"' in fragment.text


async def test_suggestions_are_grouped_by_kind(
    db: Database, running: Running, make_user: UserFactory
) -> None:
    await _seed(running)
    client = await _staff(running, make_user)
    response = await client.get(
        "/search/suggest", params={"q": "harb"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    text = response.text
    # A few of each kind (4 posts at most), and the link to all results.
    assert 'role="listbox"' in text and text.count('role="option"') == 1 + 4 + 1
    assert ">Projects</p>" in text and ">Posts</p>" in text
    assert text.index(">Projects</p>") < text.index(">Posts</p>")  # the newest first
    assert "<mark>Harbour</mark>" in text and "secret" not in text
    assert 'href="/search?q=harb"' in text
    empty = await client.get("/search/suggest", params={"q": "  "})
    assert empty.status_code == 200 and empty.text.strip() == ""
    nothing = await client.get("/search/suggest", params={"q": "zzzzzzzz"})
    assert "Nothing found." in nothing.text


async def test_the_api_pages_with_a_cursor(
    db: Database, running: Running, make_user: UserFactory
) -> None:
    await _seed(running)
    client = await _staff(running, make_user)
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"q": "harbour", "limit": "20", "kind": "post"}
        if cursor:
            params["cursor"] = cursor
        body = (await client.get("/api/v1/search", params=params)).json()
        assert set(body) == {"hits", "total", "next"} and body["total"] == 45
        seen += [f"{h['kind']}:{h['id']}" for h in body["hits"]]
        for hit in body["hits"]:
            assert set(hit) == {"kind", "id", "title", "snippet", "url", "date"}
        cursor = body["next"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 45
    assert "post:999" not in seen


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "51"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "eyJvIjogLTF9"}, "cursor"),  # {"o": -1}
        ({"kind": "salary"}, "kind"),
        ({"from": "31-12-2026"}, "from"),
        ({"to": "2026-02-30"}, "to"),
        ({"author": "x"}, "author"),
        ({"group": "99999999999"}, "group"),
        ({"account": "-1"}, "account"),
    ],
)
async def test_malformed_parameters_are_named(
    db: Database, running: Running, make_user: UserFactory, params: dict[str, str], name: str
) -> None:
    client = await _staff(running, make_user)
    api = await client.get("/api/v1/search", params={"q": "x", **params})
    assert api.status_code == 400
    assert api.json()["error"]["message"].startswith(f"{name}:")
    if name not in ("limit", "cursor"):
        page = await client.get("/search", params={"q": "x", **params})
        assert page.status_code == 400 and f"{name}:" in page.text


@pytest.mark.parametrize(
    "q",
    [
        "",
        "x" * 10_000,
        "!!!",
        '"harbour',
        "harbour)",
        "\u202eharbour",
        "🦀",
        "\x00",
        "%",
        "<script>",
    ],
)
async def test_bad_queries_never_fail(
    db: Database, running: Running, make_user: UserFactory, q: str
) -> None:
    await _seed(running, n=3)
    client = await _staff(running, make_user)
    for path in ("/search", "/search/suggest", "/api/v1/search"):
        response = await client.get(path, params={"q": q})
        assert response.status_code == 200, (path, q)
        assert "<script>" not in response.text.replace("<script nonce", "")


async def test_everyone_signed_in_may_search_and_nobody_else(
    db: Database, running: Running, make_user: UserFactory
) -> None:
    anonymous = running.client()
    page = await anonymous.get("/search", params={"q": "x"})
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    api = await anonymous.get("/api/v1/search", params={"q": "x"})
    assert api.status_code == 401
    assert (await anonymous.get("/search/suggest", params={"q": "x"})).status_code == 303
    customer = await make_user(kind=UserKind.CUSTOMER)
    client = running.client()
    await login(client, customer.email)
    home = await client.get("/")
    assert re.search(r'hx-get="[^"]*/search/suggest"', home.text) and "js/search.js" in home.text
    assert (await client.get("/search", params={"q": "x"})).status_code == 200
    assert (await client.get("/api/v1/search", params={"q": "x"})).json()["hits"] == []
