"""After a commit that appended events, wake every hub: this process's at once, the others'
through pub/sub.

Domain actions record events with ``domain.events.record_event`` inside the caller's
transaction and know nothing of delivery. ``CommitWakeups.install(db)`` hooks the database's
sessions instead: a flush that inserts ``Event`` rows notes their ids on the session, and when
that session *commits* the highest id is handed on — never before the commit (a wake-up for an
event nobody can read yet would be wasted, or worse, skip it) and never after a rollback.

A wake-up says which process committed and the event id (``"<origin> <id>"``); readers use
it only as a prompt to read the log, never for its content.

Publishing runs in a task after the commit: a Redis outage costs the wake-up, never the write;
the hubs' polling finds the event a moment later.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from domain.db import Database
from domain.events import Event
from realtime.pubsub import PubSub, PubSubUnavailable

log = logging.getLogger(__name__)

CHANNEL = "atrium.events"
DRAIN_SECONDS = 2.0
_KEY = "atrium_event_ids"

# Engine pool -> what to call with the highest committed event id. Keyed by pool, because a
# write session is bound to an engine *with options*, a different object sharing the pool.
_hooks: dict[int, Callable[[int], None]] = {}


def _pool_key(session: Session) -> int | None:
    bind: Any = session.bind
    pool = getattr(bind, "pool", None)
    return id(pool) if pool is not None else None


@event.listens_for(Session, "after_flush")
def _note_events(session: Session, _context: Any) -> None:
    if _pool_key(session) not in _hooks:
        return
    ids = [obj.id for obj in session.new if isinstance(obj, Event) and obj.id is not None]
    if ids:
        noted: list[int] = session.info.setdefault(_KEY, [])
        noted.extend(ids)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    ids: list[int] = session.info.pop(_KEY, [])
    hook = _hooks.get(_pool_key(session) or 0)
    if ids and hook is not None:
        hook(max(ids))


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, _previous: Any) -> None:
    session.info.pop(_KEY, None)


class CommitWakeups:
    """Wire one database's commits to this process's wake-up callbacks (the hub's, the search
    indexer's) and, through a pub/sub channel, to every other process's.

    A wake-up names the process it came from: a process's own commits wake its callbacks at
    commit time, so the copy that comes back through pub/sub is dropped instead of making every
    reader look at the log a second time for nothing."""

    def __init__(self, db: Database, pubsub: PubSub) -> None:
        self.db = db
        self.pubsub = pubsub
        self.origin = secrets.token_hex(8)
        self._callbacks: list[Callable[[], None]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.published = 0
        self.failed = 0

    def listen(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every commit that appended events, in any process, and
        when pub/sub comes back after an outage (whatever was published meanwhile is lost)."""
        if not self._callbacks:
            self.pubsub.listen(CHANNEL, self._heard)
        self._callbacks.append(callback)

    @asynccontextmanager
    async def installed(self) -> AsyncIterator[None]:
        """Hook the database's commits while the context is open; at its end, let the
        wake-ups still being published finish."""
        self.install()
        try:
            yield
        finally:
            self.uninstall()
            await self.drain()

    def install(self) -> None:
        _hooks[id(self.db.engine.sync_engine.pool)] = self._committed

    def uninstall(self) -> None:
        _hooks.pop(id(self.db.engine.sync_engine.pool), None)

    async def drain(self) -> None:
        """Let wake-ups still being published finish (or cancel them after ``DRAIN_SECONDS``), so
        none outlives the pub/sub connection it publishes on."""
        pending = set(self._tasks)
        if not pending:
            return
        _done, late = await asyncio.wait(pending, timeout=DRAIN_SECONDS)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    def _wake(self) -> None:
        for callback in self._callbacks:
            callback()

    def _heard(self, message: str) -> None:
        if message.startswith(self.origin + " "):
            return  # our own commit: its callbacks ran when it committed
        self._wake()

    def _committed(self, event_id: int) -> None:
        self._wake()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self._publish(event_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish(self, event_id: int) -> None:
        try:
            await self.pubsub.publish(CHANNEL, f"{self.origin} {event_id}")
            self.published += 1
        except PubSubUnavailable as exc:
            self.failed += 1
            log.info("wake-up for event %s not published (%s); pollers will find it", event_id, exc)
