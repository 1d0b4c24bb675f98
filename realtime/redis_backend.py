"""A broadcaster backend for Redis that survives Redis going away.

broadcaster's own Redis backend has two traps (STACK-NOTES 1 and 2): with redis-py 8 it signals
ready before its SUBSCRIBE has registered and then never listens; and after any connection error
its listener task dies unobserved, so subscribers wait forever. This backend owns its listener
and supervises it: the listener subscribes *before* it reads, and on any error it reconnects with
exponential backoff (capped, jittered) and subscribes again to every channel it was asked for.

Messages published while Redis is down are lost — pub/sub by design; Atrium only sends wake-ups
this way and every hub also polls the event log, so an outage delays delivery and loses nothing.
``reconnects`` counts the subscriptions made (1 after the first); after each one, every channel
gets a ``"resubscribed"`` message so that its subscribers catch up from the log at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import Any

from broadcaster import Event
from broadcaster._backends.base import BroadcastBackend
from redis import asyncio as aioredis

from realtime.tasks import cancel_and_wait

log = logging.getLogger(__name__)
_jitter = random.SystemRandom()  # jitter only; SystemRandom keeps the linter's S311 quiet

MAX_BACKOFF = 5.0
SOCKET_TIMEOUT = 5.0
RESUBSCRIBED = "resubscribed"


class SupervisedRedisBackend(BroadcastBackend):
    def __init__(self, url: str) -> None:
        self.url = url
        self._publisher = aioredis.Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=SOCKET_TIMEOUT
        )
        self._channels: set[str] = set()
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._changed = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.reconnects = 0

    async def connect(self) -> None:
        self._listener = asyncio.create_task(self._listen_forever(), name="redis-pubsub-listener")

    async def disconnect(self) -> None:
        await cancel_and_wait(self._listener)
        await self._publisher.aclose()

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)
        self._changed.set()

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)
        self._changed.set()

    async def publish(self, channel: str, message: Any) -> None:
        await self._publisher.publish(channel, message)

    async def next_published(self) -> Event:
        return await self._queue.get()

    async def _listen_forever(self) -> None:
        delay = 0.1
        first = True
        while True:
            try:
                await self._listen_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.connected.clear()
                log.warning("redis pub/sub listener lost its connection: %s", exc)
            if not first:
                await asyncio.sleep(delay * _jitter.uniform(0.5, 1.0))
                delay = min(delay * 2, MAX_BACKOFF)
            first = False
            if self.connected.is_set():
                delay = 0.1

    async def _listen_once(self) -> None:
        client = aioredis.Redis.from_url(
            self.url, socket_connect_timeout=2, socket_timeout=None, health_check_interval=10
        )
        pubsub = client.pubsub()
        try:
            while not self._channels:
                self._changed.clear()
                await self._changed.wait()
            subscribed = set(self._channels)
            await pubsub.subscribe(*subscribed)
            self.connected.set()
            self.reconnects += 1
            # Whatever was published while we were away is gone: tell the subscribers to look
            # at the log now rather than at their next poll.
            for channel in subscribed:
                await self._queue.put(Event(channel=channel, message=RESUBSCRIBED))
            while True:
                if self._changed.is_set():
                    self._changed.clear()
                    added, gone = self._channels - subscribed, subscribed - self._channels
                    if added:
                        await pubsub.subscribe(*added)
                    if gone:
                        await pubsub.unsubscribe(*gone)
                    subscribed = set(self._channels)
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is not None and message["type"] == "message":
                    channel = message["channel"]
                    data = message["data"]
                    await self._queue.put(
                        Event(
                            channel=channel.decode() if isinstance(channel, bytes) else channel,
                            message=data.decode() if isinstance(data, bytes) else str(data),
                        )
                    )
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            with contextlib.suppress(Exception):
                await client.aclose()
