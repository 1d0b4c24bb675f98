"""Frames straight onto the wire: a uvicorn websocket protocol the hub can write to directly.

Through ASGI, every frame to every socket is an ``await send(...)`` in that socket's own task:
a post that reaches 5,000 sockets wakes 5,000 tasks, and each encodes the same frame again. A
bare ``websockets.broadcast`` does neither — it writes to each transport in one loop. This
protocol gives the hub that loop: it puts itself into the handshake's scope as the
``atrium.direct`` extension, and the live endpoint hands the socket over once it is replayed
(``detach``). From then on:

- the hub writes a frame encoded *once* (``encode_text``) to each socket with ``write``, a
  synchronous ``transport.write`` — server frames are not masked, so the same bytes suit every
  client. Frames go out uncompressed (an unset RSV1 bit is valid even where permessage-deflate
  was negotiated), and ``atrium serve`` does not negotiate it at all: compressing per socket is
  the cost fan-out avoids, and each deflate context would cost more memory than the socket;
- what the client sends (heartbeat answers) goes to a callback, and its going away to another;
- the endpoint's coroutine has returned, so an idle socket holds no task and no suspended
  middleware frames — only this object and the hub's ``Connection``.

A slow reader is seen in ``buffered`` (the transport's unsent bytes) and closed by its
``Connection``, so the kernel's and the transport's buffers bound it as the outbox did.

Servers without this protocol (another ASGI server, plain uvicorn) still work: the endpoint then
keeps its task and queue (``realtime.connection``), only slower.
"""

from __future__ import annotations

from typing import Any, Protocol

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Request

EXTENSION = "atrium.direct"
# Clients send only heartbeat answers; anything longer ends the socket (uvicorn's parser closes
# it with 1009 before buffering it, see portal.serving).
MAX_CLIENT_MESSAGE = 1024


def encode_text(text: str) -> bytes:
    """One unmasked, final, uncompressed text frame: what every client of a server is sent."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


class Listener(Protocol):
    """Who hears of a detached socket (``realtime.connection.Connection``)."""

    def heard(self) -> None: ...

    def lost(self) -> None: ...


class _Discard:
    """Stands in for a detached socket's ASGI queue and flow-control event: uvicorn still tells
    them of a disconnect or a full buffer, and nobody is listening."""

    def put_nowait(self, message: object) -> None:
        pass

    def set(self) -> None:
        pass

    def clear(self) -> None:
        pass


_DISCARD = _Discard()


class DirectWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O websocket protocol, plus the ``atrium.direct`` extension."""

    _listener: Listener | None = None

    # -- the extension ---------------------------------------------------------------------------

    @property
    def open(self) -> bool:
        return self.handshake_complete and not (
            self.close_sent or self.disconnected or self.transport.is_closing()
        )

    @property
    def buffered(self) -> int:
        """Bytes written but not yet taken by the kernel."""
        return self.transport.get_write_buffer_size()

    def write(self, data: bytes) -> bool:
        """Send an encoded frame now; False when the socket is closing (nothing is sent)."""
        if not self.open:
            return False
        self.transport.write(data)
        return True

    def close(self, code: int, reason: str = "") -> None:
        """Start the closing handshake (the transport closes when the client answers, or after
        ``close_timeout``)."""
        if not self.open:
            return
        self.conn.send_close(code, reason)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        self.close_timer = self.loop.call_later(self.close_timeout, self.transport.close)

    def detach(self, listener: Listener) -> None:
        """The endpoint is done with this socket but it stays open: from now on a message from
        the client calls ``listener.heard()`` and the socket's end ``listener.lost()`` (at once,
        if it has ended already). The endpoint must return without closing it."""
        self._listener = listener
        # An idle socket may live for days: let go of what served only the handshake and the
        # endpoint. websockets' parser keeps the handshake request for the socket's life (its
        # headers are most of it); the ASGI queue and the flow-control event have no reader left.
        if self.request is not None:
            self.request.headers.clear()
        self.request = self.response = None  # type: ignore[assignment]
        self.scope = {}  # type: ignore[typeddict-item]
        self.queue = _DISCARD  # type: ignore[assignment]
        self.writable = _DISCARD  # type: ignore[assignment]
        if self.disconnected:
            listener.lost()
        elif self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()

    # -- uvicorn's hooks -------------------------------------------------------------------------

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope: dict[str, Any] | None = getattr(self, "scope", None)  # None: handshake refused
        if scope is not None:
            scope["extensions"][EXTENSION] = self

    def send_receive_event_to_app(self) -> None:
        if self._listener is None:
            super().send_receive_event_to_app()
            return
        self.frames = []
        self._listener.heard()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self._listener is not None:
            self._listener.lost()

    async def run_asgi(self) -> None:
        """As uvicorn's, except that a detached socket stays open when the app returns."""
        try:
            await self.app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            pass
        except BaseException:
            self.logger.exception("Exception in ASGI application\n")
            self.send_500_response()
        else:
            if not self.handshake_complete:
                self.logger.error("ASGI callable returned without completing handshake.")
                self.send_500_response()
        if self.close_timer is None and (self._listener is None or self.disconnected):
            self.transport.close()
