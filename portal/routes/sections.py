"""Sections of the portal whose content later work brings (workspaces, notifications).
Each page says plainly what will come there; none pretends to work. They are staff-only:
customers and partners get 404, as for anything they may not reach. A section leaves this list
when its area's routes arrive (records and people are in ``records_lists``): two routes with one
path and name would leave this one dead, and ``url_for`` ambiguous."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from portal.auth.guards import require_staff
from portal.state import app_state

SECTIONS = ("workspaces", "notifications")


def _section(name: str):  # type: ignore[no-untyped-def]
    async def page(request: Request) -> Response:
        require_staff(request)
        return app_state(request)["templates"].TemplateResponse(
            request,
            "sections/section.html",
            {"section": name},
        )

    page.__name__ = f"{name}_page"
    return page


routes = [Route(f"/{name}", _section(name), methods=["GET"], name=name) for name in SECTIONS]
