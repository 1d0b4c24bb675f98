"""Helpers for the live-delivery tests: the real app behind an in-process uvicorn (same event
loop as the test, so the test can write through the app's own database and see its hub), and a
websocket client that reads frames and proves absence with marker events.

A *marker* is an event sent after the events under test, to an audience the socket is in: the
hub dispatches in id order, so once the marker's frame has arrived every earlier event has been
dealt with — whatever did not arrive by then never will. No sleeps.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
import websockets
from starlette.types import Receive, Scope, Send

from domain.access import user_token
from domain.db import Database
from domain.events import RecordUpdated, record_event
from portal.app import create_app
from portal.serving import uvicorn_options
from portal.settings import Settings
from portal.state import AppState
from tests.conftest import CSRF_RE, PASSWORD

FRAME_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveApp:
    base_url: str
    state: AppState

    @property
    def db(self) -> Database:
        return self.state["db"]

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/ws"

    def browser(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=10.0)

    async def sign_in(self, email: str, password: str = PASSWORD) -> str:
        """Sign in through HTTP; the session cookie."""
        async with self.browser() as client:
            page = await client.get("/login")
            match = CSRF_RE.search(page.text)
            assert match
            response = await client.post(
                "/login", data={"email": email, "password": password, "csrf_token": match[1]}
            )
            assert response.status_code == 303, response.text
            return client.cookies["atrium_session"]

    async def connect(
        self, cookie: str | None, *, after: int | None = None, origin: str | None = None
    ) -> LiveSocket:
        cursor = self.state["hub"].horizon if after is None else after
        headers = {"Origin": origin or self.base_url}
        if cookie is not None:
            headers["Cookie"] = f"atrium_session={cookie}"
        conn = await websockets.connect(
            f"{self.ws_url}?after={cursor}",
            additional_headers=headers,
            max_size=None,
            open_timeout=10,
        )
        return LiveSocket(conn)

    async def marker(self, user_id: int) -> int:
        """Record an event only ``user_id`` may hear of; its id."""
        async with self.db.transaction() as session:
            event = await record_event(
                session, RecordUpdated("marker", user_id, ()), {user_token(user_id)}, actor_id=None
            )
            return event.id


@asynccontextmanager
async def live_app(settings: Settings, *, direct: bool = True) -> AsyncIterator[LiveApp]:
    """The app with its lifespan, served by uvicorn on a free loopback port — with the options
    of ``atrium serve`` (the hub writes to sockets directly), or with ``direct=False`` as plain
    uvicorn serves it (each socket drains its queue in its own task)."""
    app = create_app(settings)
    async with app.router.lifespan_context(app) as state:
        assert state is not None

        async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
            scope["state"] = dict(state)
            await app(scope, receive, send)

        port = free_port()
        options = uvicorn_options() if direct else {"ws": "websockets-sansio"}
        config = uvicorn.Config(
            asgi, host="127.0.0.1", port=port, lifespan="off", log_level="warning", **options
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:
            assert not task.done(), "uvicorn did not start"
            await asyncio.sleep(0.01)
        try:
            yield LiveApp(f"http://127.0.0.1:{port}", state)  # type: ignore[arg-type]
        finally:
            server.should_exit = True
            await task


@dataclass
class LiveSocket:
    conn: Any
    frames: list[dict[str, Any]] = field(default_factory=list)

    async def next(self, within: float = FRAME_TIMEOUT) -> dict[str, Any]:
        while True:
            raw = await asyncio.wait_for(self.conn.recv(), within)
            frame: dict[str, Any] = json.loads(raw)
            if frame["kind"] == "heartbeat":
                continue
            self.frames.append(frame)
            return frame

    async def until(self, event_id: int, within: float = FRAME_TIMEOUT) -> list[dict[str, Any]]:
        """Frames up to and including the one of ``event_id``."""
        got = []
        while True:
            frame = await self.next(within)
            got.append(frame)
            if frame["id"] == event_id:
                return got

    async def close(self) -> None:
        await self.conn.close()

    async def closed_code(self, within: float = FRAME_TIMEOUT) -> int:
        """Wait until the server closes the socket; its close code."""
        try:
            while True:
                await asyncio.wait_for(self.conn.recv(), within)
        except websockets.ConnectionClosed as closed:
            return int(closed.rcvd.code if closed.rcvd else 1006)


def ids(frames: Iterable[dict[str, Any]]) -> list[int]:
    return [f["id"] for f in frames if f.get("id") is not None]
