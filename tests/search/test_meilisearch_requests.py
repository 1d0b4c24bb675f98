"""The exact requests the Meilisearch backend sends, recorded by a loopback HTTP server that
answers like Meilisearch (no mock of the client: the real SDK talks HTTP to it).

These pin the parts a real server cannot show us going wrong quietly: every search carries the
audience filter, tokens are quoted and escaped so they can never become filter syntax, filters
and facets are spelled as Meilisearch expects, and the index is configured with typo tolerance,
ranking rules and the attributes it filters and sorts on.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from search.backends.meilisearch import MeilisearchIndex, audience_filter, quote
from search.index import Ref, SearchDocument, SearchQuery, open_index

NOW = "2026-11-29T12:00:00Z"


class Recorder(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[tuple[str, str, Any]] = []
        self.hits: list[dict[str, Any]] = []
        self.facets: dict[str, dict[str, int]] = {}
        self.task = 0
        self.auth: set[str | None] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def bodies(self, method: str, suffix: str) -> list[Any]:
        return [b for m, p, b in self.requests if m == method and p.endswith(suffix)]


class Handler(BaseHTTPRequestHandler):
    server: Recorder

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _task(self) -> dict[str, Any]:
        self.server.task += 1
        return {
            "taskUid": self.server.task,
            "indexUid": "atrium",
            "status": "enqueued",
            "type": "documentAdditionOrUpdate",
            "enqueuedAt": NOW,
        }

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        path = self.path.split("?", 1)[0]
        self.server.requests.append((method, self.path, body))
        self.server.auth.add(self.headers.get("Authorization"))
        if path == "/health":
            self._answer(200, {"status": "available"})
        elif path.startswith("/tasks/"):
            uid = int(path.rsplit("/", 1)[1])
            self._answer(
                200,
                {
                    "uid": uid,
                    "indexUid": "atrium",
                    "status": "succeeded",
                    "type": "documentAdditionOrUpdate",
                    "enqueuedAt": NOW,
                    "startedAt": NOW,
                    "finishedAt": NOW,
                    "duration": "PT0.001S",
                },
            )
        elif path.endswith("/search"):
            self._answer(
                200,
                {
                    "hits": self.server.hits,
                    "query": (body or {}).get("q") or "",
                    "processingTimeMs": 1,
                    "limit": (body or {}).get("limit", 20),
                    "offset": (body or {}).get("offset", 0),
                    "estimatedTotalHits": len(self.server.hits),
                    "facetDistribution": self.server.facets,
                },
            )
        elif path.endswith("/documents/fetch") or (method == "GET" and path.endswith("/documents")):
            self._answer(200, {"results": [], "offset": 0, "limit": 1000, "total": 0})
        elif method == "GET" and path.startswith("/indexes/"):
            index_uid = path.split("/")[2]
            self._answer(
                200, {"uid": index_uid, "primaryKey": "key", "createdAt": NOW, "updatedAt": NOW}
            )
        else:
            self._answer(202, self._task())

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")


@pytest.fixture
def server() -> Iterator[Recorder]:
    recorder = Recorder()
    thread = threading.Thread(target=recorder.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        recorder.shutdown()
        recorder.server_close()


def test_tokens_are_quoted_and_escaped() -> None:
    assert quote("user:42") == '"user:42"'
    assert quote('a"b') == '"a\\"b"'
    assert quote("a\\b") == '"a\\\\b"'
    assert quote('x" OR audience EXISTS OR "') == '"x\\" OR audience EXISTS OR \\""'
    assert (
        audience_filter(frozenset({"role:employee", "user:42", 'evil"]'}))
        == 'audience IN ["evil\\"]", "role:employee", "user:42"]'
    )


async def test_every_search_is_filtered_by_the_callers_tokens(server: Recorder) -> None:
    server.hits = [
        {
            "ref": "post:12",
            "kind": "post",
            "title": "Project Alpha kick-off",
            "body": "We start <b>Monday</b>",
            "url": "/posts/12",
            "date": 1767225600,
            "author_facet": "1\x1fJan Jansen",
        }
    ]
    server.facets = {"kind": {"post": 1}, "author_facet": {"1\x1fJan Jansen": 1}}
    index = open_index(f"meilisearch://:s3cret@127.0.0.1:{server.server_address[1]}/atrium")
    assert isinstance(index, MeilisearchIndex)
    try:
        result = await index.search(
            SearchQuery(
                'projct "alpa',
                frozenset({"user:42", "role:employee", 'odd"token'}),
                kinds=("post", "comment"),
                author=1,
                group=7,
                account=31,
                date_from=date(2026, 1, 1),
                date_to=date(2026, 1, 31),
                limit=5,
                offset=10,
                facets=True,
            )
        )
    finally:
        await index.close()
    [search] = server.bodies("POST", "/indexes/atrium/search")
    assert search["q"] == "projct alpa"  # words only: a quote is never a phrase operator
    assert search["filter"] == [
        'audience IN ["odd\\"token", "role:employee", "user:42"]',
        'kind IN ["post", "comment"]',
        'author = "1"',
        'group = "7"',
        'account = "31"',
        f"date >= {int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())}",
        f"date < {int(datetime(2026, 2, 1, tzinfo=UTC).timestamp())}",
    ]
    assert search["limit"] == 5 and search["offset"] == 10
    assert search["facets"] == ["kind", "author_facet", "group_facet", "account_facet"]
    assert search["matchingStrategy"] == "all"
    assert "audience" not in search["attributesToRetrieve"]
    # The API key from the URL goes in the header, as Meilisearch expects.
    assert server.auth == {"Bearer s3cret"}
    [hit] = result.hits
    assert (hit.id, hit.kind, hit.url, hit.author) == ("post:12", "post", "/posts/12", "Jan Jansen")
    assert hit.title_html == "<mark>Project</mark> <mark>Alpha</mark> kick-off"
    assert hit.snippet_html == "We start &lt;b&gt;Monday&lt;/b&gt;"
    assert {(f.value, f.label, f.count) for f in result.facets["author"]} == {
        ("1", "Jan Jansen", 1)
    }


async def test_no_tokens_or_no_words_send_no_search(server: Recorder) -> None:
    index = MeilisearchIndex(server.url, None, "atrium")
    try:
        assert (await index.search(SearchQuery("jansen", frozenset()))).hits == []
        assert (await index.search(SearchQuery("!!! ???", frozenset({"user:1"})))).hits == []
        await index.search(SearchQuery("", frozenset({"user:1"}), kinds=("invoice",)))
    finally:
        await index.close()
    [browse] = server.bodies("POST", "/indexes/atrium/search")
    assert browse["q"] is None and browse["sort"] == ["date:desc"]
    assert browse["filter"][0] == 'audience IN ["user:1"]'


async def test_the_index_is_configured_and_written(server: Recorder) -> None:
    index = MeilisearchIndex(server.url, "key", "atrium")
    document = SearchDocument(
        id="invoice:7",
        kind="invoice",
        title="INV-7",
        body="total EUR 10.00",
        url="/records/invoices/7",
        audience=frozenset({"account:31", "role:employee"}),
        account=Ref(31, "Acme BV"),
        date=datetime(2026, 3, 1, tzinfo=UTC),
    )
    try:
        await index.upsert([document])
        await index.delete(["invoice:7", "post:1"])
        await index.ids_with_token("employee", 'account:"31')
    finally:
        await index.close()
    [settings] = server.bodies("PATCH", "/indexes/atrium/settings")
    assert settings["searchableAttributes"] == ["title", "body"]
    assert set(settings["filterableAttributes"]) >= {
        "audience",
        "kind",
        "author",
        "group",
        "account",
        "date",
    }
    assert settings["sortableAttributes"] == ["date"]
    assert settings["rankingRules"] == [
        "words",
        "typo",
        "proximity",
        "attribute",
        "exactness",
        "date:desc",
    ]
    assert settings["typoTolerance"]["enabled"] is True
    assert settings["typoTolerance"]["minWordSizeForTypos"] == {"oneTypo": 4, "twoTypos": 8}
    [added] = server.bodies("POST", "/indexes/atrium/documents")
    assert added == [
        {
            "key": "invoice-7",
            "ref": "invoice:7",
            "kind": "invoice",
            "title": "INV-7",
            "body": "total EUR 10.00",
            "url": "/records/invoices/7",
            "audience": ["account:31", "role:employee"],
            "date": int(datetime(2026, 3, 1, tzinfo=UTC).timestamp()),
            "fp": document.fingerprint(),
            "account": "31",
            "account_facet": "31\x1fAcme BV",
        }
    ]
    [deleted] = server.bodies("POST", "/indexes/atrium/documents/delete-batch")
    assert deleted == ["invoice-7", "post-1"]
    [fetch] = server.bodies("POST", "/indexes/atrium/documents/fetch")
    assert fetch["filter"] == ['kind = "employee"', 'audience = "account:\\"31"']
    # Each write waited for its task before returning.
    task_polls = [p for m, p, _ in server.requests if m == "GET" and p.startswith("/tasks/")]
    assert len(task_polls) >= 3
