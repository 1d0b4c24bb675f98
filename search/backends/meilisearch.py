"""The Meilisearch backend, for deployments that outgrow one machine (meilisearch-python-sdk,
async client).

It keeps the contract of the embedded index: the same words (``search.text``: a query is sent as
its normalised words, so quotes and minus signs are never operators), the same typo budget (one
typo from 4 letters, two from 8 — ``MIN_WORD_SIZE``), the last word matched as a prefix (what
Meilisearch does by default), exact and title matches first, then recent (``RANKING_RULES``),
snippets from ``search.text``. Every query carries the filter ``audience IN [<caller's tokens>]``
built by ``audience_filter``, whose values are quoted and escaped (``quote``), so a token can
never change the filter's meaning.

Meilisearch's primary keys allow only letters, digits, "-" and "_": a document "post:12" is stored
under the key "post-12" and keeps its own id in ``ref``. Writes wait for their task, so an error
surfaces in the indexer (which retries) instead of being lost in the server's queue.

No Meilisearch server can be installed on our machines: the contract tests run against one when
``ATRIUM_TEST_MEILISEARCH_URL`` is set; the requests this module sends are tested against a
loopback server that records them.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from meilisearch_python_sdk import AsyncClient
from meilisearch_python_sdk.errors import MeilisearchError
from meilisearch_python_sdk.models.settings import (
    MeilisearchSettings,
    MinWordSizeForTypos,
    TypoTolerance,
)

from search.backends.embedded import SEPARATOR, _day_start
from search.index import (
    FACETS,
    FacetCount,
    IndexStats,
    SearchDocument,
    SearchHit,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
)
from search.text import Marker, words_of

PAGE = 1000
TASK_TIMEOUT_MS = 60_000
FACET_FIELDS = {
    "kind": "kind",
    "author": "author_facet",
    "group": "group_facet",
    "account": "account_facet",
}
FILTERABLE: list[Any] = [
    "audience",
    "kind",
    "author",
    "group",
    "account",
    "date",
    "ref",
    *FACET_FIELDS.values(),
]
RANKING_RULES = ["words", "typo", "proximity", "attribute", "exactness", "date:desc"]
MIN_WORD_SIZE = MinWordSizeForTypos(one_typo=4, two_typos=8)
RETRIEVE = ["ref", "kind", "title", "body", "url", "date", "author_facet"]


def quote(value: str) -> str:
    """A filter string value: double-quoted, with backslashes and quotes escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def audience_filter(tokens: frozenset[str]) -> str:
    return "audience IN [" + ", ".join(quote(t) for t in sorted(tokens)) + "]"


def filters(query: SearchQuery) -> list[str]:
    """The filter of a query, as a list Meilisearch ANDs together; the audience first."""
    out = [audience_filter(query.tokens)]
    if query.kinds:
        out.append("kind IN [" + ", ".join(quote(k) for k in query.kinds) + "]")
    for name in ("author", "group", "account"):
        value = getattr(query, name)
        if value is not None:
            out.append(f"{name} = {quote(str(value))}")
    if query.date_from is not None:
        out.append(f"date >= {_day_start(query.date_from)}")
    if query.date_to is not None:
        out.append(f"date < {_day_start(query.date_to + timedelta(days=1))}")
    return out


def key_of(doc_id: str) -> str:
    return doc_id.replace(":", "-")


def to_meilisearch(doc: SearchDocument) -> dict[str, Any]:
    body: dict[str, Any] = {
        "key": key_of(doc.id),
        "ref": doc.id,
        "kind": doc.kind,
        "title": doc.title,
        "body": doc.body,
        "url": doc.url,
        "audience": sorted(doc.audience),
        "date": int(doc.date.timestamp()) if doc.date else 0,
        "fp": doc.fingerprint(),
    }
    for name, ref in (("author", doc.author), ("group", doc.group), ("account", doc.account)):
        if ref is not None:
            body[name] = str(ref.id)
            body[f"{name}_facet"] = f"{ref.id}{SEPARATOR}{ref.label}"
    return body


SETTINGS = MeilisearchSettings(
    searchable_attributes=["title", "body"],
    filterable_attributes=FILTERABLE,
    sortable_attributes=["date"],
    ranking_rules=RANKING_RULES,
    typo_tolerance=TypoTolerance(enabled=True, min_word_size_for_typos=MIN_WORD_SIZE),
)


