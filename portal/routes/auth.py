"""Sign-in and sign-out."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from domain.db import utcnow
from domain.errors import Throttled
from domain.people.actions import (
    BAD_CREDENTIALS,
    TOO_MANY_ATTEMPTS,
    do_count_sign_in_attempt,
    do_end_session,
    do_record_sign_in,
    do_start_session,
)
from domain.people.queries import authenticate
from portal.auth.cookies import SESSION_COOKIE, SESSION_MAX_AGE, clear_cookie_header, cookie_header
from portal.auth.guards import safe_next
from portal.forms import read_form
from portal.i18n import gettext as _
from portal.state import app_state, client_ip, principal_of, session_token_of, sign_in_limits

EMAIL_MAX = 320
PASSWORD_MAX = 1024


def _render(
    request: Request,
    *,
    status: int = 200,
    email: str = "",
    error: str | None = None,
    errors: dict[str, str] | None = None,
    next_url: str = "/",
) -> Response:
    return app_state(request)["templates"].TemplateResponse(
        request,
        "auth/login.html",
        {"email": email, "error": error, "errors": errors or {}, "next": next_url},
        status_code=status,
    )


async def login_page(request: Request) -> Response:
    next_url = safe_next(request.query_params.get("next"))
    if principal_of(request) is not None:
        return RedirectResponse(next_url, status_code=303)
    return _render(request, next_url=next_url)


async def login(request: Request) -> Response:
    state = app_state(request)
    form = await read_form(request, {"email": EMAIL_MAX, "password": PASSWORD_MAX, "next": 2000})
    email = form.values.get("email", "").strip()
    password = form.values.get("password", "")
    next_url = safe_next(form.values.get("next"))
    if not form.ok or not email or not password:
        errors = {k: _(v) for k, v in form.errors.items()}
        if not email and "email" not in errors:
            errors["email"] = _("Enter your email address.")
        if not password and "password" not in errors:
            errors["password"] = _("Enter your password.")
        return _render(
            request, status=400, email=email[:EMAIL_MAX], errors=errors, next_url=next_url
        )

    ip = client_ip(request)
    now = utcnow()
    limits = sign_in_limits(request)
    try:
        # Counted as a failure before the (slow) password check, so parallel guesses cannot
        # all slip past the limit; a right password clears it below.
        async with state["db"].transaction() as session:
            await do_count_sign_in_attempt(session, email, ip, now, limits)
    except Throttled as exc:
        response = _render(
            request, status=429, email=email, error=_(TOO_MANY_ATTEMPTS), next_url=next_url
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    async with state["db"].session() as session:
        user = await authenticate(session, email, password)
    if user is None:
        return _render(
            request, status=400, email=email, error=_(BAD_CREDENTIALS), next_url=next_url
        )

    async with state["db"].transaction() as session:
        await do_record_sign_in(session, user.id, password, now)
        token = await do_start_session(
            session,
            user,
            now,
            ip=ip,
            user_agent=request.headers.get("user-agent"),
            replaces=request.cookies.get(SESSION_COOKIE),
        )
    response = RedirectResponse(next_url, status_code=303)
    secure = request.url.scheme == "https"
    response.headers.append(
        "set-cookie", cookie_header(SESSION_COOKIE, token, max_age=SESSION_MAX_AGE, secure=secure)
    )
    return response


async def logout(request: Request) -> Response:
    token = session_token_of(request)
    if token:
        async with app_state(request)["db"].transaction() as session:
            await do_end_session(session, token)
    response = RedirectResponse(request.url_for("login").path, status_code=303)
    response.headers.append(
        "set-cookie", clear_cookie_header(SESSION_COOKIE, secure=request.url.scheme == "https")
    )
    return response


routes = [
    Route("/login", login_page, methods=["GET"], name="login"),
    Route("/login", login, methods=["POST"], name="login_submit"),
    Route("/logout", logout, methods=["POST"], name="logout"),
]
