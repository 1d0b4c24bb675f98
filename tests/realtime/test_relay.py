"""The relay reads the log in id order and loses nothing to ids that commit out of order; retention
prunes old events and remembers how far it went."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from domain.db import Database, utcnow
from domain.events import Event, EventAudience, RecordUpdated, record_event
from realtime.relay import Relay, max_event_id, prune_events, pruned_through
from tests.conftest import Backend


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def put(db: Database, event_id: int, *, days_ago: float = 0) -> None:
    """Commit an event with a chosen id, as if its transaction committed now."""
    async with db.transaction() as session:
        session.add(
            Event(
                id=event_id,
                kind=RecordUpdated.kind,
                payload={"record_kind": "account", "record_id": 1, "fields": []},
                actor_id=None,
                created_at=utcnow() - timedelta(days=days_ago),
            )
        )
        await session.flush()
        session.add(EventAudience(token="role:employee", event_id=event_id))


def emitted_ids(events: list) -> list[int]:  # type: ignore[type-arg]
    return [e.id for e in events]


async def test_reads_in_id_order_with_audiences(db: Database) -> None:
    relay = Relay(db)
    await relay.start(0)
    for event_id in (1, 2, 3):
        await put(db, event_id)
    events = await relay.poll()
    assert emitted_ids(events) == [1, 2, 3]
    assert events[0].audience == frozenset({"role:employee"})
    assert await relay.poll() == []


async def test_an_id_committed_after_a_higher_one_is_not_lost(db: Database) -> None:
    """101 commits before 100: 101 is held back until 100 commits, then both go, in order."""
    clock = Clock()
    relay = Relay(db, hold_back=1.0, clock=clock)
    await relay.start(99)
    await put(db, 101)
    assert await relay.poll() == [], "101 waits: 100 may still be committing"
    assert relay.waiting
    clock.now += 0.2
    await put(db, 100)
    assert emitted_ids(await relay.poll()) == [100, 101]
    assert not relay.waiting


async def test_a_hole_that_stays_open_is_passed_but_still_watched(db: Database) -> None:
    """A rolled-back id never commits: after the hold-back the later ids go on; should the
    missing one commit late after all, it is still delivered."""
    clock = Clock()
    relay = Relay(db, hold_back=1.0, watch=60.0, clock=clock)
    await relay.start(99)
    await put(db, 101)
    await put(db, 102)
    assert await relay.poll() == []
    clock.now += 1.5
    assert emitted_ids(await relay.poll()) == [101, 102]
    await put(db, 100)  # a very slow transaction
    assert emitted_ids(await relay.poll()) == [100]
    assert await relay.poll() == []


async def test_concurrent_transactions_committing_out_of_order(
    db: Database, backend: Backend
) -> None:
    """Two open transactions, the later id commits first (PostgreSQL); SQLite makes the second
    writer wait for the first (BEGIN IMMEDIATE), so there its ids simply commit in order. Either
    way the relay emits both, in id order."""
    relay = Relay(db, hold_back=5.0)
    await relay.start()
    first_recorded = asyncio.Event()
    release_first = asyncio.Event()

    async def record(record_id: int) -> int:
        async with db.transaction() as session:
            event = await record_event(
                session, RecordUpdated("account", record_id, ()), {"x"}, actor_id=None
            )
            if record_id == 1:
                first_recorded.set()
                await release_first.wait()
            return event.id

    slow = asyncio.create_task(record(1))
    await first_recorded.wait()
    fast = asyncio.create_task(record(2))
    if backend.name == "postgres":
        fast_id = await fast
        assert await relay.poll() == [], "the later id waits for the earlier one"
        release_first.set()
        slow_id = await slow
    else:
        release_first.set()
        slow_id, fast_id = await slow, await fast
    assert slow_id < fast_id
    assert emitted_ids(await relay.poll()) == [slow_id, fast_id]


async def test_pruning_keeps_the_window_and_the_newest_event(db: Database) -> None:
    await put(db, 1, days_ago=30)
    await put(db, 2, days_ago=10)
    await put(db, 3, days_ago=1)
    async with db.transaction() as session:
        assert await prune_events(session, utcnow() - timedelta(days=7)) == 2
    async with db.session() as session:
        assert await pruned_through(session) == 2
        assert await max_event_id(session) == 3
    # Everything old: the newest stays, so ids never start again below a reader's cursor.
    async with db.transaction() as session:
        assert await prune_events(session, utcnow() + timedelta(days=1)) == 0
    async with db.session() as session:
        assert await max_event_id(session) == 3
