"""Polls over HTTP: voting, and one post's poll region on its own.

- ``POST /posts/{id}/poll`` (``poll_vote``): the form sends one ``option`` field per chosen
  option (a radio group, checkboxes, or a scale's radios); a JSON body sends
  ``{"option_ids": [...]}``. An htmx request gets the re-rendered region ``poll-<id>``
  (``templates/posts/_poll.html``), with the reason and status 422 when the vote was refused
  (closed, nothing chosen…); a plain form is sent back (303) to the page it came from, at the
  poll; a client asking for JSON gets the poll as JSON (``poll_json``), or an error body.
- ``GET /posts/{id}/poll`` (``poll``): the region alone, as the reader sees it now — or JSON — so
  a page can refresh it when a live event says someone voted (results and one's own votes differ
  per reader, so a rendered region is never broadcast).

A post the reader may not see, or without a poll, answers 404 exactly like a missing one. CSRF is
the middleware's (form field or ``X-CSRF-Token``).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from domain.errors import ValidationFailed
from domain.posts.polls import UNKNOWN_OPTION, PollView, do_vote, poll_view
from portal.auth.guards import require_principal, safe_next
from portal.errors import error_response, wants_json
from portal.i18n import gettext as _
from portal.state import app_state


def poll_json(view: PollView) -> dict[str, Any]:
    return {
        "post_id": view.post_id,
        "kind": view.kind.value,
        "results": view.results.value,
        "closes_at": view.closes_at.isoformat() if view.closes_at else None,
        "closed": view.closed,
        "voter_count": view.voter_count,
        "may_see_results": view.may_see_results,
        "options": [
            {"id": o.id, "label": o.label, "count": o.count, "mine": o.mine} for o in view.options
        ],
    }


def _render(
    request: Request, view: PollView, *, status: int = 200, error: str | None = None
) -> Response:
    return app_state(request)["templates"].TemplateResponse(
        request,
        "posts/_poll.html",
        {"poll": view, "poll_error": error},
        status_code=status,
        headers={"Vary": "Accept"},
    )


async def _current(request: Request, post_id: int) -> PollView:
    principal = require_principal(request)
    async with app_state(request)["db"].session() as session:
        return await poll_view(session, principal, post_id)


async def _chosen(request: Request) -> list[int] | None:
    """The option ids sent, or None when the body cannot be read as ids."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            return None
        values = body.get("option_ids") if isinstance(body, dict) else None
        if not isinstance(values, list):
            return None
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return None
        return list(values)
    try:
        form = await request.form(max_files=0, max_fields=30)
    except (HTTPException, MultiPartException):
        return None
    try:
        raw = [v for v in form.getlist("option") if isinstance(v, str)]
    finally:
        await form.close()
    if not all(v.isascii() and v.isdigit() and len(v) <= 10 for v in raw):
        return None
    return [int(v) for v in raw]


def _back(request: Request, post_id: int) -> str:
    """Where a plain form goes after voting: the page it was sent from (only a path of this
    site), at the poll."""
    referer = urlsplit(request.headers.get("referer", ""))
    same_site = referer.netloc in ("", request.url.netloc)
    path = safe_next(referer.path) if same_site and referer.path else "/"
    query = f"?{referer.query}" if same_site and referer.query and path != "/" else ""
    return f"{path}{query}#poll-{post_id}"


async def vote(request: Request) -> Response:
    principal = require_principal(request)
    post_id: int = request.path_params["id"]
    chosen = await _chosen(request)
    error: str | None = None
    try:
        if chosen is None:
            raise ValidationFailed({"poll": UNKNOWN_OPTION})
        async with app_state(request)["db"].transaction() as session:
            await do_vote(session, principal, post_id, chosen)
    except ValidationFailed as exc:
        error = " ".join(_(message) for message in exc.errors.values())
    if wants_json(request):
        if error:
            return error_response(request, 422, error)
        return JSONResponse(poll_json(await _current(request, post_id)))
    if request.headers.get("hx-request") == "true":
        view = await _current(request, post_id)
        return _render(request, view, status=422 if error else 200, error=error)
    if error:
        return error_response(request, 422, error)
    return RedirectResponse(_back(request, post_id), status_code=303)


async def show(request: Request) -> Response:
    view = await _current(request, request.path_params["id"])
    if wants_json(request):
        return JSONResponse(poll_json(view), headers={"Vary": "Accept"})
    return _render(request, view)


routes = [
    Route("/posts/{id:int}/poll", show, methods=["GET"], name="poll"),
    Route("/posts/{id:int}/poll", vote, methods=["POST"], name="poll_vote"),
]
