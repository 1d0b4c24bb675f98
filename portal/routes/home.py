"""The home page: what matters to the signed-in user, by who they are."""

from __future__ import annotations

from datetime import date

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.records.overview import overview_for
from portal.auth.guards import require_principal
from portal.state import app_state


async def home(request: Request) -> Response:
    principal = require_principal(request)
    state = app_state(request)
    today = date.today()
    async with state["db"].session() as session:
        overview = await overview_for(session, principal, today)
    template = "home/staff.html" if principal.is_staff else "home/portal.html"
    return state["templates"].TemplateResponse(
        request, template, {"overview": overview, "today": today}
    )


routes = [Route("/", home, name="home")]
