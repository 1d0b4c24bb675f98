"""The SearchIndex interface, its types, and the factory that picks a backend by URL scheme.

Every document carries an audience (a set of tokens, see ``domain.access``); every query carries
the caller's tokens and is filtered by them inside the engine, never afterwards in Python, so a
hit, a snippet or a facet count can only come from a document the caller may see.

Backends (STYLE.md item 4): ``embedded://<dir>`` is tantivy in the data dir (the default, and what
the tests use); ``meilisearch://[:key@]host[:port][/index]`` (``meilisearchs://`` for TLS) or a
plain ``http(s)://`` URL is a Meilisearch server.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol
from urllib.parse import unquote, urlsplit

# Filters and facets a caller may ask for; each is a single-valued keyword field of a document.
FACETS = ("kind", "author", "group", "account")
MAX_LIMIT = 100
MAX_OFFSET = 1000  # deeper than this nobody pages; it bounds the engine's work per query
MAX_QUERY_CHARS = 200  # a longer query is cut: 10 KB of text is never a sensible search


@dataclass(frozen=True)
class Ref:
    """A keyword value with the label shown for it in facets: an author, a group, an account."""

    id: int
    label: str


@dataclass(frozen=True)
class SearchDocument:
    """One searchable thing. ``id`` is "<kind>:<id>" ("comment:7"), unique across kinds."""

    id: str
    kind: str
    title: str
    body: str = ""
    url: str = ""
    audience: frozenset[str] = field(default_factory=frozenset)
    author: Ref | None = None
    group: Ref | None = None
    account: Ref | None = None
    date: datetime | None = None

    def fingerprint(self) -> str:
        """A digest of everything indexed, so reconciliation can tell a stale copy."""
        parts = [
            self.id,
            self.kind,
            self.title,
            self.body,
            self.url,
            sorted(self.audience),
            [self.author.id, self.author.label] if self.author else None,
            [self.group.id, self.group.label] if self.group else None,
            [self.account.id, self.account.label] if self.account else None,
            self.date.isoformat() if self.date else None,
        ]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class SearchQuery:
    """What a caller asks: the text, their tokens, and optional filters."""

    text: str
    tokens: frozenset[str]
    kinds: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    author: int | None = None
    group: int | None = None
    account: int | None = None
    limit: int = 20
    offset: int = 0
    facets: bool = False

    def clamped(self) -> SearchQuery:
        from dataclasses import replace

        return replace(
            self,
            text=self.text[:MAX_QUERY_CHARS],
            limit=max(1, min(self.limit, MAX_LIMIT)),
            offset=max(0, min(self.offset, MAX_OFFSET)),
        )


@dataclass(frozen=True)
class SearchHit:
    id: str
    kind: str
    title: str
    url: str
    score: float
    # HTML: the text escaped, the matched words in <mark>. Safe to render as is.
    title_html: str = ""
    snippet_html: str = ""
    date: datetime | None = None
    author: str = ""

    @property
    def object_id(self) -> int:
        return int(self.id.split(":", 1)[1])


@dataclass(frozen=True)
class FacetCount:
    value: str  # the filter value: a kind, or an id as text
    label: str
    count: int


@dataclass(frozen=True)
class SearchResult:
    hits: list[SearchHit]
    total: int
    facets: dict[str, list[FacetCount]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.hits


@dataclass(frozen=True)
class IndexStats:
    documents: int
    backend: str
    location: str


class SearchUnavailable(Exception):
    """The index cannot be reached or opened."""


class SearchIndex(Protocol):
    """What every backend offers. Writes are idempotent: upserting a document twice, or deleting
    one that is not there, changes nothing."""

    async def ping(self) -> None: ...

    async def upsert(self, documents: Sequence[SearchDocument]) -> None: ...

    async def delete(self, ids: Sequence[str]) -> None: ...

    async def write(self, documents: Sequence[SearchDocument], deletes: Sequence[str]) -> None:
        """Upsert some documents and delete others in one go (one commit where the engine has
        them): what the indexer does for each batch of events."""
        ...

    async def search(self, query: SearchQuery) -> SearchResult: ...

    async def ids_with_token(self, kind: str, token: str) -> list[str]:
        """Ids of the documents of a kind whose audience holds the token: the indexer asks which
        documents an audience change may have touched."""
        ...

    async def fingerprints(self) -> dict[str, str]:
        """Every document's id and ``SearchDocument.fingerprint``, for reconciliation."""
        ...

    async def clear(self) -> None: ...

    async def stats(self) -> IndexStats: ...

    async def close(self) -> None: ...


def meilisearch_address(url: str) -> tuple[str, str | None, str]:
    """(HTTP base URL, API key, index name) of a Meilisearch search URL."""
    parts = urlsplit(url)
    scheme = {"meilisearch": "http", "meilisearchs": "https"}.get(parts.scheme, parts.scheme)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    key = unquote(parts.password) if parts.password else None
    index = parts.path.strip("/") or "atrium"
    return f"{scheme}://{host}{port}", key, index


def open_index(url: str) -> SearchIndex:
    """The backend for ``ATRIUM_SEARCH_URL``."""
    parts = urlsplit(url)
    if parts.scheme == "embedded":
        from search.backends.embedded import EmbeddedIndex

        return EmbeddedIndex(parts.netloc + parts.path)
    if parts.scheme in ("meilisearch", "meilisearchs", "http", "https"):
        from search.backends.meilisearch import MeilisearchIndex

        base, key, index = meilisearch_address(url)
        return MeilisearchIndex(base, key, index)
    raise SearchUnavailable(f"no search backend for scheme {parts.scheme!r}")
