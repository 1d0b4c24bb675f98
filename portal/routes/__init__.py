"""The route table: every area's routes, by name, plus static files."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from portal.routes import auth, health, home, profile, sections

STATIC_DIR = Path(__file__).resolve().parent.parent.parent / "static"


def all_routes() -> list[BaseRoute]:
    return [
        *health.routes,
        *auth.routes,
        *home.routes,
        *profile.routes,
        *sections.routes,
        Mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static"),
    ]
