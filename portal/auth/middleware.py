"""Identify the browser behind each request from its session cookie.

A valid cookie puts the user, their principal (audience tokens) and the session token into
``scope["state"]``; an unknown, expired or revoked one is cleared. Anonymous browsers get an
``atrium_anon`` cookie so that the CSRF token of the login form is bound to them. The session's
expiry (on the server and in the browser's cookie) slides forward at most every few minutes, not
on every request.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.access import load_principal
from domain.db import utcnow
from domain.people.actions import do_touch_session
from domain.people.queries import user_for_session
from portal.auth.cookies import (
    ANON_COOKIE,
    ANON_MAX_AGE,
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    clear_cookie_header,
    cookie_header,
)
from portal.auth.csrf import csrf_token_for

TOUCH_INTERVAL = timedelta(minutes=5)


class AuthMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        if scope["path"].startswith("/static/") or "db" not in state:
            await self.app(scope, receive, send)
            return

        conn = HTTPConnection(scope)
        secure = conn.url.scheme in ("https", "wss")
        settings = state["settings"]
        db = state["db"]
        token = conn.cookies.get(SESSION_COOKIE)
        set_cookies: list[str] = []

        state["user"] = state["principal"] = state["session_token"] = None
        if token:
            now = utcnow()
            async with db.session() as session:
                found = await user_for_session(session, token, now)
                if found is not None:
                    _auth_session, user = found
                    state["user"] = user
                    state["principal"] = await load_principal(session, user)
                    state["session_token"] = token
            if found is None:
                set_cookies.append(clear_cookie_header(SESSION_COOKIE, secure=secure))
            elif now - found[0].last_seen_at > TOUCH_INTERVAL:
                async with db.transaction() as session:
                    await do_touch_session(session, token, now)
                # The browser's copy slides too: otherwise it drops the cookie SESSION_MAX_AGE
                # after sign-in, however active the user is.
                set_cookies.append(
                    cookie_header(SESSION_COOKIE, token, max_age=SESSION_MAX_AGE, secure=secure)
                )

        if state["principal"] is not None:
            bound_to = token or ""
        else:
            bound_to = conn.cookies.get(ANON_COOKIE) or ""
            if len(bound_to) < 16:
                bound_to = secrets.token_urlsafe(24)
                set_cookies.append(
                    cookie_header(ANON_COOKIE, bound_to, max_age=ANON_MAX_AGE, secure=secure)
                )
        state["csrf_token"] = csrf_token_for(settings.secret_key, bound_to)

        if not set_cookies or scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                already = {v.split("=", 1)[0] for k, v in headers.items() if k == "set-cookie"}
                for value in set_cookies:
                    if value.split("=", 1)[0] not in already:
                        headers.append("set-cookie", value)
            await send(message)

        await self.app(scope, receive, send_with_cookies)
