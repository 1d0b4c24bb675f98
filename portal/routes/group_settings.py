"""A group's settings: its details (owners and managers), the archive, the customer and partner
accounts it is shared with (owners), and its mandatory-membership rules (administrators).

- ``GET /groups/{id}/settings`` (``group_settings``): the forms the reader may use; anyone who
  does not manage the group gets 403 (404 if they may not find it). ``?account_q=`` finds
  accounts to share with.
- ``POST /groups/{id}/settings`` (``group_update``): name, description, visibility; 422 with a
  message per field.
- ``POST /groups/{id}/archive`` (``group_archive``, ``archived`` 1 or 0): owners archive, only
  administrators take a group out of the archive.
- ``POST /groups/{id}/shares`` (``group_shares``, ``action`` share or unshare, ``account_id``):
  unsharing removes the account's contacts from the group.
- ``POST /groups/{id}/rules`` (``group_rules``, ``rules_form=1`` plus repeated ``department`` and
  ``role`` values): the rules that make a group mandatory; none make it an ordinary group again.

Success answers 303 back to the settings with a notice; a refusal re-renders them with the
domain's message (403), bad values with their messages (422).
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.access import Principal
from domain.errors import Forbidden, ValidationFailed
from domain.groups.actions import (
    UNKNOWN_ACCOUNT,
    do_archive_group,
    do_share_group,
    do_unarchive_group,
    do_unshare_group,
    do_update_group,
)
from domain.groups.candidates import list_shares, share_candidates
from domain.groups.checks import MANAGERS_ONLY, NOT_ALLOWED
from domain.groups.mandatory import (
    RULE_ROLES,
    MandatoryRule,
    department_choices,
    do_set_mandatory_rules,
    list_rules,
)
from domain.groups.models import GroupVisibility
from domain.groups.queries import access_group
from portal.auth.guards import require_principal
from portal.forms import read_form
from portal.routes.groups import (
    FILTER_MAX,
    FORM_LIMITS,
    back_to,
    incomplete,
    path_id,
    refusal,
    render,
    translated,
)
from portal.state import app_state

DONE = ("saved", "nothing", "archived", "unarchived", "shared", "unshared", "rules")
RULE_VALUES_MAX = 200  # departments and roles ticked in one form


async def settings_context(
    request: Request,
    principal: Principal,
    group_id: int,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    problem: str = "",
) -> dict[str, Any]:
    account_q = request.query_params.get("account_q", "")[:FILTER_MAX]
    async with app_state(request)["db"].session() as session:
        access = await access_group(session, principal, group_id)
        if not access.may_manage:
            raise Forbidden(MANAGERS_ONLY)
        shares = await list_shares(session, access)
        accounts = (
            await share_candidates(session, principal, group_id, account_q)
            if access.may_own
            else []
        )
        rules: list[MandatoryRule] = []
        departments = []
        if principal.is_admin:
            rules = await list_rules(session, principal, group_id)
            departments = await department_choices(session, principal)
    group = access.group
    done = request.query_params.get("done", "")
    return {
        "access": access,
        "group": group,
        "values": values
        or {
            "name": group.name,
            "description": group.description,
            "visibility": group.visibility.value,
        },
        "errors": errors or {},
        "problem": problem,
        "done": done if done in DONE and not problem and not errors else "",
        "visibilities": list(GroupVisibility),
        "shares": shares,
        "account_q": account_q,
        "accounts": accounts,
        "departments": departments,
        "rule_roles": RULE_ROLES,
        "rule_departments": {r.department_id for r in rules if r.department_id is not None},
        "rule_role_values": {r.role for r in rules if r.role is not None},
    }


async def settings_page(request: Request) -> Response:
    principal = require_principal(request)
    context = await settings_context(request, principal, path_id(request))
    return render(request, "groups/settings.html", context)


async def _refused(
    request: Request,
    principal: Principal,
    group_id: int,
    exc: Forbidden | ValidationFailed,
    values: dict[str, str] | None = None,
) -> Response:
    if isinstance(exc, ValidationFailed):
        errors = translated(exc.errors)
        context = await settings_context(
            request,
            principal,
            group_id,
            values=values,
            errors=errors,
            problem=" ".join(errors.values()),
        )
        return render(request, "groups/settings.html", context, 422)
    context = await settings_context(request, principal, group_id, problem=refusal(exc))
    return render(request, "groups/settings.html", context, 403)


async def update_group(request: Request) -> Response:
    principal = require_principal(request)
    group_id = path_id(request)
    form = await read_form(request, FORM_LIMITS)
    values = form.values
    try:
        if not form.ok:
            raise ValidationFailed(form.errors)
        async with app_state(request)["db"].transaction() as session:
            before = (await access_group(session, principal, group_id)).group
            old = (before.name, before.description, before.visibility)
            group = await do_update_group(
                session,
                principal,
                group_id,
                name=values["name"],
                description=values["description"],
                visibility=values["visibility"],
            )
            changed = old != (group.name, group.description, group.visibility)
    except (Forbidden, ValidationFailed) as exc:
        return await _refused(request, principal, group_id, exc, values)
    return back_to(request, "group_settings", group_id, "saved" if changed else "nothing")


async def archive(request: Request) -> Response:
    principal = require_principal(request)
    group_id = path_id(request)
    form = await read_form(request, {"archived": 10})
    archived = form.values.get("archived", "")
    if not form.ok or archived not in ("1", "0"):
        return incomplete(request)
    try:
        async with app_state(request)["db"].transaction() as session:
            if archived == "1":
                await do_archive_group(session, principal, group_id)
            else:
                await do_unarchive_group(session, principal, group_id)
    except (Forbidden, ValidationFailed) as exc:
        return await _refused(request, principal, group_id, exc)
    return back_to(
        request, "group_settings", group_id, "archived" if archived == "1" else "unarchived"
    )


async def shares(request: Request) -> Response:
    principal = require_principal(request)
    group_id = path_id(request)
    form = await read_form(request, {"action": 10, "account_id": 20})
    action = form.values.get("action", "")
    if not form.ok or action not in ("share", "unshare"):
        return incomplete(request)
    raw = form.values["account_id"]
    try:
        if not (raw.isascii() and raw.isdigit() and 0 < int(raw) < 2**31):
            raise ValidationFailed({"account_id": UNKNOWN_ACCOUNT})
        async with app_state(request)["db"].transaction() as session:
            if action == "share":
                await do_share_group(session, principal, group_id, int(raw))
            else:
                await do_unshare_group(session, principal, group_id, int(raw))
    except (Forbidden, ValidationFailed) as exc:
        return await _refused(request, principal, group_id, exc)
    return back_to(request, "group_settings", group_id, f"{action}d")


def _rules_from(form: FormData) -> list[MandatoryRule]:
    """The ticked departments and roles; a value no form offers is a ``ValidationFailed``."""
    departments = form.getlist("department")
    roles = form.getlist("role")
    if len(departments) + len(roles) > RULE_VALUES_MAX:
        raise ValidationFailed({"rules": NOT_ALLOWED})
    rules: list[MandatoryRule] = []
    for raw in departments:
        if not (isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) < 10):
            raise ValidationFailed({"rules": NOT_ALLOWED})
        rules.append(MandatoryRule(department_id=int(raw)))
    for raw in roles:
        if not isinstance(raw, str) or raw not in RULE_ROLES:
            raise ValidationFailed({"rules": NOT_ALLOWED})
        rules.append(MandatoryRule(role=raw))
    return rules


async def set_rules(request: Request) -> Response:
    principal = require_principal(request)
    group_id = path_id(request)
    form = await request.form(max_files=0, max_fields=RULE_VALUES_MAX + 10)
    try:
        if form.get("rules_form") != "1":
            return incomplete(request)
        try:
            rules = _rules_from(form)
            async with app_state(request)["db"].transaction() as session:
                await do_set_mandatory_rules(session, principal, group_id, rules)
        except (Forbidden, ValidationFailed) as exc:
            return await _refused(request, principal, group_id, exc)
    finally:
        await form.close()
    return back_to(request, "group_settings", group_id, "rules")


routes = [
    Route("/groups/{id:int}/settings", settings_page, methods=["GET"], name="group_settings"),
    Route("/groups/{id:int}/settings", update_group, methods=["POST"], name="group_update"),
    Route("/groups/{id:int}/archive", archive, methods=["POST"], name="group_archive"),
    Route("/groups/{id:int}/shares", shares, methods=["POST"], name="group_shares"),
    Route("/groups/{id:int}/rules", set_rules, methods=["POST"], name="group_rules"),
]
