"""The route table: every area's routes, by name, plus static files."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from portal.routes import (
    admin,
    api,
    auth,
    health,
    home,
    imports,
    profile,
    records_cards,
    records_lists,
    sections,
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
        *api.routes,
        *sections.routes,
        Mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static"),
    ]
