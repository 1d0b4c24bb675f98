"""CSRF protection for every unsafe request.

The token is an HMAC of the browser's session token (or, before sign-in, its anonymous cookie),
so it changes at sign-in and cannot be guessed or carried to another browser. Forms send it as
the hidden ``csrf_token`` field; htmx and fetch send the ``X-CSRF-Token`` header, read from the
page's ``<meta name="csrf-token">``.

The middleware reads a form body to find the field, then replays the body to the app. Bodies are
capped here too, so an endless upload gets a 413 instead of filling memory.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal.i18n import gettext as _

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FIELD = "csrf_token"
HEADER = "x-csrf-token"
# The largest file an upload takes (10 MiB, domain.posts.attachments) plus room for the form
# around it, so a file at the limit reaches the limit's own message instead of a generic 413.
MAX_BODY_BYTES = 10 * 1024 * 1024 + 64 * 1024


def csrf_token_for(secret_key: str, bound_to: str) -> str:
    return hmac.new(secret_key.encode(), b"csrf|" + bound_to.encode(), hashlib.sha256).hexdigest()


class CSRFMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        from portal.errors import error_response

        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            response = error_response(Request(scope), 413, _("The request is too large."))
            await response(scope, receive, send)
            return

        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.extend(message.get("body", b""))
            more = message.get("more_body", False)
            if len(body) > MAX_BODY_BYTES:
                response = error_response(Request(scope), 413, _("The request is too large."))
                await response(scope, receive, send)
                return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        expected = scope.get("state", {}).get("csrf_token", "")
        sent = headers.get(HEADER) or await _form_token(scope, headers, bytes(body))
        # Compared as bytes: compare_digest raises TypeError on a non-ASCII str (a 500).
        if not expected or not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
            response = error_response(
                Request(scope),
                403,
                _(
                    "This form has expired or was sent from another site. "
                    "Reload the page and try again."
                ),
            )
            await response(scope, receive, send)
            return
        await self.app(scope, replay, send)


async def _form_token(scope: Scope, headers: Headers, body: bytes) -> str | None:
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
            if key == FIELD:
                return value
        return None
    if content_type == "multipart/form-data":
        sent = False

        async def once() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        request = Request(scope, receive=once)
        try:
            form = await request.form()
        except Exception:  # malformed multipart: no token can be found in it
            return None
        try:
            field_value = form.get(FIELD)
            return field_value if isinstance(field_value, str) else None
        finally:
            await form.close()
    return None
