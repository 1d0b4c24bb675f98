"""Pub/sub over broadcaster, chosen by URL: ``memory://`` in one process, ``redis://`` across
processes and machines.

Pub/sub is only the fast path for wake-ups; the event log is the truth. So a Redis that is down at
start does not stop Atrium: ``connect`` keeps retrying in the background with backoff, and
``ping`` tells the health check what state the connection is in. (broadcaster's own listener
never recovers from a Redis restart — STACK-NOTES trap 2; the live-delivery work supervises it.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import urlsplit

from broadcaster import Broadcast

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 3.0
MAX_BACKOFF = 30.0


class PubSubUnavailable(Exception):
    """Publishing or pinging failed: the pub/sub backend is not reachable."""


class PubSub:
    def __init__(self, url: str) -> None:
        self.url = url
        self.scheme = urlsplit(url).scheme
        self._broadcast = Broadcast(url)
        self._connected = False
        self._retry_task: asyncio.Task[None] | None = None

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
            await asyncio.wait_for(self._broadcast.connect(), CONNECT_TIMEOUT)
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
        if self._retry_task is not None:
            self._retry_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retry_task
        if self._connected:
            with contextlib.suppress(Exception):
                await self._broadcast.disconnect()
            self._connected = False
