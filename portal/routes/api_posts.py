"""The JSON API for posts, timelines, comments and reactions (version 1).

- ``POST /api/v1/posts`` ``{"body", "group_id"?, "recipient_ids"?, "records"? [{"kind", "id"}],
  "kind"? ("post" | "news"), "news_until"?, "client_key"?, "attachment_ids"?, "poll"? {"kind",
  "options", "closes_at"?, "results"?}}`` → 201 with the post; the same ``client_key`` again
  answers the first post (a retried request makes one post);
- ``GET /api/v1/posts/{id}`` → the post; ``GET /api/v1/timeline?scope=&key=&only=&cursor=&limit=``
  → ``{"items": [...], "next": cursor or null}`` (scopes as in ``portal.routes.timelines``);
- ``GET /api/v1/posts/{id}/comments`` → ``{"items": [...]}`` (replies inside their comment);
  ``POST`` there ``{"body", "parent_id"?, "client_key"?}`` → 201 with the comment;
  ``PATCH /api/v1/comments/{id}`` ``{"body"}`` and ``DELETE /api/v1/comments/{id}``;
- ``GET /api/v1/posts/{id}/reactions`` → ``{"counts", "mine", "people": [{"name", "kind"}]}``;
  ``PUT /api/v1/posts/{id}/reaction`` ``{"kind": "like" | … | null}`` sets (or, with null,
  withdraws) one's reaction — idempotent — and answers the counts.

The pages' rules hold: a post the caller may not see is 404 like a missing one, on every
endpoint. Session-cookie callers send ``X-CSRF-Token`` on writes. Errors are
``{"error": {"status", "message"}}``; a 422 adds ``"fields": {name: message}``. Times are ISO 8601
in UTC; record kinds are singular ("account").
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from domain.errors import NotFound, ValidationFailed
from domain.posts.actions import PostInput, do_create_post
from domain.posts.comments import do_add_comment, do_delete_comment, do_edit_comment
from domain.posts.models import PollKind, PollResults, PostKind, ReactionKind
from domain.posts.polls import PollInput
from domain.posts.queries import CommentView, access_comment, list_comments, list_reactors
from domain.posts.reactions import do_set_reaction
from domain.posts.timeline import TimelineScope, timeline
from domain.posts.views import PostView
from domain.records.audience import RecordKind
from domain.text import N_
from portal.auth.guards import require_principal
from portal.errors import error_response
from portal.i18n import gettext as _
from portal.record_kinds import SLUGS
from portal.routes.polls import poll_json
from portal.routes.posts import post_id_of, post_view
from portal.routes.timelines import CURSOR_MAX, KEY_MAX, SCOPES, check_scope, read_only
from portal.state import app_state

BODY_MAX = 1_000_000
EXPECTED_OBJECT = N_("Send a JSON object.")
BAD_TYPE = N_("This value has the wrong type.")
BAD_VALUE = N_("This value is not allowed.")
BAD_LIMIT = N_("Expected a whole number from 1 to 100.")


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def post_json(view: PostView) -> dict[str, Any]:
    post = view.post
    return {
        "id": post.id,
        "kind": post.kind.value,
        "author": {"id": post.author_id, "name": view.author_name},
        "group": {"id": post.group_id, "name": view.group_name} if post.group_id else None,
        "recipients": [{"id": rid, "name": name} for rid, name in view.recipients],
        "body": post.body,
        "body_html": post.body_html,
        "created_at": iso(post.created_at),
        "edited_at": iso(post.edited_at),
        "pinned_at": iso(post.pinned_at),
        "news_until": iso(post.news_until),
        "comment_count": post.comment_count,
        "reactions": dict(post.reaction_counts or {}),
        "my_reaction": view.my_reaction.value if view.my_reaction else None,
        "records": [{"kind": r.kind, "id": r.id, "title": r.title} for r in view.records],
        "attachments": [
            {
                "id": a.id,
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "is_image": a.is_image,
            }
            for a in view.attachments
        ],
        "poll": poll_json(view.poll) if view.poll else None,
        "shared": post_json(view.shared) if view.shared else None,
        "shared_unavailable": view.shared_unavailable,
        "may_edit": view.may_edit,
        "may_delete": view.may_delete,
        "may_pin": view.may_pin,
    }


def comment_json(view: CommentView) -> dict[str, Any]:
    comment = view.comment
    return {
        "id": comment.id,
        "post_id": comment.post_id,
        "parent_id": comment.parent_id,
        "author": {"id": comment.author_id, "name": view.author_name},
        "body": comment.body,
        "body_html": comment.body_html,
        "created_at": iso(comment.created_at),
        "edited_at": iso(comment.edited_at),
        "may_edit": view.may_edit,
        "may_delete": view.may_delete,
        "replies": [comment_json(r) for r in view.replies],
    }


def invalid(request: Request, errors: dict[str, str]) -> Response:
    fields = {name or "": _(message) for name, message in errors.items()}
    message = "; ".join(f"{name}: {text}" if name else text for name, text in fields.items())
    return JSONResponse(
        {"error": {"status": 422, "message": message, "fields": fields}}, status_code=422
    )


async def read_object(request: Request) -> dict[str, Any]:
    """The JSON object sent, or ValidationFailed (not JSON, not an object)."""
    raw = await request.body()
    try:
        data = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise ValidationFailed({"": EXPECTED_OBJECT})
    return data


class Fields:
    """Typed reads of a JSON object, collecting one message per bad field."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.errors: dict[str, str] = {}

    def text(self, name: str, *, default: str | None = None) -> str | None:
        value = self.data.get(name, default)
        if value is None or isinstance(value, str):
            return value
        self.errors[name] = BAD_TYPE
        return default

    def number(self, name: str) -> int | None:
        value = self.data.get(name)
        if value is None:
            return None
        if type(value) is int and 0 < value < 2**31:
            return value
        self.errors[name] = BAD_VALUE
        return None

    def numbers(self, name: str, most: int = 100) -> tuple[int, ...]:
        value = self.data.get(name)
        if value is None:
            return ()
        if (
            isinstance(value, list)
            and len(value) <= most
            and all(type(v) is int and 0 < v < 2**31 for v in value)
        ):
            return tuple(value)
        self.errors[name] = BAD_VALUE
        return ()

    def moment(self, name: str, value: Any = None) -> datetime | None:
        raw = self.data.get(name) if value is None else value
        if raw is None:
            return None
        try:
            if not isinstance(raw, str):
                raise ValueError(raw)
            moment = datetime.fromisoformat(raw)
        except ValueError:
            self.errors[name] = BAD_VALUE
            return None
        if moment.tzinfo is None:
            self.errors[name] = N_("Give a time with its zone, such as 2026-12-31T17:00:00+00:00.")
            return None
        return moment

    def records(self) -> tuple[tuple[str, int], ...]:
        value = self.data.get("records")
        if value is None:
            return ()
        found: list[tuple[str, int]] = []
        if isinstance(value, list) and len(value) <= 100:
            for item in value:
                if not isinstance(item, dict):
                    break
                name, number = item.get("kind"), item.get("id")
                kind = SLUGS.get(name) if isinstance(name, str) else None
                kind = kind or next((k for k in RecordKind if k.value == name), None)
                if kind is None or type(number) is not int or not 0 < number < 2**31:
                    break
                found.append((kind.value, number))
            else:
                return tuple(found)
        self.errors["records"] = N_('Give records as [{"kind": "account", "id": 31}].')
        return ()

    def poll(self) -> PollInput | None:
        value = self.data.get("poll")
        if value is None:
            return None
        try:
            if not isinstance(value, dict):
                raise ValueError(value)
            options = value.get("options") or ()
            if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
                raise ValueError(options)
            kind = PollKind(str(value.get("kind")))
            results = PollResults(value.get("results") or PollResults.AFTER_VOTE)
        except (ValueError, TypeError):
            self.errors["poll"] = BAD_VALUE
            return None
        closes_at = self.moment("poll", value.get("closes_at")) if value.get("closes_at") else None
        return PollInput(kind=kind, options=tuple(options), closes_at=closes_at, results=results)