class MeilisearchIndex:
    def __init__(self, url: str, api_key: str | None, uid: str) -> None:
        self.url = url
        self.uid = uid
        self._client = AsyncClient(url, api_key, timeout=10)
        self._key = api_key
        self._ready = False

    async def _index(self) -> Any:
        if not self._ready:
            try:
                index = await self._client.get_or_create_index(self.uid, primary_key="key")
                await self._wait(await index.update_settings(SETTINGS))
            except (MeilisearchError, OSError) as exc:
                raise SearchUnavailable(f"Meilisearch at {self.url}: {exc}") from exc
            self._ready = True
        return self._client.index(self.uid)

    async def _wait(self, task: Any) -> None:
        result = await self._client.wait_for_task(task.task_uid, timeout_in_ms=TASK_TIMEOUT_MS)
        if result.status != "succeeded":
            raise SearchUnavailable(f"Meilisearch task {task.task_uid} {result.status}")

    async def ping(self) -> None:
        try:
            await self._client.health()
        except Exception as exc:
            raise SearchUnavailable(str(exc)) from exc

    async def upsert(self, documents: Sequence[SearchDocument]) -> None:
        if documents:
            index = await self._index()
            await self._wait(await index.add_documents([to_meilisearch(d) for d in documents]))

    async def delete(self, ids: Sequence[str]) -> None:
        if ids:
            index = await self._index()
            await self._wait(await index.delete_documents([key_of(i) for i in ids]))

    async def write(self, documents: Sequence[SearchDocument], deletes: Sequence[str]) -> None:
        await self.upsert(documents)
        await self.delete(deletes)

    async def clear(self) -> None:
        index = await self._index()
        await self._wait(await index.delete_all_documents())

    async def search(self, query: SearchQuery) -> SearchResult:
        query = query.clamped()
        words = words_of(query.text)
        has_filters = bool(
            query.kinds
            or query.author
            or query.group
            or query.account
            or query.date_from
            or query.date_to
        )
        if not query.tokens or (not words and not has_filters):
            return SearchResult([], 0)
        index = await self._index()
        try:
            found = await index.search(
                " ".join(w.text for w in words) or None,
                offset=query.offset,
                limit=query.limit,
                filter=filters(query),
                facets=list(FACET_FIELDS.values()) if query.facets else None,
                attributes_to_retrieve=RETRIEVE,
                sort=None if words else ["date:desc"],
                matching_strategy="all",
            )
        except MeilisearchError as exc:
            raise SearchUnavailable(str(exc)) from exc
        marker = Marker(words)
        hits = [self._hit(h, marker) for h in found.hits]
        facets: dict[str, list[FacetCount]] = {}
        if query.facets:
            distribution = found.facet_distribution or {}
            for name in FACETS:
                counts = distribution.get(FACET_FIELDS[name], {})
                facets[name] = sorted(
                    (FacetCount(*_facet_key(key), int(count)) for key, count in counts.items()),
                    key=lambda f: (-f.count, f.label),
                )[:10]
        return SearchResult(hits, int(found.estimated_total_hits or len(hits)), facets)

    @staticmethod
    def _hit(hit: dict[str, Any], marker: Marker) -> SearchHit:
        title, body = hit.get("title", ""), hit.get("body", "")
        author = hit.get("author_facet", "")
        stamp = hit.get("date") or None
        return SearchHit(
            id=hit["ref"],
            kind=hit["kind"],
            title=title,
            url=hit.get("url", ""),
            score=0.0,
            title_html=marker.title(title),
            snippet_html=marker.snippet(body) if body else "",
            date=datetime.fromtimestamp(stamp, UTC) if stamp else None,
            author=author.split(SEPARATOR, 1)[1] if SEPARATOR in author else "",
        )

    async def _documents(
        self, fields: list[str], filter: list[str] | None = None
    ) -> list[dict[str, Any]]:
        index = await self._index()
        out: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = await index.get_documents(
                offset=offset, limit=PAGE, fields=fields, filter=filter
            )
            out.extend(page.results)
            offset += PAGE
            if offset >= page.total or not page.results:
                return out

    async def ids_with_token(self, kind: str, token: str) -> list[str]:
        rows = await self._documents(
            ["ref"], [f"kind = {quote(kind)}", f"audience = {quote(token)}"]
        )
        return [r["ref"] for r in rows]

    async def fingerprints(self) -> dict[str, str]:
        return {r["ref"]: r.get("fp", "") for r in await self._documents(["ref", "fp"])}

    async def stats(self) -> IndexStats:
        index = await self._index()
        stats = await index.get_stats()
        return IndexStats(int(stats.number_of_documents), "meilisearch", f"{self.url}/{self.uid}")

    async def rebuild(self, batches: AsyncIterable[Sequence[SearchDocument]]) -> int:
        """Fill a new index beside this one, then swap the two atomically (Meilisearch's own
        swap), so searches never see a half-built index; the old copy is deleted."""
        aside = MeilisearchIndex(self.url, self._key, f"{self.uid}_next")
        try:
            await aside._client.delete_index_if_exists(aside.uid)
            count = 0
            async for docs in batches:
                await aside.upsert(docs)
                count += len(docs)
            await aside._index()  # an empty database still gets a configured index
            await self._index()
            await self._wait(await self._client.swap_indexes([(self.uid, aside.uid)]))
            await self._client.delete_index_if_exists(aside.uid)
            return count
        finally:
            await aside.close()

    async def close(self) -> None:
        await self._client.aclose()


def _facet_key(key: str) -> tuple[str, str]:
    value, _, label = key.partition(SEPARATOR)
    return value, label or value
