"""Choose the language of each request: the user's choice, else the browser's Accept-Language."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from portal.i18n import LANGUAGES, negotiate, set_language


class LocaleMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        user = state.get("user")
        language = user.language if user is not None and user.language in LANGUAGES else None
        if language is None:
            language = negotiate(Headers(scope=scope).get("accept-language"))
        state["language"] = language
        set_language(language)
        await self.app(scope, receive, send)
