"""Comments on posts as pages and fragments: the comments region of a post, add (or reply, one
level deep), edit, delete, and a comment's earlier versions.

Every write answers, with htmx, the whole comments region of the post re-rendered
(``comments-<post id>``), so applying an answer twice is harmless; without htmx it answers 303
to the post page at the comment. A rejected comment comes back in the region with its message and
422 (without htmx, on the post page). Comments of a post the reader may not see answer 404.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from domain.access import Principal
from domain.errors import NotFound, ValidationFailed
from domain.posts.comments import do_add_comment, do_delete_comment, do_edit_comment
from domain.posts.queries import access_comment, list_comments, list_revisions
from portal.auth.guards import require_principal
from portal.forms import read_form
from portal.i18n import gettext as _
from portal.routes.composer import (
    fragment_or_page,
    is_htmx,
    new_client_key,
    parse_id,
    translated,
)
from portal.routes.posts import post_id_of, post_view, record_summaries
from portal.state import app_state

BODY_MAX = 20_000


def comment_id_of(request: Request) -> int:
    comment_id: int = request.path_params["id"]
    if not 0 < comment_id < 2**31:
        raise NotFound(str(comment_id))
    return comment_id


async def render_comments(
    request: Request,
    principal: Principal,
    post_id: int,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    parent_id: int | None = None,
) -> Response:
    """The comments region (htmx) or the post page with it (a plain request)."""
    async with app_state(request)["db"].session() as session:
        view = await post_view(session, principal, post_id)
        comments = await list_comments(session, principal, post_id)
        summaries = {} if is_htmx(request) else await record_summaries(session, principal, view)
    context: dict[str, Any] = {
        "view": view,
        "comments": comments,
        "record_summaries": summaries,
        "comment_key": new_client_key(),
        "comment_errors": translated(errors or {}),
        "comment_values": values or {},
        "comment_parent": parent_id,
    }
    return fragment_or_page(
        request, "posts/_comments.html", "posts/post.html", context, status_code=status_code
    )


def to_comment(request: Request, post_id: int, comment_id: int | None = None) -> Response:
    target = request.url_for("post", id=post_id).path
    anchor = f"#comment-{comment_id}" if comment_id else f"#comments-{post_id}"
    return RedirectResponse(target + anchor, status_code=303)


async def comments_region(request: Request) -> Response:
    principal = require_principal(request)
    return await render_comments(request, principal, post_id_of(request))


async def add_comment(request: Request) -> Response:
    principal = require_principal(request)
    post_id = post_id_of(request)
    form = await read_form(request, {"body": BODY_MAX, "parent_id": 20, "client_key": 64})
    errors = dict(form.errors)
    parent_id = parse_id(form.values.get("parent_id", ""), "parent_id", errors)
    db = app_state(request)["db"]
    comment = None
    if not errors:
        try:
            async with db.transaction() as session:
                comment = await do_add_comment(
                    session,
                    principal,
                    post_id,
                    form.values.get("body", ""),
                    parent_id=parent_id,
                    client_key=form.values.get("client_key", "").strip() or None,
                )
        except ValidationFailed as exc:
            errors = dict(exc.errors)
    if errors or comment is None:
        return await render_comments(
            request,
            principal,
            post_id,
            status_code=422,
            errors=errors,
            values=form.values,
            parent_id=parent_id,
        )
    if not is_htmx(request):
        return to_comment(request, post_id, comment.id)
    return await render_comments(request, principal, post_id)


async def edit_comment(request: Request) -> Response:
    principal = require_principal(request)
    comment_id = comment_id_of(request)
    form = await read_form(request, {"body": BODY_MAX})
    db = app_state(request)["db"]
    async with db.session() as session:
        post_id = (await access_comment(session, principal, comment_id)).post_id
    errors = dict(form.errors)
    if not errors:
        try:
            async with db.transaction() as session:
                await do_edit_comment(session, principal, comment_id, form.values["body"])
        except ValidationFailed as exc:
            errors = dict(exc.errors)
    if errors:
        return await render_comments(
            request, principal, post_id, status_code=422, errors=errors, values={}
        )
    if not is_htmx(request):
        return to_comment(request, post_id, comment_id)
    return await render_comments(request, principal, post_id)


async def delete_comment(request: Request) -> Response:
    principal = require_principal(request)
    comment_id = comment_id_of(request)
    async with app_state(request)["db"].transaction() as session:
        comment = await do_delete_comment(session, principal, comment_id)
    if not is_htmx(request):
        return to_comment(request, comment.post_id)
    return await render_comments(request, principal, comment.post_id)


async def comment_history(request: Request) -> Response:
    principal = require_principal(request)
    comment_id = comment_id_of(request)
    async with app_state(request)["db"].session() as session:
        comment = await access_comment(session, principal, comment_id)
        revisions = await list_revisions(session, principal, comment_id=comment_id)
    context = {
        "title": _("Earlier versions of this comment"),
        "current": comment,
        "revisions": revisions,
        "back": request.url_for("post", id=comment.post_id).path + f"#comment-{comment.id}",
    }
    return fragment_or_page(request, "posts/_history.html", "posts/history.html", context)


routes = [
    Route("/posts/{id:int}/comments", comments_region, methods=["GET"], name="post_comments"),
    Route("/posts/{id:int}/comments", add_comment, methods=["POST"], name="comment_create"),
    Route("/comments/{id:int}/edit", edit_comment, methods=["POST"], name="comment_edit"),
    Route("/comments/{id:int}/delete", delete_comment, methods=["POST"], name="comment_delete"),
    Route("/comments/{id:int}/history", comment_history, methods=["GET"], name="comment_history"),
]
