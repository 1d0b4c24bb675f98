"""The user's own profile: name, language and password."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from domain.db import utcnow
from domain.errors import Throttled, ValidationFailed
from domain.people.actions import (
    TOO_MANY_ATTEMPTS,
    do_change_password,
    do_count_password_attempt,
    do_update_profile,
    new_password_problems,
)
from portal.auth.guards import require_principal
from portal.forms import read_form
from portal.i18n import gettext as _
from portal.state import app_state, client_ip, session_token_of, sign_in_limits, user_of

NAME_MAX = 200
PASSWORD_MAX = 1024


def _render(
    request: Request,
    *,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    password_errors: dict[str, str] | None = None,
) -> Response:
    user = user_of(request)
    assert user is not None
    return app_state(request)["templates"].TemplateResponse(
        request,
        "profile/index.html",
        {
            "values": values or {"name": user.name, "language": user.language or ""},
            "errors": errors or {},
            "password_errors": password_errors or {},
            "saved": request.query_params.get("saved"),
        },
        status_code=status,
    )


async def profile_page(request: Request) -> Response:
    require_principal(request)
    return _render(request)


async def update_profile(request: Request) -> Response:
    principal = require_principal(request)
    form = await read_form(request, {"name": NAME_MAX, "language": 8}, required=("name",))
    if not form.ok:
        return _render(
            request,
            status=422,
            values=form.values,
            errors={k: _(v) for k, v in form.errors.items()},
        )
    try:
        async with app_state(request)["db"].transaction() as session:
            await do_update_profile(
                session,
                principal.user_id,
                name=form.values["name"],
                language=form.values.get("language") or None,
            )
    except ValidationFailed as exc:
        return _render(
            request, status=422, values=form.values, errors={k: _(v) for k, v in exc.errors.items()}
        )
    return RedirectResponse(request.url_for("profile").path + "?saved=profile", status_code=303)


async def change_password(request: Request) -> Response:
    principal = require_principal(request)
    form = await read_form(
        request,
        {
            "current_password": PASSWORD_MAX,
            "new_password": PASSWORD_MAX,
            "confirm_password": PASSWORD_MAX,
        },
        required=("current_password", "new_password", "confirm_password"),
    )
    errors = {k: _(v) for k, v in form.errors.items()}
    if form.ok and form.values["new_password"] != form.values["confirm_password"]:
        errors["confirm_password"] = _("The two new passwords are not the same.")
    if form.ok:
        problems = new_password_problems(form.values["new_password"])
        errors.update({k: _(v) for k, v in problems.items()})
    if not errors:
        state = app_state(request)
        limits = sign_in_limits(request)
        try:
            # Counted before the (slow) check, in a transaction of its own that a wrong
            # password does not roll back.
            async with state["db"].transaction() as session:
                await do_count_password_attempt(
                    session, principal.user_id, client_ip(request), utcnow(), limits
                )
        except Throttled as exc:
            errors = {"current_password": _(TOO_MANY_ATTEMPTS)}
            response = _render(request, status=429, password_errors=errors)
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        try:
            async with state["db"].transaction() as session:
                await do_change_password(
                    session,
                    principal.user_id,
                    current=form.values["current_password"],
                    new=form.values["new_password"],
                    keep_session=session_token_of(request),
                )
        except ValidationFailed as exc:
            errors = {k: _(v) for k, v in exc.errors.items()}
    if errors:
        return _render(request, status=422, password_errors=errors)
    return RedirectResponse(request.url_for("profile").path + "?saved=password", status_code=303)


routes = [
    Route("/profile", profile_page, methods=["GET"], name="profile"),
    Route("/profile", update_profile, methods=["POST"], name="profile_update"),
    Route("/profile/password", change_password, methods=["POST"], name="profile_password"),
]
