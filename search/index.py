"""The SearchIndex interface and the factory that picks a backend by URL scheme.

Every document carries an audience (a set of tokens, see ``domain.access``); every query is
filtered by the caller's tokens inside the engine, never afterwards in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit


@dataclass(frozen=True)
class SearchDocument:
    id: str  # "<kind>:<id>", e.g. "account:31"
    kind: str
    title: str
    body: str = ""
    url: str = ""
    audience: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class SearchHit:
    id: str
    kind: str
    title: str
    url: str
    score: float


class SearchUnavailable(Exception):
    """The index cannot be reached or opened."""


class SearchIndex(Protocol):
    async def ping(self) -> None: ...

    async def upsert(self, documents: list[SearchDocument]) -> None: ...

    async def delete(self, ids: list[str]) -> None: ...

    async def search(
        self, query: str, tokens: frozenset[str], *, limit: int = 20
    ) -> list[SearchHit]: ...

    async def close(self) -> None: ...


def open_index(url: str) -> SearchIndex:
    scheme = urlsplit(url).scheme
    if scheme == "embedded":
        from search.backends.embedded import EmbeddedIndex

        parts = urlsplit(url)
        return EmbeddedIndex(parts.netloc + parts.path)
    raise SearchUnavailable(f"no search backend for scheme {scheme!r} in this build")
