"""Security headers on every response, and the per-response CSP nonce.

The nonce is made before the app runs and put in ``scope["state"]["csp_nonce"]``, so templates
can mark our own ``<script>`` tags; nothing inline runs without it. Pages for a signed-in user are
never stored by a browser or a proxy cache, unless a response says ``Cache-Control: private``
itself (attachments, revalidated on every use).
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def content_security_policy(nonce: str) -> str:
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def apply_security_headers(headers: MutableHeaders, nonce: str, *, private: bool) -> None:
    # A response may bring a policy of its own (a file download adds "sandbox"): it is sent as a
    # second policy, which browsers enforce as well as ours, so it can only restrict further.
    own = headers.get("content-security-policy")
    headers["Content-Security-Policy"] = content_security_policy(nonce)
    if own and own != headers["Content-Security-Policy"]:
        headers.append("Content-Security-Policy", own)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    # A response that declares itself "private" (an attachment: stored, but revalidated with
    # its access check every time) keeps its own caching.
    if private and not headers.get("cache-control", "").startswith("private"):
        headers["Cache-Control"] = "no-store"


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = new_nonce()
        state: dict[str, Any] = scope.setdefault("state", {})
        state["csp_nonce"] = nonce

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                is_static = scope["path"].startswith("/static/")
                private = state.get("principal") is not None and not is_static
                apply_security_headers(headers, nonce, private=private)
            await send(message)

        await self.app(scope, receive, send_with_headers)
