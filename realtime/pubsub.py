"""Pub/sub over broadcaster, chosen by URL: ``memory://`` in one process, ``redis://`` across
processes and machines.

Pub/sub is only the fast path for wake-ups; the event log is the truth. So a Redis that is down
does not stop Atrium: for ``redis://`` broadcaster runs on ``SupervisedRedisBackend``, whose
listener reconnects and resubscribes by itself (broadcaster's own never recovers — STACK-NOTES
traps 1 and 2); ``publish`` raises ``PubSubUnavailable`` while Redis is away, which callers
treat as "the pollers will find it"; ``ping`` tells the health check what state Redis is in.

``listen(channel, callback)`` runs a supervised subscription: the callback gets every message
(wake-ups, and ``"resubscribed"`` after Redis came back) and a failing callback is logged, never
fatal to the subscription.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from broadcaster import Broadcast

from realtime.redis_backend import SupervisedRedisBackend
from realtime.tasks import cancel_and_wait

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 3.0
MAX_BACKOFF = 30.0


class PubSubUnavailable(Exception):
    """Publishing or pinging failed: the pub/sub backend is not reachable."""


class PubSub:
    def __init__(self, url: str) -> None:
        self.url = url
        self.scheme = urlsplit(url).scheme
        self.backend: SupervisedRedisBackend | None = None
        if self.scheme in ("redis", "rediss"):
            self.backend = SupervisedRedisBackend(url)
            self._broadcast = Broadcast(backend=self.backend)
        else:
            self._broadcast = Broadcast(url)
        self._connected = False
        self._retry_task: asyncio.Task[None] | None = None
        self._listeners: list[asyncio.Task[None]] = []

    @property
    def connected(self) -> bool:
        return self._connected

    async def connect(self) -> None:
        """Connect now if possible, else keep trying in the background."""
        if await self._try_connect():
            return
        self._retry_task = asyncio.create_task(self._retry_forever(), name="pubsub-connect")

    async def _try_connect(self) -> bool:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                await self._broadcast.connect()
        except (OSError, TimeoutError, ConnectionError, Exception) as exc:
            log.warning("pub/sub %s not reachable: %s", self.scheme, exc)
            return False
        self._connected = True
        return True

    async def _retry_forever(self) -> None:
        delay = 0.5
        while not await self._try_connect():
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)

    async def publish(self, channel: str, message: str) -> None:
        if not self._connected:
            raise PubSubUnavailable(f"{self.scheme} pub/sub is not connected")
        try:
            await self._broadcast.publish(channel=channel, message=message)
        except Exception as exc:
            raise PubSubUnavailable(str(exc)) from exc

    def listen(self, channel: str, callback: Callable[[str], None]) -> None:
        """Call ``callback(message)`` for every message on ``channel`` until ``disconnect``."""
        self._listeners.append(
            asyncio.create_task(self._listen(channel, callback), name=f"pubsub-listen-{channel}")
        )

    async def _listen(self, channel: str, callback: Callable[[str], None]) -> None:
        delay = 0.5
        while True:
            if not self._connected:
                await asyncio.sleep(0.5)
                continue
            try:
                async with self._broadcast.subscribe(channel) as subscriber:
                    delay = 0.5
                    while True:
                        event = await subscriber.get()
                        try:
                            callback(event.message)
                        except Exception:
                            log.exception("pub/sub callback on %s failed", channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("pub/sub subscription to %s ended: %s", channel, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF)

    async def ping(self) -> None:
        """Raise ``PubSubUnavailable`` unless the backend answers now."""
        if not self._connected:
            raise PubSubUnavailable(f"{self.scheme} pub/sub is not connected")
        if self.scheme in ("redis", "rediss"):
            import redis.asyncio as aioredis

            client = aioredis.from_url(self.url, socket_connect_timeout=2, socket_timeout=2)
            try:
                await client.ping()  # type: ignore[misc]
            except Exception as exc:
                raise PubSubUnavailable(str(exc)) from exc
            finally:
                await client.aclose()

    async def disconnect(self) -> None:
        await cancel_and_wait(*self._listeners, self._retry_task)
        self._listeners.clear()
        if self._connected:
            with contextlib.suppress(Exception):
                await self._broadcast.disconnect()
            self._connected = False
