"""One open live socket as the hub sees it: who is on it, and where its frames go.

The hub *offers* frames to connections; how a frame reaches the client depends on the server:

- **direct** (``atrium serve``; see ``realtime.wire``): once the socket is replayed, ``offer``
  writes the frame, encoded once for everyone, straight to the socket's transport. A client that
  stops reading (a phone in a tunnel, a stalled TCP window) leaves bytes in the transport; once
  more than ``max_bytes`` wait there the connection is closed;
- **queued** (any other ASGI server): frames wait in an outbox that the socket's own task drains
  through ``next``; more than ``max_frames`` frames or ``max_bytes`` bytes in it close the
  connection.

While a direct socket is being replayed its live frames wait in the outbox too, and go out after
the replay (``go_direct``). Either way one slow reader costs a bounded amount of memory and never
delays the others: closed, it reconnects with its last id and is replayed what it missed.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import deque
from typing import Protocol

from domain.access import Principal
from realtime.wire import encode_text

# A direct connection's outbox once it is replayed: it holds nothing, and costs nothing.
_NO_FRAMES: deque[tuple[str, int | None]] = deque(maxlen=0)

MAX_FRAMES = 256
MAX_BYTES = 1 << 20

# Why a connection was closed by the server (sent to the client as the close reason).
SLOW = "slow"
REVOKED = "revoked"
IDLE = "idle"
SHUTDOWN = "shutdown"
GONE = "gone"  # the client closed it

CLOSE_BEHIND = 4000  # reconnect with your last id and be replayed
CLOSE_SIGNED_OUT = 4001  # your session ended: reload (the page will ask to sign in)


def close_code(reason: str) -> int:
    return CLOSE_SIGNED_OUT if reason == REVOKED else CLOSE_BEHIND


class Sink(Protocol):
    """A socket the hub may write to directly (``realtime.wire.DirectWebSocketProtocol``)."""

    @property
    def buffered(self) -> int: ...

    def write(self, data: bytes) -> bool: ...

    def close(self, code: int, reason: str = "") -> None: ...


class Connection:
    __slots__ = (
        "_bytes",
        "_frames",
        "_replayed",
        "_wake",
        "closed_reason",
        "context",
        "floor",
        "last_heard",
        "max_bytes",
        "max_frames",
        "next_heartbeat",
        "principal",
        "replayed_at",
        "sent",
        "session_id",
        "sink",
    )

    def __init__(
        self,
        principal: Principal,
        session_token: str,
        *,
        context: object = None,
        max_frames: int = MAX_FRAMES,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.principal = principal
        # What the sessions table stores (see domain.people.queries.session_id_for); the token
        # itself is not kept.
        self.session_id = hashlib.sha256(session_token.encode()).hexdigest()
        # Whatever the render function needs to know of the socket's page (portal's business).
        self.context = context
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self.closed_reason: str | None = None
        self.last_heard = time.monotonic()
        self.next_heartbeat = 0.0
        self.sent = 0
        # Set once a direct socket is replayed; until then (and always, when queued) frames
        # wait in the outbox.
        self.sink: Sink | None = None
        self._frames: deque[tuple[str, int | None]] = deque()
        self._bytes = 0
        self._wake: asyncio.Event | None = None
        # Ids this connection was already sent by its replay: a late-committing event can reach
        # it live as well, and must not arrive twice.
        self._replayed: frozenset[int] = frozenset()
        # Ids up to this one the client has seen already (on another process whose hub was
        # ahead of this one's): not sent again.
        self.floor = 0
        self.replayed_at = 0.0

    @property
    def user_id(self) -> int:
        return self.principal.user_id

    @property
    def closed(self) -> bool:
        return self.closed_reason is not None

    @property
    def pending(self) -> int:
        return len(self._frames)

    def mark_replayed(self, event_ids: set[int]) -> None:
        """The replay sent these: drop any of them already queued live, and any that come."""
        self._replayed = frozenset(event_ids)
        self.replayed_at = time.monotonic()
        kept = deque(f for f in self._frames if f[1] is None or f[1] not in event_ids)
        self._bytes = sum(len(text) for text, _ in kept)
        self._frames = kept

    def forget_replay(self) -> None:
        """Late commits are over (the relay watches holes for a minute): free the ids."""
        self._replayed = frozenset()

    def go_direct(self, sink: Sink) -> None:
        """The replay is out: send what waited meanwhile, and write every later frame directly."""
        if self.closed:
            return
        waiting, self._frames, self._bytes = self._frames, _NO_FRAMES, 0
        self.sink = sink
        for text, event_id in waiting:
            self._write(encode_text(text), event_id)

    def offer(self, frame: str, event_id: int | None = None, wire: bytes | None = None) -> None:
        """Send or queue a frame (``wire``: the same, already encoded by ``encode_text``), or
        close the connection if its client has fallen too far behind."""
        if self.closed_reason is not None or (
            event_id is not None and (event_id <= self.floor or event_id in self._replayed)
        ):
            return
        if self.sink is not None:
            self._write(encode_text(frame) if wire is None else wire, event_id)
            return
        if len(self._frames) >= self.max_frames or self._bytes + len(frame) > self.max_bytes:
            self.close(SLOW)
            return
        self._frames.append((frame, event_id))
        self._bytes += len(frame)
        if self._wake is not None:
            self._wake.set()

    def _write(self, data: bytes, event_id: int | None) -> None:
        sink = self.sink
        assert sink is not None
        if not sink.write(data):
            self.close(GONE)
        elif sink.buffered > self.max_bytes:
            self.close(SLOW)
        else:
            self.sent += 1

    def close(self, reason: str) -> None:
        if self.closed_reason is None:
            self.closed_reason = reason
            self._frames.clear()
            self._bytes = 0
            if self.sink is not None and reason != GONE:
                self.sink.close(close_code(reason), reason)
        if self._wake is not None:
            self._wake.set()

    def heard(self) -> None:
        """The client said something (a pong): it is alive."""
        self.last_heard = time.monotonic()

    def lost(self) -> None:
        """The client went away (the hub's housekeeping takes the connection out of its index)."""
        self.close(GONE)

    async def next(self) -> str | None:
        """The next queued frame to send, waiting for one; None once the connection is closed."""
        while not self._frames:
            if self.closed:
                return None
            if self._wake is None:
                self._wake = asyncio.Event()
            self._wake.clear()
            await self._wake.wait()
        if self.closed:
            return None
        frame, _ = self._frames.popleft()
        self._bytes -= len(frame)
        self.sent += 1
        return frame
