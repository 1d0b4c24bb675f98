"""Leak tests: for every document kind and every kind of reader (admin, employee, a staff member
outside the groups, customer, partner), search shows exactly what they may see — in hits, in
snippets, in facet counts, in suggestions and in the JSON API — and nothing else.

The expectations are written by hand in ``tests/search/company.py``.
"""

from __future__ import annotations

from collections import Counter

import pytest

from domain.db import Database
from domain.posts.storage import AttachmentStore
from portal.settings import Settings
from search.backends.embedded import EmbeddedIndex
from search.index import SearchIndex, SearchQuery
from search.reconcile import reconcile
from tests.conftest import login
from tests.search.company import ROLES, build_company
from tests.search.conftest import Running

ALL_KINDS = {
    "post",
    "comment",
    "attachment",
    "group",
    "account",
    "contact",
    "project",
    "employee",
    "invoice",
    "item",
}


async def test_every_reader_finds_exactly_their_documents(db: Database, tmp_path) -> None:
    files = AttachmentStore(tmp_path)
    company = await build_company(db, files)
    index: SearchIndex = EmbeddedIndex(tmp_path / "index")
    try:
        drift = await reconcile(db, index, files=files)
        assert drift.missing == len(company.markers)  # one document per object, all written
        assert {d.split(":")[0] for d in company.markers} == ALL_KINDS
        for role in ROLES:
            principal = company.principals[role]
            result = await index.search(
                SearchQuery("zephyr", principal.tokens, limit=100, facets=True)
            )
            found = {h.id for h in result.hits}
            assert found == company.sees[role], role
            assert result.total == len(company.sees[role]), role
            kinds = Counter(d.split(":")[0] for d in company.sees[role])
            assert {f.value: f.count for f in result.facets["kind"]} == kinds, role
            shown = " ".join(h.title_html + h.snippet_html for h in result.hits)
            for doc, marker in company.markers.items():
                assert (marker in shown) == (doc in found), (role, doc)
            # Looking for a document by its own marker finds it only for those who may see it
            # (and documents that name it: an account's name is on its contacts and invoices).
            for doc, marker in company.markers.items():
                hits = {
                    h.id for h in (await index.search(SearchQuery(marker, principal.tokens))).hits
                }
                assert hits <= found and (doc in hits) == (doc in found), (role, doc)
        # An employee document holds directory fields only: no HR-private field is searchable,
        # even for administrators.
        admin = company.principals["admin"].tokens
        for private in ("secretstreet", "1980", "123456789"):
            assert (await index.search(SearchQuery(private, admin))).hits == [], private
    finally:
        await index.close()


async def test_pages_suggestions_and_api_leak_nothing(
    db: Database, running: Running, settings: Settings
) -> None:
    company = await build_company(db, AttachmentStore(settings.data_dir))
    await reconcile(db, running.state["search"], files=AttachmentStore(settings.data_dir))
    for role in ROLES:
        client = running.client()
        response = await login(client, company.users[role].email)
        assert response.status_code == 303, role
        sees = company.sees[role]
        hidden = [marker for doc, marker in company.markers.items() if doc not in sees]
        page = await client.get("/search", params={"q": "zephyr"})
        suggest = await client.get("/search/suggest", params={"q": "zephyr"})
        api = await client.get("/api/v1/search", params={"q": "zephyr", "limit": 50})
        assert page.status_code == suggest.status_code == api.status_code == 200, role
        assert {f"{h['kind']}:{h['id']}" for h in api.json()["hits"]} == sees, role
        assert f"{len(sees)} results" in page.text, role
        for body in (page.text, suggest.text, api.text):
            leaked = [m for m in hidden if m in body]
            assert not leaked, (role, leaked)
        # Asking for a hidden document by its marker: nothing, on every channel.
        for doc, marker in company.markers.items():
            if doc in sees:
                continue
            api = await client.get("/api/v1/search", params={"q": marker})
            suggest = await client.get("/search/suggest", params={"q": marker})
            assert {f"{h['kind']}:{h['id']}" for h in api.json()["hits"]} <= sees, (role, doc)
            # The marker shows only where the box repeats the query: the link to all results.
            assert suggest.text.count(marker) == 2, (role, doc)
            assert f'href="/search?q={marker}">All results for “{marker}”' in suggest.text


@pytest.mark.parametrize("role", ["customer", "partner"])
async def test_externals_facets_name_only_what_they_may_see(
    db: Database, tmp_path, role: str
) -> None:
    company = await build_company(db)
    index = EmbeddedIndex(tmp_path / "index")
    try:
        await reconcile(db, index)
        result = await index.search(
            SearchQuery("zephyr", company.principals[role].tokens, limit=100, facets=True)
        )
        labels = " ".join(f.label for fs in result.facets.values() for f in fs)
        hidden = [m for d, m in company.markers.items() if d not in company.sees[role]]
        assert not [m for m in hidden if m in labels]
        assert sum(f.count for f in result.facets["kind"]) == len(company.sees[role])
    finally:
        await index.close()
