"""The route table: every area's routes, by name, plus static files."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from portal.routes import (
    admin,
    api,
    api_groups,
    api_posts,
    api_search,
    attachments,
    auth,
    comments,
    group_members,
    group_settings,
    groups,
    health,
    home,
    imports,
    polls,
    posts,
    profile,
    records_cards,
    records_lists,
    search,
    sections,
    timelines,
    ws,
)

STATIC_DIR = Path(__file__).resolve().parent.parent.parent / "static"


def all_routes() -> list[BaseRoute]:
    return [
        *health.routes,
        *auth.routes,
        *home.routes,
        *profile.routes,
        # /records/import before /records/{kind}, which would otherwise take it.
        *imports.routes,
        *records_lists.routes,
        *records_cards.routes,
        *admin.routes,
        # /api/v1/posts and /api/v1/timeline before /api/v1/{kind}, which would take them.
        *api_posts.routes,
        *api_groups.routes,
        *api_search.routes,
        *api.routes,
        *sections.routes,
        *search.routes,
        *posts.routes,
        *comments.routes,
        *timelines.routes,
        *attachments.routes,
        *polls.routes,
        *groups.routes,
        *group_members.routes,
        *group_settings.routes,
        *ws.routes,
        Mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static"),
    ]