# -- posts ---------------------------------------------------------------------------------------


async def create_post(request: Request) -> Response:
    principal = require_principal(request)
    try:
        fields = Fields(await read_object(request))
    except ValidationFailed as exc:
        return error_response(request, 400, _(exc.errors[""]))
    body = fields.text("body", default="") or ""
    kind_raw = fields.text("kind", default="post") or "post"
    try:
        kind = PostKind(kind_raw)
    except ValueError:
        fields.errors["kind"] = BAD_VALUE
        kind = PostKind.POST
    data = PostInput(
        body=body,
        group_id=fields.number("group_id"),
        recipient_ids=fields.numbers("recipient_ids"),
        records=fields.records(),
        kind=kind,
        news_until=fields.moment("news_until"),
        client_key=fields.text("client_key"),
        attachment_ids=fields.numbers("attachment_ids"),
        poll=fields.poll(),
    )
    if fields.errors:
        return invalid(request, fields.errors)
    db = app_state(request)["db"]
    try:
        async with db.transaction() as session:
            post = await do_create_post(session, principal, data)
            # Read in the same transaction: a session of its own costs more than the query.
            view = await post_view(session, principal, post.id)
    except ValidationFailed as exc:
        return invalid(request, exc.errors)
    return JSONResponse(post_json(view), status_code=201)


