"""``GET /healthz``: is each component of this process working right now?

Each check touches what real requests need, not just the connection: the database answers a read
of the schema version (``SELECT 1`` succeeds even on a SQLite file that was deleted or overwritten,
since it reads no page), and the search index is reloaded from its directory. The checks run
concurrently, each within ``CHECK_TIMEOUT``. The page is public, so a failure is named but its
details (hosts, paths, driver messages) go to the log only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from portal.state import AppState, app_state

CHECK_TIMEOUT = 3.0

log = logging.getLogger(__name__)


class DatabaseFileMissing(Exception):
    """The SQLite file is gone: open connections still write to it, and it is lost at restart."""


def _database_check(state: AppState) -> Callable[[], Awaitable[None]]:
    db = state["db"]
    url = make_url(db.url)
    on_disk = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
    sqlite_file = Path(url.database) if on_disk and url.database else None

    async def database() -> None:
        if sqlite_file is not None and not await asyncio.to_thread(sqlite_file.exists):
            raise DatabaseFileMissing(str(sqlite_file))
        async with db.session() as session:
            await session.execute(text("SELECT version_num FROM alembic_version"))

    return database


async def _run(name: str, check: Callable[[], Awaitable[None]]) -> dict[str, str]:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await check()
    except Exception as exc:  # a health check reports every failure, whatever its type
        log.warning("health check %s failed: %s: %s", name, type(exc).__name__, exc)
        return {"status": "error"}
    return {"status": "ok"}


async def healthz(request: Request) -> JSONResponse:
    state = app_state(request)
    checks = {
        "database": _database_check(state),
        "pubsub": state["pubsub"].ping,
        "search": state["search"].ping,
    }
    results = await asyncio.gather(*(_run(name, check) for name, check in checks.items()))
    components = dict(zip(checks, results, strict=True))
    failing = sorted(n for n, c in components.items() if c["status"] != "ok")
    body: dict[str, object] = {
        "status": "error" if failing else "ok",
        "components": components,
    }
    if failing:
        body["failing"] = failing
    return JSONResponse(body, 503 if failing else 200, headers={"Cache-Control": "no-store"})


routes = [Route("/healthz", healthz, name="healthz")]
