"""Fixtures of the search tests: an index of each backend, and a running app whose state (the
index, the indexer) tests can reach.

The Meilisearch leg runs against a real server when ``ATRIUM_TEST_MEILISEARCH_URL`` is set
(``meilisearch://:key@host:7700``). No Meilisearch server can be installed on our machines
(STACK-NOTES trap 4), so without that variable the leg is skipped, saying so: this is the one
skip the search tests allow.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from portal.app import create_app
from portal.settings import Settings
from search.backends.embedded import EmbeddedIndex
from search.index import SearchIndex, meilisearch_address

MEILISEARCH_URL = os.environ.get("ATRIUM_TEST_MEILISEARCH_URL", "")
NO_MEILISEARCH = (
    "ATRIUM_TEST_MEILISEARCH_URL is not set: no Meilisearch server can be installed here "
    "(STACK-NOTES trap 4); set it to run the contract against a real server"
)


async def make_index(kind: str, tmp_path: Path) -> SearchIndex:
    if kind == "embedded":
        return EmbeddedIndex(tmp_path / f"index-{secrets.token_hex(3)}")
    if not MEILISEARCH_URL:
        pytest.skip(NO_MEILISEARCH)
    from search.backends.meilisearch import MeilisearchIndex

    base, key, _ = meilisearch_address(MEILISEARCH_URL)
    return MeilisearchIndex(base, key, f"atrium_test_{secrets.token_hex(4)}")


@pytest.fixture(params=["embedded", "meilisearch"])
async def index(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SearchIndex]:
    made = await make_index(request.param, tmp_path)
    try:
        yield made
    finally:
        if request.param == "meilisearch":
            client: Any = made._client  # type: ignore[attr-defined]
            await client.delete_index_if_exists(made.uid)  # type: ignore[attr-defined]
        await made.close()


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within: float = 1.0, step: float = 0.02
) -> float:
    """Wait until ``check()`` is true; returns the seconds it took, fails after ``within``."""
    started = time.monotonic()
    while True:
        if await check():
            return time.monotonic() - started
        if time.monotonic() - started > within:
            raise AssertionError(f"not true within {within} s")
        await asyncio.sleep(step)


class Running:
    """The app with its lifespan running: an HTTP client factory and its state."""

    def __init__(self, app: Any, state: dict[str, Any]) -> None:
        self.app = app
        self.state = state
        self.clients: list[httpx.AsyncClient] = []

    def client(self) -> httpx.AsyncClient:
        async def asgi(scope: Any, receive: Any, send: Any) -> None:
            scope["state"] = dict(self.state)
            await self.app(scope, receive, send)

        transport = httpx.ASGITransport(app=asgi, raise_app_exceptions=False)
        c = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        self.clients.append(c)
        return c


@pytest.fixture
async def running(settings: Settings) -> AsyncIterator[Running]:
    app = create_app(settings)
    async with app.router.lifespan_context(app) as state:
        assert state is not None
        # The indexer fills an empty index from the database when it starts: let it finish, so
        # that what a test writes next is not undone by that first reconciliation.
        await asyncio.wait_for(state["search_indexer"].ready.wait(), 30)
        run = Running(app, dict(state))
        try:
            yield run
        finally:
            await asyncio.gather(*(c.aclose() for c in run.clients))