async def get_post(request: Request) -> Response:
    principal = require_principal(request)
    post_id = post_id_of(request)
    async with app_state(request)["db"].session() as session:
        view = await post_view(session, principal, post_id)
    return JSONResponse(post_json(view))


async def get_timeline(request: Request) -> Response:
    principal = require_principal(request)
    params = request.query_params
    kind = params.get("scope", "personal")
    if kind not in SCOPES:
        return error_response(request, 400, f"scope: {_(BAD_VALUE)}")
    key: int | str | None = params.get("key", "")[:KEY_MAX] or None
    if kind in ("group", "person") and isinstance(key, str) and key.isdigit():
        key = int(key)
    raw_limit = params.get("limit", "20")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
        return error_response(request, 400, f"limit: {_(BAD_LIMIT)}")
    try:
        only = read_only(params.get("only", ""))
        scope = TimelineScope(kind, key)  # type: ignore[arg-type]
        async with app_state(request)["db"].session() as session:
            await check_scope(session, principal, scope)
            page = await timeline(
                session,
                principal,
                scope,
                only=only,
                cursor=params.get("cursor", "")[:CURSOR_MAX] or None,
                limit=int(raw_limit),
            )
    except ValidationFailed as exc:
        message = "; ".join(f"{k}: {_(v)}" for k, v in exc.errors.items())
        return error_response(request, 400, message)
    return JSONResponse({"items": [post_json(v) for v in page.items], "next": page.next})


# -- comments ------------------------------------------------------------------------------------


async def get_comments(request: Request) -> Response:
    principal = require_principal(request)
    post_id = post_id_of(request)
    async with app_state(request)["db"].session() as session:
        comments = await list_comments(session, principal, post_id)
    return JSONResponse({"items": [comment_json(c) for c in comments]})


def _find(views: list[CommentView], comment_id: int) -> CommentView | None:
    for view in views:
        if view.comment.id == comment_id:
            return view
        found = _find(view.replies, comment_id)
        if found is not None:
            return found
    return None


async def _comment_answer(request: Request, post_id: int, comment_id: int, status: int) -> Response:
    principal = require_principal(request)
    async with app_state(request)["db"].session() as session:
        views = await list_comments(session, principal, post_id)
    view = _find(views, comment_id)
    if view is None:
        raise NotFound(f"comment {comment_id}")
    return JSONResponse(comment_json(view), status_code=status)


