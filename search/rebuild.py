"""``atrium reindex``: rebuild the whole index from the database without a gap in service.

The new index is built aside while the old one keeps answering, then put in its place in one step,
and the indexer's checkpoint is lowered to the last event id read before the build started, so
everything that changed during the build is applied to the new index too (writes are idempotent).

- embedded: the new index is built in ``<dir>.next``. The swap needs the writer lock of the live
  index. When no server holds it, this command swaps itself; when ``atrium serve`` holds it, the
  command leaves a request (row ``search.swap`` of ``consumer_checkpoints``) that the server's
  indexer applies within a poll, and waits for it;
- Meilisearch: a second index is filled and the two are swapped by Meilisearch itself.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from domain.db import Database, utcnow
from domain.events import ConsumerCheckpoint
from domain.posts.storage import AttachmentStore
from search.backends.embedded import EmbeddedIndex
from search.index import SearchIndex, SearchUnavailable
from search.indexer import last_event_id, lower_checkpoint
from search.reconcile import all_documents

SWAP = "search.swap"
SWAP_WAIT_SECONDS = 60.0


@dataclass
class Rebuilt:
    documents: int
    seconds: float
    swapped_by: str  # "this command" or "the running server"

    @property
    def rate(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0


def aside_path(live: Path) -> Path:
    return live.with_name(live.name + ".next")


async def build_embedded(
    db: Database,
    path: Path,
    *,
    files: AttachmentStore | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """A complete new embedded index at ``path`` (replacing anything there)."""
    shutil.rmtree(path, ignore_errors=True)
    builder = EmbeddedIndex(path, bulk=True)
    count = 0
    adding: asyncio.Future[int] | None = None
    try:
        # A pipeline: the engine takes one batch (in a thread) while the next is read.
        async for docs in all_documents(db, files=files, batch=5000):
            if adding is not None:
                count += await adding
                if progress is not None:
                    progress(count)
            adding = asyncio.ensure_future(asyncio.to_thread(builder.add_fresh, docs))
        if adding is not None:
            count += await adding
        await asyncio.to_thread(builder.commit)
    finally:
        await builder.close()
    return count


async def rebuild(
    db: Database,
    index: SearchIndex,
    *,
    files: AttachmentStore | None = None,
    progress: Callable[[int], None] | None = None,
) -> Rebuilt:
    started = time.perf_counter()
    mark = await last_event_id(db)
    if isinstance(index, EmbeddedIndex):
        built = aside_path(index.path)
        count = await build_embedded(db, built, files=files, progress=progress)
        try:
            await asyncio.to_thread(index.swap_in, built)
            swapped_by = "this command"
            await lower_checkpoint(db, mark)
        except SearchUnavailable:
            await _ask_server_to_swap(db, built, mark)
            swapped_by = "the running server"
        return Rebuilt(count, time.perf_counter() - started, swapped_by)
    from search.backends.meilisearch import MeilisearchIndex

    if not isinstance(index, MeilisearchIndex):
        raise TypeError(f"cannot rebuild a {type(index).__name__}")
    count = await index.rebuild(all_documents(db, files=files))
    await lower_checkpoint(db, mark)
    return Rebuilt(count, time.perf_counter() - started, "this command")


async def _ask_server_to_swap(db: Database, built: Path, mark: int) -> None:
    async with db.transaction() as session:
        row = await session.get(ConsumerCheckpoint, SWAP)
        if row is None:
            row = ConsumerCheckpoint(name=SWAP)
            session.add(row)
        row.last_event_id = mark
        row.state = {"path": str(built)}
        row.updated_at = utcnow()
    deadline = time.monotonic() + SWAP_WAIT_SECONDS
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        async with db.session() as session:
            if await session.get(ConsumerCheckpoint, SWAP) is None:
                return
    raise SearchUnavailable(
        "the new index is built, but the server holding the index did not take it over; "
        "it will when it next starts"
    )


async def apply_swap_request(db: Database, index: SearchIndex) -> bool:
    """In the process that writes the index: take over an index ``atrium reindex`` built."""
    if not isinstance(index, EmbeddedIndex):
        return False
    async with db.session() as session:
        row = await session.get(ConsumerCheckpoint, SWAP)
        if row is None:
            return False
        requested, mark = Path(row.state.get("path", "")), row.last_event_id
    expected = aside_path(index.path)
    if requested == expected and expected.is_dir():
        await asyncio.to_thread(index.swap_in, expected)
        await lower_checkpoint(db, mark)
    async with db.transaction() as session:
        found = await session.get(ConsumerCheckpoint, SWAP)
        if found is not None:
            await session.delete(found)
    return True
