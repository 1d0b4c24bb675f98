"""The JSON API of groups, version 1: the pages' rules in the API's shape.

- ``POST /api/v1/groups`` with ``{"name": ..., "visibility": "public" | "private" | "hidden",
  "description": ...}`` (description optional) → 201 with the new group (its ``id`` first) and
  a ``Location`` header. Staff only: customers and partners get 403.
- ``GET /api/v1/groups?q=&mine=&cursor=&limit=`` → ``{"items": [...], "next": cursor}``: the
  groups the reader may find, by name (``q`` searches names, ``mine=true`` keeps their own);
  keyset pages, ``next`` is null on the last one; ``limit`` is 1 to 200, 50 by default.
- ``GET /api/v1/groups/{id}`` → one group with its ``member_count``.
- ``POST /api/v1/groups/{id}/join`` → 200 ``{"group_id", "state", "role"}``: joined
  (``"active"``), asked (``"requested"``), or an invitation accepted.
- ``POST /api/v1/groups/{id}/leave`` → 200 ``{"group_id", "state": null}``: left, request
  withdrawn or invitation declined.

A group is ``{"id", "name", "description", "description_html", "visibility", "mandatory",
"archived", "archived_at", "created_at", "membership": {"state", "role"} | null}``;
``description_html`` is the description through the one sanitising pipeline. Hidden groups
exist only for their members: anyone else gets 404, as for a group that does not exist.

Errors are ``{"error": {"status": ..., "message": ...}}``: 400 for a body that is not a JSON
object or a bad query parameter, 401 when nobody is signed in, 403 with the rule's message
(leaving a mandatory group, the last owner leaving, an archived group), 404, and 422 for invalid
fields, with ``"fields": {name: message}`` added. Calls made with the session cookie send the
``X-CSRF-Token`` header, like the pages' own scripts.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from domain.errors import Forbidden, ValidationFailed
from domain.groups.actions import do_create_group
from domain.groups.membership import do_join_group, do_leave_group
from domain.groups.models import Group, GroupMembership
from domain.groups.queries import access_group, list_groups, member_counts
from domain.markup import render as render_markup
from domain.text import N_
from portal.auth.guards import require_principal
from portal.errors import error_response
from portal.i18n import gettext as _
from portal.routes.groups import CURSOR_MAX, FILTER_MAX, path_id
from portal.state import app_state

BODY_MAX = 64 * 1024
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
FIELDS = {"name": True, "visibility": True, "description": False}  # name -> required
NOT_AN_OBJECT = N_("Send a JSON object.")
NOT_TEXT = N_("Expected text.")
REQUIRED = N_("This field is required.")
BAD_LIMIT = N_("Expected a whole number from 1 to 200.")
BAD_FLAG = N_("Expected true or false.")
FLAGS = {"": False, "false": False, "0": False, "true": True, "1": True}


def group_json(group: Group, membership: GroupMembership | None) -> dict[str, Any]:
    return {
        "id": group.id,
        "name": group.name,
        "description": group.description,
        "description_html": render_markup(group.description).html if group.description else "",
        "visibility": group.visibility.value,
        "mandatory": group.is_mandatory,
        "archived": group.is_archived,
        "archived_at": group.archived_at.isoformat() if group.archived_at else None,
        "created_at": group.created_at.isoformat(),
        "membership": (
            {"state": membership.state.value, "role": membership.role.value}
            if membership is not None
            else None
        ),
    }


def invalid(request: Request, exc: ValidationFailed, status: int = 422) -> Response:
    fields = {name: _(message) for name, message in exc.errors.items()}
    message = "; ".join(f"{name}: {text}" for name, text in fields.items())
    body = {"error": {"status": status, "message": message, "fields": fields}}
    return JSONResponse(body, status)


def refused(request: Request, exc: Forbidden) -> Response:
    return error_response(request, 403, _(str(exc)) if str(exc) else None)


async def read_object(request: Request) -> dict[str, str]:
    """The group's fields from a JSON body; ``ValidationFailed`` names what is wrong."""
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed({"": NOT_AN_OBJECT}) from None
    if not isinstance(body, dict):
        raise ValidationFailed({"": NOT_AN_OBJECT})
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name, required in FIELDS.items():
        value = body.get(name)
        if value is None:
            if required:
                errors[name] = REQUIRED
            values[name] = ""
        elif not isinstance(value, str):
            errors[name] = NOT_TEXT
        else:
            values[name] = value
    if errors:
        raise ValidationFailed(errors)
    return values


