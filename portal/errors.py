"""Error responses: one page for people, one JSON shape for programs, never internals.

API paths and clients that ask for JSON get ``{"error": {"status": ..., "message": ...}}``;
everyone else gets the error page in their language. A 500 says only that something went wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from domain.errors import Forbidden, NotFound, Throttled
from portal.i18n import gettext as _
from portal.middleware.security import apply_security_headers, new_nonce

log = logging.getLogger(__name__)


def wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def default_message(status: int) -> str:
    messages = {
        400: _("The request could not be understood."),
        403: _("You do not have access to this page."),
        404: _("This page does not exist, or you do not have access to it."),
        405: _("This action is not available here."),
        413: _("The request is too large."),
        422: _("Some of the values sent are not valid."),
        429: _("Too many requests. Try again later."),
    }
    return messages.get(status, _("Something went wrong on our side. Please try again later."))


def error_response(
    request: Request,
    status: int,
    message: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
) -> Response:
    message = message or default_message(status)
    if wants_json(request):
        return JSONResponse(
            {"error": {"status": status, "message": message}}, status, headers=headers
        )
    state = request.scope.get("state", {})
    templates = state.get("templates")
    if templates is None:
        return Response(message, status, headers=headers, media_type="text/plain")
    if "csp_nonce" not in state:
        state["csp_nonce"] = new_nonce()
    response: Response = templates.TemplateResponse(
        request,
        "errors/error.html",
        {"status": status, "message": message},
        status_code=status,
        headers=headers,
    )
    return response


async def http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = exc.detail if exc.detail and exc.detail != _default_phrase(exc.status_code) else None
    return error_response(request, exc.status_code, message, headers=exc.headers)


def _default_phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


async def not_found(request: Request, exc: Exception) -> Response:
    return error_response(request, 404)


async def forbidden(request: Request, exc: Exception) -> Response:
    return error_response(request, 403)


async def throttled(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Throttled)
    return error_response(request, 429, headers={"Retry-After": str(exc.retry_after)})


async def server_error(request: Request, exc: Exception) -> Response:
    """The last resort. It sits outside the other middleware, so it sets the headers itself."""
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    nonce = new_nonce()
    request.scope.setdefault("state", {})["csp_nonce"] = nonce
    try:
        response = error_response(request, 500)
    except Exception:  # the error page itself failed: fall back to plain text
        response = Response(default_message(500), 500, media_type="text/plain")
    apply_security_headers(response.headers, nonce, private=True)
    return response


EXCEPTION_HANDLERS = {
    HTTPException: http_exception,
    NotFound: not_found,
    Forbidden: forbidden,
    Throttled: throttled,
    Exception: server_error,
}