async def add_comment(request: Request) -> Response:
    principal = require_principal(request)
    post_id = post_id_of(request)
    async with app_state(request)["db"].session() as session:
        await post_view(session, principal, post_id)  # 404 before reading the body
    try:
        fields = Fields(await read_object(request))
    except ValidationFailed as exc:
        return error_response(request, 400, _(exc.errors[""]))
    body = fields.text("body", default="") or ""
    parent_id = fields.number("parent_id")
    client_key = fields.text("client_key")
    if fields.errors:
        return invalid(request, fields.errors)
    try:
        async with app_state(request)["db"].transaction() as session:
            comment = await do_add_comment(
                session, principal, post_id, body, parent_id=parent_id, client_key=client_key
            )
    except ValidationFailed as exc:
        return invalid(request, exc.errors)
    return await _comment_answer(request, post_id, comment.id, 201)


def comment_id_of(request: Request) -> int:
    comment_id: int = request.path_params["id"]
    if not 0 < comment_id < 2**31:
        raise NotFound(str(comment_id))
    return comment_id


async def edit_comment(request: Request) -> Response:
    principal = require_principal(request)
    comment_id = comment_id_of(request)
    db = app_state(request)["db"]
    async with db.session() as session:
        post_id = (await access_comment(session, principal, comment_id)).post_id
    try:
        fields = Fields(await read_object(request))
    except ValidationFailed as exc:
        return error_response(request, 400, _(exc.errors[""]))
    body = fields.text("body", default="") or ""
    if fields.errors:
        return invalid(request, fields.errors)
    try:
        async with db.transaction() as session:
            await do_edit_comment(session, principal, comment_id, body)
    except ValidationFailed as exc:
        return invalid(request, exc.errors)
    return await _comment_answer(request, post_id, comment_id, 200)


async def delete_comment(request: Request) -> Response:
    principal = require_principal(request)
    comment_id = comment_id_of(request)
    async with app_state(request)["db"].transaction() as session:
        await do_delete_comment(session, principal, comment_id)
    return Response(status_code=204)


# -- reactions -----------------------------------------------------------------------------------


async def get_reactions(request: Request) -> Response:
    principal = require_principal(request)
    post_id = post_id_of(request)
    async with app_state(request)["db"].session() as session:
        view = await post_view(session, principal, post_id)
        people = await list_reactors(session, principal, post_id)
    return JSONResponse(
        {
            "counts": dict(view.post.reaction_counts or {}),
            "mine": view.my_reaction.value if view.my_reaction else None,
            "people": [{"name": name, "kind": kind.value} for name, kind in people],
        }
    )


async def set_reaction(request: Request) -> Response:
    principal = require_principal(request)
    post_id = post_id_of(request)
    db = app_state(request)["db"]
    async with db.session() as session:
        await post_view(session, principal, post_id)  # 404 before reading the body
    try:
        data = await read_object(request)
    except ValidationFailed as exc:
        return error_response(request, 400, _(exc.errors[""]))
    raw = data.get("kind")
    kind: ReactionKind | None = None
    if raw is not None:
        try:
            kind = ReactionKind(raw)
        except ValueError:
            return invalid(request, {"kind": BAD_VALUE})
    async with db.transaction() as session:
        counts = await do_set_reaction(session, principal, post_id, kind)
    return JSONResponse({"counts": counts, "mine": kind.value if kind else None})


routes = [
    Route("/api/v1/posts", create_post, methods=["POST"], name="api_post_create"),
    Route("/api/v1/posts/{id:int}", get_post, methods=["GET"], name="api_post"),
    Route("/api/v1/timeline", get_timeline, methods=["GET"], name="api_timeline"),
    Route(
        "/api/v1/posts/{id:int}/comments", get_comments, methods=["GET"], name="api_post_comments"
    ),
    Route(
        "/api/v1/posts/{id:int}/comments", add_comment, methods=["POST"], name="api_comment_create"
    ),
    Route("/api/v1/comments/{id:int}", edit_comment, methods=["PATCH"], name="api_comment_edit"),
    Route(
        "/api/v1/comments/{id:int}", delete_comment, methods=["DELETE"], name="api_comment_delete"
    ),
    Route("/api/v1/posts/{id:int}/reactions", get_reactions, methods=["GET"], name="api_reactions"),
    Route(
        "/api/v1/posts/{id:int}/reaction", set_reaction, methods=["PUT"], name="api_reaction_set"
    ),
]
