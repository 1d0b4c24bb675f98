"""Following the event log in id order, without losing ids that commit out of order.

Ids come from a sequence when a transaction inserts its event, not when it commits: PostgreSQL
can hand out 100 and 101 to two transactions and commit 101 first. A reader of ``id > last``
that moved its cursor to 101 would never see 100. So ``Relay`` keeps a cursor below which every
id is settled, and treats a hole in the ids it reads as an open transaction:

- events after a hole are *held back* (not emitted) for up to ``hold_back`` seconds, so that in
  the usual case (a commit a few milliseconds late) everything is emitted in id order;
- after that the hole is given up on — it may be a rolled-back transaction, whose id never
  commits — and the events after it are emitted; the hole's ids stay *watched* for ``watch``
  seconds more, and one that commits late is still emitted (out of order, but not lost).

SQLite hands out ids in commit order (writers queue on ``BEGIN IMMEDIATE``), so holes only come
from rollbacks there and never persist.

The module also holds the log's other reads (a principal's replay, the oldest replayable id) and
retention: ``prune_events`` deletes old events and records, in a consumer checkpoint, the highest
id it deleted, so a reconnecting reader can tell "you missed events I no longer have" (reload)
from "nothing happened".
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.db import Database, utcnow
from domain.events import ConsumerCheckpoint, Event, EventAudience

PRUNED = "events.pruned"  # checkpoint: last_event_id = the highest id retention deleted
BATCH = 500


@dataclass(frozen=True)
class LoggedEvent:
    """One committed event as delivery sees it: ids and an audience, never content."""

    id: int
    kind: str
    payload: dict[str, Any]
    audience: frozenset[str]
    actor_id: int | None
    created_at: datetime


# Tokens are identifiers ("user:7", "group:3", "role:employee") and never hold a newline.
_SEPARATOR = "\n"
_AUDIENCE = (
    select(func.aggregate_strings(EventAudience.token, _SEPARATOR))
    .where(EventAudience.event_id == Event.id)
    .correlate(Event)
    .scalar_subquery()
)
# Each event with its audience in one row: the live poll is one statement, not two.
_LOGGED = select(
    Event.id, Event.kind, Event.payload, Event.actor_id, Event.created_at, _AUDIENCE
).order_by(Event.id)


async def _read(session: AsyncSession, query: Select[Any]) -> list[LoggedEvent]:
    return [
        LoggedEvent(
            event_id,
            kind,
            payload,
            frozenset(audience.split(_SEPARATOR)) if audience else frozenset(),
            actor_id,
            created_at,
        )
        for event_id, kind, payload, actor_id, created_at, audience in await session.execute(query)
    ]


async def read_after(session: AsyncSession, after: int, *, limit: int = BATCH) -> list[LoggedEvent]:
    """Committed events with ``id > after``, in id order."""
    return await _read(session, _LOGGED.where(Event.id > after).limit(limit))


async def read_ids(session: AsyncSession, ids: Collection[int]) -> list[LoggedEvent]:
    if not ids:
        return []
    return await _read(session, _LOGGED.where(Event.id.in_(list(ids))))


async def read_visible(
    session: AsyncSession,
    tokens: Collection[str],
    *,
    after: int,
    upto: int,
    limit: int = BATCH,
) -> list[LoggedEvent]:
    """A principal's replay: events in ``(after, upto]`` whose audience meets ``tokens``, in id
    order — one query on the (token, event id) index."""
    visible = (
        select(EventAudience.event_id)
        .where(
            EventAudience.token.in_(list(tokens)),
            EventAudience.event_id > after,
            EventAudience.event_id <= upto,
        )
        .distinct()
    )
    return await _read(session, _LOGGED.where(Event.id.in_(visible)).limit(limit))


async def max_event_id(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.max(Event.id))) or 0)


async def pruned_through(session: AsyncSession) -> int:
    """The highest event id retention has deleted (0: none). A reader whose cursor is below it
    may have missed events that are gone."""
    row = await session.get(ConsumerCheckpoint, PRUNED)
    return row.last_event_id if row is not None else 0


async def prune_events(session: AsyncSession, older_than: datetime) -> int:
    """Delete events created before ``older_than`` and note the highest id deleted. The newest
    event is always kept, so SQLite (which reuses ids above the highest row) never hands out an
    id a reader has already passed."""
    newest = await max_event_id(session)
    doomed = select(Event.id).where(Event.created_at < older_than, Event.id < newest)
    highest = await session.scalar(select(func.max(Event.id)).where(Event.id.in_(doomed)))
    if highest is None:
        return 0
    await session.execute(delete(EventAudience).where(EventAudience.event_id <= highest))
    result = await session.execute(delete(Event).where(Event.id <= highest))
    row = await session.get(ConsumerCheckpoint, PRUNED)
    if row is None:
        session.add(ConsumerCheckpoint(name=PRUNED, last_event_id=highest, state={}))
    else:
        row.last_event_id = max(row.last_event_id, highest)
        row.updated_at = utcnow()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


class Relay:
    """One process's reader of the log: ``poll()`` returns the events not yet emitted."""

    def __init__(
        self,
        db: Database,
        *,
        hold_back: float = 2.0,
        watch: float = 60.0,
        batch: int = BATCH,
        clock: Any = time.monotonic,
    ) -> None:
        self.db = db
        self.cursor = 0
        self.hold_back = hold_back
        self.watch = watch
        self.batch = batch
        self._clock = clock
        self._holes: dict[int, float] = {}  # id -> when first seen missing, below the cursor
        self._open: dict[int, float] = {}  # id -> when first seen missing, above the cursor
        self.more = False  # the last poll read a full batch: there is more to read now

    async def start(self, cursor: int | None = None) -> None:
        """Begin after ``cursor``, or after the newest event in the log."""
        if cursor is None:
            async with self.db.session() as session:
                cursor = await max_event_id(session)
        self.cursor = cursor

    @property
    def waiting(self) -> bool:
        """True while events are held back behind a hole: poll again soon."""
        return bool(self._open)

    async def poll(self) -> list[LoggedEvent]:
        now = self._clock()
        async with self.db.session() as session:
            late = await read_ids(session, list(self._holes))
            fresh = await read_after(session, self.cursor, limit=self.batch)
        emitted: list[LoggedEvent] = []
        held = False
        for event in late:
            self._holes.pop(event.id, None)
            emitted.append(event)
        for event in fresh:
            missing = range(self.cursor + 1, event.id)
            for hole in missing:
                self._open.setdefault(hole, now)
            if any(now - self._open[h] < self.hold_back for h in missing):
                held = True
                break  # hold this one and the rest back: an earlier id may still commit
            for hole in missing:
                self._holes[hole] = self._open.pop(hole)
            self._open.pop(event.id, None)
            self.cursor = event.id
            emitted.append(event)
        self.more = len(fresh) == self.batch and not held
        self._open = {h: t for h, t in self._open.items() if h > self.cursor}
        self._holes = {h: t for h, t in self._holes.items() if now - t < self.watch}
        return emitted
