"""A group's members page, and what its owners and managers do there.

- ``GET /groups/{id}/members`` (``group_members``): the active members by name with their roles;
  customers and partners carry a "Customer"/"Partner" label with their company's name. Who may
  not see the group's content gets 404 (a private group's members are part of its content).
  Managers also see the pending requests and invitations, and ``?q=`` finds people to invite
  or add (``domain.groups.candidates``: staff, and contacts of the accounts the group is shared
  with).
- ``POST /groups/{id}/members`` (``group_member_add``, ``action`` invite or add, ``user_id``):
  invite someone, or make them a member at once.
- ``POST /groups/{id}/members/{user_id}`` (``group_member_update``, ``action`` approve, decline,
  remove or role with ``role``): decide a request, remove a member (or withdraw an
  invitation), set a role (owners).

Every change answers 303 back to the members page with a notice. A refusal re-renders the page
with the domain's message — 403 for a rule (only owners set roles, the last owner stays, members
made by a mandatory group's rules stay), 422 for a bad value — and a form without its marker
field is a 400, so an empty body is never read as an instruction.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.access import Principal
from domain.errors import Forbidden, ValidationFailed
from domain.groups.candidates import invite_candidates
from domain.groups.checks import UNKNOWN_USER
from domain.groups.membership import (
    do_add_member,
    do_approve_request,
    do_decline_request,
    do_invite_member,
    do_remove_member,
    do_set_member_role,
)
from domain.groups.models import GroupRole, MembershipState
from domain.groups.queries import access_group, list_members, member_counts
from portal.auth.guards import require_principal
from portal.forms import read_form
from portal.routes.groups import (
    FILTER_MAX,
    back_to,
    incomplete,
    path_id,
    refusal,
    render,
    translated,
)
from portal.state import app_state

ADD_ACTIONS = ("invite", "add")
UPDATE_ACTIONS = ("approve", "decline", "remove", "role")
DONE = ("invited", "added", "approved", "declined", "removed", "role")
ID_FIELD_MAX = 20


async def members_context(
    request: Request,
    principal: Principal,
    group_id: int,
    *,
    problem: str = "",
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    q = request.query_params.get("q", "")[:FILTER_MAX]
    async with app_state(request)["db"].session() as session:
        members = await list_members(session, principal, group_id)
        access = await access_group(session, principal, group_id)
        counts = await member_counts(session, access)
        candidates = (
            await invite_candidates(session, principal, group_id, q) if access.may_manage else []
        )
    done = request.query_params.get("done", "")
    return {
        "access": access,
        "group": access.group,
        "counts": counts,
        "active": [m for m in members if m.state is MembershipState.ACTIVE],
        "requested": [m for m in members if m.state is MembershipState.REQUESTED],
        "invited": [m for m in members if m.state is MembershipState.INVITED],
        "roles": list(GroupRole),
        "q": q,
        "candidates": candidates,
        "done": done if done in DONE and not problem else "",
        "problem": problem,
        "errors": errors or {},
    }


async def members_page(request: Request) -> Response:
    principal = require_principal(request)
    context = await members_context(request, principal, path_id(request))
    return render(request, "groups/members.html", context)


async def _refused(
    request: Request, principal: Principal, group_id: int, exc: Forbidden | ValidationFailed
) -> Response:
    if isinstance(exc, ValidationFailed):
        errors = translated(exc.errors)
        context = await members_context(
            request, principal, group_id, problem=" ".join(errors.values()), errors=errors
        )
        return render(request, "groups/members.html", context, 422)
    context = await members_context(request, principal, group_id, problem=refusal(exc))
    return render(request, "groups/members.html", context, 403)


def _user_id(raw: str) -> int | None:
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) < 2**31 else None


async def add_member(request: Request) -> Response:
    principal = require_principal(request)
    group_id = path_id(request)
    form = await read_form(request, {"action": 10, "user_id": ID_FIELD_MAX})
    action = form.values.get("action", "")
    if not form.ok or action not in ADD_ACTIONS:
        return incomplete(request)
    user_id = _user_id(form.values["user_id"])
    try:
        if user_id is None:
            raise ValidationFailed({"user_id": UNKNOWN_USER})
        async with app_state(request)["db"].transaction() as session:
            if action == "invite":
                membership = await do_invite_member(session, principal, group_id, user_id)
            else:
                membership = await do_add_member(session, principal, group_id, user_id)
    except (Forbidden, ValidationFailed) as exc:
        return await _refused(request, principal, group_id, exc)
    done = "invited" if membership.state is MembershipState.INVITED else "added"
    return back_to(request, "group_members", group_id, done)


async def update_member(request: Request) -> Response:
    principal = require_principal(request)
    group_id = path_id(request)
    user_id = path_id(request, "user_id")
    form = await read_form(request, {"action": 10, "role": 20})
    action = form.values.get("action", "")
    if not form.ok or action not in UPDATE_ACTIONS:
        return incomplete(request)
    try:
        async with app_state(request)["db"].transaction() as session:
            if action == "approve":
                await do_approve_request(session, principal, group_id, user_id)
            elif action == "decline":
                await do_decline_request(session, principal, group_id, user_id)
            elif action == "remove":
                await do_remove_member(session, principal, group_id, user_id)
            else:
                await do_set_member_role(session, principal, group_id, user_id, form.values["role"])
    except (Forbidden, ValidationFailed) as exc:
        return await _refused(request, principal, group_id, exc)
    if action == "remove" and user_id == principal.user_id:
        return back_to(request, "group", group_id, "left")  # their members page may be gone
    done = {"approve": "approved", "decline": "declined", "remove": "removed"}.get(action, "role")
    return back_to(request, "group_members", group_id, done)


routes = [
    Route("/groups/{id:int}/members", members_page, methods=["GET"], name="group_members"),
    Route("/groups/{id:int}/members", add_member, methods=["POST"], name="group_member_add"),
    Route(
        "/groups/{id:int}/members/{user_id:int}",
        update_member,
        methods=["POST"],
        name="group_member_update",
    ),
]
