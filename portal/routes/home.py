"""The home page: what matters to the signed-in user, by who they are.

Staff get their personal timeline — current company news above it, the composer, the filters
(all, posts, news, mentions of me; ``?only=``) — with the company overview in a side column.
Customers and partners get their portal home (account, invoices, projects, people) and below it
the timeline of the groups shared with them, with a composer when they belong to one.

``?cursor=`` shows an older page (what "Load older" leads to without JavaScript goes through
``/timeline``, which serves every timeline; this keeps old links working). An htmx request for
the home page with a filter gets the timeline alone (the filter links swap it).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.errors import ValidationFailed
from domain.posts.timeline import TimelineScope, current_news
from domain.records.overview import overview_for
from portal.auth.guards import require_principal
from portal.errors import error_response
from portal.i18n import gettext as _
from portal.routes.composer import is_htmx, new_composer, respond
from portal.routes.timelines import CURSOR_MAX, load_block, read_only
from portal.state import app_state

TIMELINE_ID = "home-timeline"


async def home(request: Request) -> Response:
    principal = require_principal(request)
    state = app_state(request)
    today = date.today()
    params = request.query_params
    cursor = params.get("cursor", "")[:CURSOR_MAX] or None
    try:
        only = read_only(params.get("only", ""))
        async with state["db"].session() as session:
            timeline = await load_block(
                request,
                session,
                principal,
                TimelineScope("personal"),
                block_id=TIMELINE_ID,
                empty=_("Nothing here yet. Write the first post, or follow groups and people.")
                if principal.is_staff
                else _("No posts from your groups yet."),
                only=only,
                cursor=cursor,
            )
            if is_htmx(request):
                return respond(request, "home/_timeline.html", {"timeline": timeline, "only": only})
            overview = await overview_for(session, principal, today)
            news = [] if cursor else await current_news(session, principal, datetime.now(UTC))
            composer = None
            if principal.is_staff or any(t.startswith("group:") for t in principal.tokens):
                composer = await new_composer(
                    request, session, principal, next_url="/", timeline_id=TIMELINE_ID
                )
    except ValidationFailed as exc:
        return error_response(request, 400, "; ".join(_(m) for m in exc.errors.values()))
    template = "home/staff.html" if principal.is_staff else "home/portal.html"
    context = {
        "overview": overview,
        "today": today,
        "timeline": timeline,
        "news": news,
        "composer": composer,
        "only": only,
    }
    return respond(request, template, context)


routes = [Route("/", home, name="home")]
