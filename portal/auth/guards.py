"""Route guards: who may reach a page at all. Objects inside pages are guarded by the domain's
``access_*`` functions; these only decide signed-in or not, and staff or not."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from domain.access import Principal
from domain.errors import NotFound
from portal.errors import error_response, wants_json
from portal.i18n import gettext as _
from portal.state import principal_of


class LoginRequired(Exception):
    """Raised by a guard when nobody is signed in."""


def require_principal(request: Request) -> Principal:
    principal = principal_of(request)
    if principal is None:
        raise LoginRequired
    return principal


def require_staff(request: Request) -> Principal:
    """Staff-only pages answer 404 to externals, exactly like pages that do not exist."""
    principal = require_principal(request)
    if not principal.is_staff:
        raise NotFound(request.url.path)
    return principal


def safe_next(target: str | None) -> str:
    """A local path to return to after sign-in; anything else (other hosts, ``//x``) is ``/``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


async def login_required(request: Request, exc: Exception) -> Response:
    if wants_json(request):
        return error_response(request, 401, _("Sign in first."))
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    login_path = request.url_for("login").path
    return RedirectResponse(f"{login_path}?next={quote(target, safe='/')}", status_code=303)
