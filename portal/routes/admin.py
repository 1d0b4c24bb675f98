"""Administration: users and their roles, new staff users, and portal access per contact.

- ``GET /admin/users`` (``admin_users``): users by name, searched by name or email, filtered by
  kind and active state, keyset-paginated ("Load more" links to ``?cursor=…``; htmx fetches the
  next rows into the table, ``Vary: HX-Request``). Bad filters answer 400 with the messages.
- ``GET /admin/users/new`` (``admin_user_new``) and ``POST /admin/users`` (``admin_user_create``):
  a staff user with an initial password and roles; 422 with a message per field.
- ``GET /admin/users/{id}`` (``admin_user``): details, roles, activation, the linked contact.
- ``POST /admin/users/{id}/roles`` (``admin_user_roles``): the checked roles become the user's
  roles; htmx gets the roles section back, a plain form a 303 to the page.
- ``POST /admin/users/{id}/active`` (``admin_user_active``): activate (``active=1``) or
  deactivate (``active=0``; the user's sessions end at once).
- ``GET /admin/contacts`` (``admin_contacts``): find a contact to manage their portal access.
- ``GET /admin/contacts/{id}/access`` (``admin_contact_access``) and ``POST`` the same path
  (``admin_contact_access_update``, ``action=grant|revoke``): a contact's portal access.

Lockout protection, the rules on roles and the Data Log live in ``domain.people.admin``.

Everything here is for administrators: anyone else signed in gets the 404 of a page that does not
exist, for GET and POST alike, before a form is read; anonymous visitors are sent to sign in. The
forms always send a marker (``roles_form``, ``active``, ``action``) so that an empty or mangled
body is refused with 400 rather than read as "no roles" or "revoke".
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from domain.access import Principal
from domain.db import utcnow
from domain.errors import NotFound, ValidationFailed
from domain.people.admin import (
    check_create_staff_user,
    do_create_staff_user,
    do_set_active,
    do_set_roles,
    list_users,
    user_detail,
)
from domain.people.models import LANGUAGES, Role
from domain.people.portal_access import (
    contact_access,
    do_grant_portal_access,
    do_revoke_portal_access,
    find_contacts,
)
from portal.auth.guards import require_principal
from portal.errors import error_response
from portal.forms import read_form
from portal.i18n import gettext as _
from portal.routes.records_lists import path_with, wants_fragment
from portal.state import app_state

FILTERS = ("q", "kind", "active")
FILTER_MAX = 200
CURSOR_MAX = 4096
ROLE_FIELDS = {role: f"role_{role.value}" for role in Role}
CHECKBOX_MAX = 10
ROLE_LIMITS = dict.fromkeys(ROLE_FIELDS.values(), CHECKBOX_MAX)
USER_LIMITS = {"email": 320, "name": 400, "language": 8, "password": 1024}
ACCESS_LIMITS = {"action": 10, "email": 320, "password": 1024}


def require_admin(request: Request) -> Principal:
    """Administration answers 404 to everyone signed in but administrators, like any page they
    may not reach; anonymous visitors are sent to sign in."""
    principal = require_principal(request)
    if not (principal.is_staff and principal.is_admin):
        raise NotFound(request.url.path)
    return principal


def translated(errors: dict[str, str]) -> dict[str, str]:
    return {name: _(message) for name, message in errors.items()}


def incomplete(request: Request) -> Response:
    return error_response(
        request, 400, _("This form was not sent as expected. Reload the page and try again.")
    )


def render(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    return app_state(request)["templates"].TemplateResponse(
        request, template, context, status_code=status
    )


def _path_id(request: Request) -> int:
    value: int = request.path_params["id"]
    return value


def _roles_from(values: dict[str, str]) -> frozenset[Role]:
    return frozenset(role for role, field in ROLE_FIELDS.items() if values.get(field))


# -- the user list --------------------------------------------------------------------------------


async def users(request: Request) -> Response:
    principal = require_admin(request)
    params = request.query_params
    filters = {name: params.get(name, "")[:FILTER_MAX] for name in FILTERS}
    cursor = params.get("cursor", "")[:CURSOR_MAX]
    page, errors = None, {}
    async with app_state(request)["db"].session() as session:
        try:
            page = await list_users(
                session,
                principal,
                q=filters["q"],
                kind=filters["kind"],
                active=filters["active"],
                cursor=cursor,
            )
        except ValidationFailed as exc:
            errors = translated(exc.errors)
    kept = {name: value for name, value in filters.items() if value}
    more_url = None
    if page is not None and page.next is not None:
        more_url = path_with(request, "admin_users", {**kept, "cursor": page.next})
    context: dict[str, Any] = {
        "rows": page.rows if page else [],
        "errors": errors,
        "more_url": more_url,
    }
    if wants_fragment(request):
        template = "admin/_user_rows.html"
    else:
        template = "admin/users.html"
        context |= {
            "values": filters,
            "clear_url": path_with(request, "admin_users", {}),
            "first_url": path_with(request, "admin_users", kept) if cursor and not errors else None,
        }
    response = render(request, template, context, 400 if errors else 200)
    response.headers.add_vary_header("HX-Request")
    return response


# -- one user -------------------------------------------------------------------------------------


async def _user_context(request: Request, principal: Principal, user_id: int) -> dict[str, Any]:
    async with app_state(request)["db"].session() as session:
        detail = await user_detail(session, principal, user_id, utcnow())
    return {
        "detail": detail,
        "target": detail.user,
        "checked": detail.roles,
        "role_errors": {},
        "active_errors": {},
        "saved": request.query_params.get("saved", "")[:20],
        "all_roles": list(Role),
    }


async def user_page(request: Request) -> Response:
    principal = require_admin(request)
    return render(
        request, "admin/user.html", await _user_context(request, principal, _path_id(request))
    )


async def set_roles(request: Request) -> Response:
    principal = require_admin(request)
    user_id = _path_id(request)
    form = await read_form(request, {"roles_form": CHECKBOX_MAX} | ROLE_LIMITS)
    if not form.ok or form.values["roles_form"] != "1":
        return incomplete(request)
    roles = _roles_from(form.values)
    errors: dict[str, str] = {}
    try:
        async with app_state(request)["db"].transaction() as session:
            changed = await do_set_roles(session, principal, user_id, roles)
    except ValidationFailed as exc:
        errors = translated(exc.errors)
    fragment = wants_fragment(request)
    if not errors and not fragment:
        target = request.url_for("admin_user", id=user_id).path
        return RedirectResponse(f"{target}?saved={'roles' if changed else 'nothing'}", 303)
    context = await _user_context(request, principal, user_id)
    if errors:
        context |= {"checked": roles, "role_errors": errors, "saved": ""}
    else:
        context["saved"] = "roles" if changed else "nothing"
    response = render(
        request,
        "admin/_role_form.html" if fragment else "admin/user.html",
        context,
        422 if errors else 200,
    )
    response.headers.add_vary_header("HX-Request")
    return response


async def set_active(request: Request) -> Response:
    principal = require_admin(request)
    user_id = _path_id(request)
    form = await read_form(request, {"active": CHECKBOX_MAX})
    if not form.ok or form.values["active"] not in ("1", "0"):
        return incomplete(request)
    active = form.values["active"] == "1"
    try:
        async with app_state(request)["db"].transaction() as session:
            changed = await do_set_active(session, principal, user_id, active, utcnow())
    except ValidationFailed as exc:
        context = await _user_context(request, principal, user_id)
        context["active_errors"] = translated(exc.errors)
        return render(request, "admin/user.html", context, 422)
    saved = ("activated" if active else "deactivated") if changed else "nothing"
    target = request.url_for("admin_user", id=user_id).path
    return RedirectResponse(f"{target}?saved={saved}", 303)


# -- new staff users ------------------------------------------------------------------------------


def _new_user_form(
    request: Request, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    context = {
        "values": {k: v for k, v in values.items() if k != "password"},
        "checked": _roles_from(values),
        "errors": errors,
        "languages": LANGUAGES,
        "all_roles": list(Role),
    }
    return render(request, "admin/user_new.html", context, status)


async def new_user(request: Request) -> Response:
    require_admin(request)
    return _new_user_form(request, {}, {})


async def create_user(request: Request) -> Response:
    principal = require_admin(request)
    form = await read_form(
        request,
        USER_LIMITS | ROLE_LIMITS,
        required=("email", "name", "password"),
    )
    values = form.values
    email, name = values.get("email", ""), values.get("name", "")
    password, language = values.get("password", ""), values.get("language") or None
    db = app_state(request)["db"]
    errors = translated(form.errors)
    if errors:
        # Tell every problem at once: the domain's verdict on the other fields too.
        try:
            async with db.session() as session:
                await check_create_staff_user(
                    session, principal, email=email, name=name, language=language, password=password
                )
        except ValidationFailed as exc:
            errors = translated(exc.errors) | errors
        return _new_user_form(request, values, errors, 422)
    try:
        async with db.transaction() as session:
            user = await do_create_staff_user(
                session,
                principal,
                email=email,
                name=name,
                language=language,
                password=password,
                roles=_roles_from(values),
            )
    except ValidationFailed as exc:
        return _new_user_form(request, values, translated(exc.errors), 422)
    target = request.url_for("admin_user", id=user.id).path
    return RedirectResponse(f"{target}?saved=created", 303)


# -- portal access per contact --------------------------------------------------------------------


async def contacts(request: Request) -> Response:
    principal = require_admin(request)
    q = request.query_params.get("q", "")[:FILTER_MAX]
    async with app_state(request)["db"].session() as session:
        found = await find_contacts(session, principal, q)
    return render(request, "admin/contacts.html", {"q": q, "found": found})


async def _access_page(
    request: Request,
    principal: Principal,
    contact_id: int,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    async with app_state(request)["db"].session() as session:
        access = await contact_access(session, principal, contact_id)
    context = {
        "access": access,
        "values": values or {"email": access.contact.email or ""},
        "errors": errors or {},
        "saved": request.query_params.get("saved", "")[:20] if status == 200 else "",
    }
    return render(request, "admin/contact_access.html", context, status)


async def access_page(request: Request) -> Response:
    principal = require_admin(request)
    return await _access_page(request, principal, _path_id(request))


async def update_access(request: Request) -> Response:
    principal = require_admin(request)
    contact_id = _path_id(request)
    form = await read_form(request, ACCESS_LIMITS)
    action = form.values.get("action")
    if action not in ("grant", "revoke") or "action" in form.errors:
        return incomplete(request)
    values = {"email": form.values.get("email", "")}
    errors = translated(form.errors)
    changed = True
    if not errors:
        try:
            async with app_state(request)["db"].transaction() as session:
                if action == "grant":
                    await do_grant_portal_access(
                        session,
                        principal,
                        contact_id,
                        email=form.values["email"],
                        password=form.values["password"],
                        now=utcnow(),
                    )
                else:
                    changed = await do_revoke_portal_access(
                        session, principal, contact_id, utcnow()
                    )
        except ValidationFailed as exc:
            errors = translated(exc.errors)
    if errors:
        return await _access_page(
            request, principal, contact_id, values=values, errors=errors, status=422
        )
    target = request.url_for("admin_contact_access", id=contact_id).path
    saved = ("granted" if action == "grant" else "revoked") if changed else "nothing"
    return RedirectResponse(f"{target}?saved={saved}", 303)


routes = [
    Route("/admin/users", users, methods=["GET"], name="admin_users"),
    Route("/admin/users", create_user, methods=["POST"], name="admin_user_create"),
    Route("/admin/users/new", new_user, methods=["GET"], name="admin_user_new"),
    Route("/admin/users/{id:int}", user_page, methods=["GET"], name="admin_user"),
    Route("/admin/users/{id:int}/roles", set_roles, methods=["POST"], name="admin_user_roles"),
    Route("/admin/users/{id:int}/active", set_active, methods=["POST"], name="admin_user_active"),
    Route("/admin/contacts", contacts, methods=["GET"], name="admin_contacts"),
    Route(
        "/admin/contacts/{id:int}/access",
        access_page,
        methods=["GET"],
        name="admin_contact_access",
    ),
    Route(
        "/admin/contacts/{id:int}/access",
        update_access,
        methods=["POST"],
        name="admin_contact_access_update",
    ),
]