async def create(request: Request) -> Response:
    principal = require_principal(request)
    if len(await request.body()) > BODY_MAX:
        return error_response(request, 413)
    try:
        values = await read_object(request)
    except ValidationFailed as exc:
        if "" in exc.errors:
            return error_response(request, 400, _(exc.errors[""]))
        return invalid(request, exc)
    try:
        async with app_state(request)["db"].transaction() as session:
            group = await do_create_group(
                session,
                principal,
                name=values["name"],
                description=values["description"],
                visibility=values["visibility"],
            )
            access = await access_group(session, principal, group.id)
    except ValidationFailed as exc:
        return invalid(request, exc)
    except Forbidden as exc:
        return refused(request, exc)
    location = request.url_for("api_group", id=group.id).path
    return JSONResponse(
        group_json(access.group, access.membership), 201, headers={"Location": location}
    )


def _limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_LIMIT):
        raise ValidationFailed({"limit": BAD_LIMIT})
    return int(raw)


def _flag(raw: str) -> bool:
    if raw.lower() not in FLAGS:
        raise ValidationFailed({"mine": BAD_FLAG})
    return FLAGS[raw.lower()]


async def group_list(request: Request) -> Response:
    principal = require_principal(request)
    params = request.query_params
    try:
        limit = _limit(params.get("limit"))
        mine = _flag(params.get("mine", "")[:10])
        async with app_state(request)["db"].session() as session:
            page = await list_groups(
                session,
                principal,
                mine=mine,
                q=params.get("q", "")[:FILTER_MAX],
                cursor=params.get("cursor", "")[:CURSOR_MAX],
                limit=limit,
            )
    except ValidationFailed as exc:
        return invalid(request, exc, 400)
    items = []
    for row in page.rows:
        item = group_json(row.group, None)
        if row.state is not None and row.role is not None:
            item["membership"] = {"state": row.state.value, "role": row.role.value}
        items.append(item)
    return JSONResponse({"items": items, "next": page.next})


async def group_detail(request: Request) -> Response:
    principal = require_principal(request)
    group_id = path_id(request)
    async with app_state(request)["db"].session() as session:
        access = await access_group(session, principal, group_id)
        counts = await member_counts(session, access)
    body = group_json(access.group, access.membership)
    body["member_count"] = counts.active
    return JSONResponse(body)


async def join(request: Request) -> Response:
    principal = require_principal(request)
    group_id = path_id(request)
    try:
        async with app_state(request)["db"].transaction() as session:
            membership = await do_join_group(session, principal, group_id)
    except Forbidden as exc:
        return refused(request, exc)
    except ValidationFailed as exc:
        return invalid(request, exc)
    return JSONResponse(
        {"group_id": group_id, "state": membership.state.value, "role": membership.role.value}
    )


async def leave(request: Request) -> Response:
    principal = require_principal(request)
    group_id = path_id(request)
    try:
        async with app_state(request)["db"].transaction() as session:
            await do_leave_group(session, principal, group_id)
    except Forbidden as exc:
        return refused(request, exc)
    return JSONResponse({"group_id": group_id, "state": None})


routes = [
    Route("/api/v1/groups", group_list, methods=["GET"], name="api_groups"),
    Route("/api/v1/groups", create, methods=["POST"], name="api_group_create"),
    Route("/api/v1/groups/{id:int}", group_detail, methods=["GET"], name="api_group"),
    Route("/api/v1/groups/{id:int}/join", join, methods=["POST"], name="api_group_join"),
    Route("/api/v1/groups/{id:int}/leave", leave, methods=["POST"], name="api_group_leave"),
]
