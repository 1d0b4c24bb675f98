"""One open live socket as the hub sees it: who is on it, and a bounded outbox.

The hub never writes to a socket itself: it *offers* frames to each connection's outbox and the
socket's own task drains it. A client that stops reading (a phone in a tunnel, a stalled TCP
window) fills its outbox; once it holds more than ``max_frames`` frames or ``max_bytes`` bytes
the connection is closed instead of growing, and the client reconnects with its last id and is
replayed what it missed. So one slow reader costs a bounded amount of memory and never delays the
others.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import deque

from domain.access import Principal

MAX_FRAMES = 256
MAX_BYTES = 1 << 20

# Why a connection was closed by the server (sent to the client as the close reason).
SLOW = "slow"
REVOKED = "revoked"
IDLE = "idle"
SHUTDOWN = "shutdown"
GONE = "gone"  # the client closed it


class Connection:
    def __init__(
        self,
        principal: Principal,
        session_token: str,
        language: str,
        *,
        context: object = None,
        max_frames: int = MAX_FRAMES,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.principal = principal
        self.session_token = session_token
        # What the sessions table stores (see domain.people.queries.session_id_for).
        self.session_id = hashlib.sha256(session_token.encode()).hexdigest()
        self.language = language
        # Whatever the render function needs to know of the socket's page (portal's business).
        self.context = context
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self.closed_reason: str | None = None
        self.last_heard = time.monotonic()
        self.next_heartbeat = 0.0
        self.sent = 0
        self._frames: deque[tuple[str, int | None]] = deque()
        self._bytes = 0
        self._wake = asyncio.Event()
        # Ids this connection was already sent by its replay: a late-committing event can reach
        # it live as well, and must not arrive twice.
        self._replayed: set[int] = set()
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
        self._replayed = event_ids
        self.replayed_at = time.monotonic()
        kept = deque(f for f in self._frames if f[1] is None or f[1] not in event_ids)
        self._bytes = sum(len(text) for text, _ in kept)
        self._frames = kept

    def forget_replay(self) -> None:
        """Late commits are over (the relay watches holes for a minute): free the ids."""
        self._replayed = set()

    def offer(self, frame: str, event_id: int | None = None) -> None:
        """Queue a frame, or close the connection if its client has fallen too far behind."""
        if self.closed or (
            event_id is not None and (event_id <= self.floor or event_id in self._replayed)
        ):
            return
        if len(self._frames) >= self.max_frames or self._bytes + len(frame) > self.max_bytes:
            self.close(SLOW)
            return
        self._frames.append((frame, event_id))
        self._bytes += len(frame)
        self._wake.set()

    def close(self, reason: str) -> None:
        if self.closed_reason is None:
            self.closed_reason = reason
            self._frames.clear()
            self._bytes = 0
        self._wake.set()

    def heard(self) -> None:
        """The client said something (a pong): it is alive."""
        self.last_heard = time.monotonic()

    async def next(self) -> str | None:
        """The next frame to send, waiting for one; None once the connection is closed."""
        while not self._frames:
            if self.closed:
                return None
            self._wake.clear()
            await self._wake.wait()
        if self.closed:
            return None
        frame, _ = self._frames.popleft()
        self._bytes -= len(frame)
        self.sent += 1
        return frame
