"""``/ws?after=<event id>``: the one live socket of a page.

Who may open it is decided exactly as for a page: the session cookie, through the same
middleware and predicate (a live session of an active user — deactivated users, ended sessions
and contacts whose portal access was revoked are refused). A cross-site page cannot open it: the
``Origin`` header must be this site's own (cookies ride along on websocket handshakes, so without
this check any site could read a signed-in user's live feed). A refusal happens before the
handshake completes, which the browser sees as a failed connection (HTTP 403).

After accepting, the socket is first replayed everything after ``after`` its principal may see,
in order — or sent one ``reload`` frame when that gap cannot be replayed — and then gets live
frames. Under ``atrium serve`` the endpoint then hands the socket to the hub and returns
(``realtime.wire``): live frames are written to it directly, and an idle socket keeps no task.
Elsewhere it stays, sending the connection's queued frames. The client answers heartbeats with
any message; what it sends is never interpreted further. The server closes with code 4000 when
the client fell too far behind (reconnect and replay), 4001 when its session ended (reload: the
page will ask to sign in again).
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from portal.live.render import viewer_for
from portal.state import app_state, principal_of, session_token_of
from realtime.connection import GONE, SHUTDOWN, Connection, close_code
from realtime.hub import RELOAD
from realtime.wire import EXTENSION, MAX_CLIENT_MESSAGE, DirectWebSocketProtocol

POLICY_VIOLATION = 1008


def _origin_ok(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    host = websocket.headers.get("host")
    if not origin or not host:
        return False
    scheme = "https" if websocket.url.scheme == "wss" else "http"
    return origin == f"{scheme}://{host}"


def _after(websocket: WebSocket) -> int | None:
    raw = websocket.query_params.get("after", "")
    if not raw.isdigit() or len(raw) > 18:
        return None
    return int(raw)


async def live_socket(websocket: WebSocket) -> None:
    principal = principal_of(websocket)
    token = session_token_of(websocket)
    after = _after(websocket)
    if principal is None or token is None or after is None or not _origin_ok(websocket):
        await websocket.close(code=POLICY_VIOLATION)
        return
    hub = app_state(websocket)["hub"]
    scope_state = websocket.scope.get("state", {})
    viewer = viewer_for(
        scope_state.get("language", "en"),
        "https" if websocket.url.scheme == "wss" else "http",
        websocket.headers.get("host", ""),
    )
    # The socket may stay open for days: drop what only the handshake needed (the ORM user).
    scope_state.pop("user", None)
    await websocket.accept()
    conn = Connection(principal, token, context=viewer)
    direct = websocket.scope.get("extensions", {}).get(EXTENSION)
    handed_over = False
    try:
        missed = await hub.attach(conn, after)
        if missed is None:
            await websocket.send_text(RELOAD)
            await websocket.close()
            return
        for text in missed:
            await websocket.send_text(text)
        if isinstance(direct, DirectWebSocketProtocol):
            # From now on the hub writes to the socket itself; the socket's end closes the
            # connection, and the hub's housekeeping drops it.
            conn.go_direct(direct)
            direct.detach(conn)
            handed_over = True
            return
        await _pump(websocket, conn)
    except WebSocketDisconnect:
        pass
    finally:
        if not handed_over:
            hub.remove(conn)
            conn.close(SHUTDOWN)


async def _pump(websocket: WebSocket, conn: Connection) -> None:
    """Send the connection's frames until it closes; a task beside it reads the client's
    heartbeats, and closes the connection when the client goes."""

    async def listen() -> None:
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text") or message.get("bytes") or ""
                if len(text) > MAX_CLIENT_MESSAGE:
                    break
                conn.heard()
        finally:
            conn.close(GONE)

    listener = asyncio.create_task(listen())
    try:
        while (text := await conn.next()) is not None:
            await websocket.send_text(text)
        reason = conn.closed_reason
        if reason is not None and reason != GONE:
            with contextlib.suppress(Exception):
                await websocket.close(code=close_code(reason), reason=reason)
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await listener


routes = [WebSocketRoute("/ws", live_socket, name="live_socket")]
