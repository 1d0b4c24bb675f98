"""Record the reader's live cursor before a page renders anything.

A page must name the last event it already reflects, and that id must be taken *before* the
page reads its content: an event committed between the two reaches the browser through the
socket's replay instead of slipping through. So this middleware, outermost of the app's own,
stores the hub's horizon in ``scope["state"]["live_after"]`` as each GET request starts;
base.html writes it on ``<body data-live-after>`` and static/js/live.js connects with it.

The horizon (every id up to it dispatched by this process's hub) rather than the log's newest
id: an id handed out but not yet committed could otherwise be passed over for good.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send


class LiveCursorMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            state: dict[str, Any] = scope.setdefault("state", {})
            hub = state.get("hub")
            if hub is not None and not scope["path"].startswith("/static/"):
                state["live_after"] = hub.horizon
        await self.app(scope, receive, send)
