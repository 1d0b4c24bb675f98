"""Wake-ups: published after a commit that recorded events (never after a rollback), and a Redis
subscription that survives Redis going away and coming back."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from domain.db import Database
from domain.events import RecordUpdated, record_event
from realtime.pubsub import PubSub, PubSubUnavailable
from realtime.redis_backend import RESUBSCRIBED
from realtime.wakeups import CHANNEL, CommitWakeups
from tests.conftest import REDIS_URL, Backend, require_service
from tests.realtime.test_processes import RedisServer


async def record(db: Database, *, fail: bool = False) -> int:
    async with db.transaction() as session:
        event = await record_event(
            session, RecordUpdated("account", 1, ()), {"role:employee"}, actor_id=None
        )
        if fail:
            raise RuntimeError("rolled back")
        return event.id


async def test_a_commit_with_events_wakes_the_hubs_and_a_rollback_does_not(
    db: Database,
) -> None:
    pubsub = PubSub("memory://")
    await pubsub.connect()
    heard: list[str] = []
    pubsub.listen(CHANNEL, heard.append)
    local: list[int] = []
    wakeups = CommitWakeups(db, pubsub)
    wakeups.listen(lambda: local.append(1))
    try:
        async with wakeups.installed():
            await asyncio.sleep(0.05)  # the subscription is up
            event_id = await record(db)
            with pytest.raises(RuntimeError):
                await record(db, fail=True)
            async with db.transaction() as session:  # a transaction with no event: no wake-up
                await session.execute(select(1))
            for _ in range(100):
                if heard:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)  # time for the wake-up's own copy to come back
        assert heard == [f"{wakeups.origin} {event_id}"]
        assert local == [1]  # woken at the commit; its copy through pub/sub is not a second
    finally:
        await pubsub.disconnect()


async def test_a_process_is_woken_by_the_others_commits(backend: Backend) -> None:
    """Two processes' wake-ups on one pub/sub (two engines stand for two processes): each
    process's callbacks run once per commit, whoever committed."""
    pubsub = PubSub("memory://")
    await pubsub.connect()
    here, there = Database(backend.database_url), Database(backend.database_url)
    woken: dict[str, list[int]] = {"here": [], "there": []}
    wakeups = {"here": CommitWakeups(here, pubsub), "there": CommitWakeups(there, pubsub)}
    wakeups["here"].listen(lambda: woken["here"].append(1))
    wakeups["there"].listen(lambda: woken["there"].append(1))
    try:
        async with wakeups["here"].installed(), wakeups["there"].installed():
            await asyncio.sleep(0.05)
            await record(here)
            for _ in range(100):
                if woken["there"]:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)
        assert woken == {"here": [1], "there": [1]}
    finally:
        await pubsub.disconnect()
        await here.dispose()
        await there.dispose()


async def test_the_redis_listener_comes_back_after_a_restart(tmp_path: Path) -> None:
    require_service(REDIS_URL, 6379, "Redis")
    redis = RedisServer(tmp_path)
    redis.start()
    pubsub = PubSub(redis.url)
    heard: asyncio.Queue[str] = asyncio.Queue()
    try:
        await pubsub.connect()
        pubsub.listen("test-channel", heard.put_nowait)
        assert await asyncio.wait_for(heard.get(), 10) == RESUBSCRIBED
        await pubsub.publish("test-channel", "one")
        assert await asyncio.wait_for(heard.get(), 5) == "one"

        redis.stop()
        with pytest.raises(PubSubUnavailable):
            await pubsub.publish("test-channel", "lost")
        redis.start()
        # The listener reconnects and resubscribes by itself, and says so.
        assert await asyncio.wait_for(heard.get(), 15) == RESUBSCRIBED
        await pubsub.publish("test-channel", "two")
        assert await asyncio.wait_for(heard.get(), 5) == "two"
        assert pubsub.backend is not None and pubsub.backend.reconnects == 2
    finally:
        await pubsub.disconnect()
        redis.stop()
