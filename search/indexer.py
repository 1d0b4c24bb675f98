"""The indexer: keeps the search index equal to the database by following the event log.

It runs inside ``atrium serve`` (a lifespan task) as the index's one writer. Every
``POLL_SECONDS`` — or at once when ``wake()`` is called after a commit, though while events keep
coming at most every ``COMMIT_SECONDS`` — it reads the events after its checkpoint, re-reads the
objects they name (``search.targets``), writes their documents, and then moves its checkpoint
(row ``search`` of ``consumer_checkpoints``). The index is written before the checkpoint, so a
crash between the two repeats some work and loses none; writes are idempotent (an upsert
replaces, a delete of nothing is nothing).

Ids that commit out of order: PostgreSQL hands out 100 then 101, and 101 may commit first. When
the checkpoint passes an id it has not seen, the id is kept as a gap (in the checkpoint's state)
and asked for again on every poll for ``GAP_SECONDS``; an id still missing after that belonged to
a transaction that rolled back. SQLite commits in id order, so it never leaves gaps.

Rows written without events (the demo, a bulk import) and any other drift are repaired by
``search.reconcile``; an empty index (first start, or its directory lost) is filled that way before
the log is followed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.db import Database, finish_before_cancel, utcnow
from domain.events import ConsumerCheckpoint, Event
from domain.posts.storage import AttachmentStore
from search.documents import doc_id, load_documents
from search.index import SearchDocument, SearchIndex, SearchUnavailable
from search.targets import Collector, Targets

log = logging.getLogger(__name__)

NAME = "search"
# Commits wake the indexer (this process's directly, others' through pub/sub); the poll is for a
# wake-up that was lost, and costs an idle server a few statements each time.
POLL_SECONDS = 1.0
# While events keep coming, batches are written at most this often: each write ends in a commit
# of the index (segment files flushed and synced), which costs far more than the documents it
# holds, so under a stream of posts a few are committed together. An idle indexer writes at once;
# a busy one keeps every change searchable well within a second.
COMMIT_SECONDS = 0.5
BATCH = 500
GAP_SECONDS = 30.0
MAX_GAPS = 1000


@dataclass
class Checkpoint:
    last: int = 0
    gaps: dict[int, float] = field(default_factory=dict)  # id -> when first missed (epoch)

    def state(self) -> dict[str, Any]:
        return {"gaps": {str(k): v for k, v in sorted(self.gaps.items())}}


async def load_checkpoint(session: AsyncSession, name: str = NAME) -> Checkpoint | None:
    row = await session.get(ConsumerCheckpoint, name)
    if row is None:
        return None
    gaps = {int(k): float(v) for k, v in (row.state or {}).get("gaps", {}).items()}
    return Checkpoint(row.last_event_id, gaps)


async def save_checkpoint(db: Database, checkpoint: Checkpoint, name: str = NAME) -> None:
    async with db.transaction() as session:
        row = await session.get(ConsumerCheckpoint, name)
        if row is None:
            row = ConsumerCheckpoint(name=name)
            session.add(row)
        row.last_event_id = checkpoint.last
        row.state = checkpoint.state()
        row.updated_at = utcnow()


async def lower_checkpoint(db: Database, event_id: int, name: str = NAME) -> None:
    """Make the indexer handle again everything after ``event_id`` (after an index was rebuilt
    from the database as it was at that event)."""
    async with db.transaction() as session:
        row = await session.get(ConsumerCheckpoint, name)
        if row is None:
            session.add(ConsumerCheckpoint(name=name, last_event_id=event_id, state={}))
        elif row.last_event_id > event_id:
            row.last_event_id = event_id
            row.updated_at = utcnow()


async def last_event_id(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.max(Event.id))) or 0)


async def write_targets(
    db: Database, index: SearchIndex, targets: Targets, files: AttachmentStore | None
) -> int:
    """Read the targets' documents now and write them; those without one are deleted. One write
    and one delete for the whole batch: each is a commit, the costly part."""
    docs: list[SearchDocument] = []
    gone: list[str] = []
    async with db.session() as session:
        for kind, ids in targets.items():
            if not ids:
                continue
            found = await load_documents(session, kind, sorted(ids), files=files)
            names = {d.id for d in found}
            docs.extend(found)
            gone.extend(doc_id(kind, i) for i in sorted(ids) if doc_id(kind, i) not in names)
    await index.write(docs, gone)
    return len(docs) + len(gone)


class Indexer:
    def __init__(
        self,
        db: Database,
        index: SearchIndex,
        *,
        files: AttachmentStore | None = None,
        poll_seconds: float = POLL_SECONDS,
        commit_seconds: float = COMMIT_SECONDS,
    ) -> None:
        self.db = db
        self.index = index
        self.files = files
        self.poll_seconds = poll_seconds
        self.commit_seconds = commit_seconds
        self._wrote_at = -float("inf")  # monotonic time of the last write to the index
        self._wake = asyncio.Event()
        self.checkpoint: Checkpoint | None = None
        self.ready = asyncio.Event()  # set once prepared: the index follows the log from now on

    def wake(self) -> None:
        """Look at the log now (a commit just happened) instead of at the next poll."""
        self._wake.set()

    async def step(self) -> int:
        """Handle the next batch of events; returns how many there were."""
        async with self.db.session() as session:
            checkpoint = await load_checkpoint(session) or Checkpoint()
            condition = Event.id > checkpoint.last
            if checkpoint.gaps:
                condition = or_(condition, Event.id.in_(sorted(checkpoint.gaps)))
            rows = (
                await session.execute(
                    select(Event.id, Event.kind, Event.payload)
                    .where(condition)
                    .order_by(Event.id)
                    .limit(BATCH)
                )
            ).all()
            collector = Collector(session, self.index)
            for _, kind, payload in rows:
                collector.event(kind, payload)
            targets = await collector.resolve()
        if rows:
            await write_targets(self.db, self.index, targets, self.files)
            self._wrote_at = time.monotonic()
        advanced = self._advance(checkpoint, [r[0] for r in rows])
        if rows or advanced:
            await save_checkpoint(self.db, checkpoint)
        self.checkpoint = checkpoint
        return len(rows)

    @staticmethod
    def _advance(checkpoint: Checkpoint, seen: list[int]) -> bool:
        """Move past the ids seen, remembering the ones skipped over; forget old gaps."""
        now = time.time()
        changed = False
        for event_id in seen:
            if checkpoint.gaps.pop(event_id, None) is not None:
                changed = True
        newest = max(seen, default=checkpoint.last)
        if newest > checkpoint.last:
            missing = set(range(checkpoint.last + 1, newest)) - set(seen)
            for event_id in sorted(missing)[-MAX_GAPS:]:
                checkpoint.gaps[event_id] = now
            checkpoint.last = newest
            changed = True
        for event_id, since in list(checkpoint.gaps.items()):
            if now - since > GAP_SECONDS:
                del checkpoint.gaps[event_id]
                changed = True
        return changed

    async def catch_up(self) -> None:
        while await self.step() >= BATCH:
            pass

    async def prepare(self) -> None:
        """Before following the log: fill an empty index (first start, lost directory) and take
        over any rebuilt index ``atrium reindex`` left for this process."""
        from search.rebuild import apply_swap_request
        from search.reconcile import reconcile

        await finish_before_cancel(apply_swap_request(self.db, self.index))
        async with self.db.session() as session:
            known = await load_checkpoint(session)
        stats = await self.index.stats()
        if known is None or stats.documents == 0:
            mark = await last_event_id(self.db)
            report = await reconcile(self.db, self.index, files=self.files)
            if report.changed:
                log.info("search index filled from the database: %s", report)
            await finish_before_cancel(lower_checkpoint(self.db, mark))

    async def run(self) -> None:
        """Follow the log until cancelled. Failures (database or index away) are logged and
        retried with a growing pause; nothing is lost, the checkpoint stays where it was."""
        from search.rebuild import apply_swap_request

        pause = self.poll_seconds
        prepared = False
        acquire = getattr(self.index, "acquire_writer", None)
        while True:
            try:
                if acquire is not None and not prepared:
                    await acquire()  # another process writing: wait as a standby
                if not prepared:
                    # Not shielded as a whole: a first fill of a large index may take minutes,
                    # too long to hold up a shutdown; its writes are shielded one by one.
                    await self.prepare()
                    prepared = True
                    self.ready.set()
                await finish_before_cancel(apply_swap_request(self.db, self.index))
                while await finish_before_cancel(self.step()) >= BATCH:
                    pass
                pause = self.poll_seconds
            except asyncio.CancelledError:
                raise
            except SearchUnavailable as exc:
                log.warning("search indexer waiting: %s", exc)
                pause = min(max(pause * 2, 1.0), 10.0)
            except Exception:  # keep following the log whatever one batch did
                log.exception("search indexer failed; retrying")
                pause = min(max(pause * 2, 1.0), 10.0)
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for drops a cancellation that
            # arrives as the event is set, and the indexer would then outlive its shutdown.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(pause):
                    await self._wake.wait()
            # Woken soon after a write: let more events gather for the next commit.
            await asyncio.sleep(max(0.0, self._wrote_at + self.commit_seconds - time.monotonic()))
            self._wake.clear()
