"""``GET /healthz``: is each component of this process working right now?"""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from portal.state import app_state

CHECK_TIMEOUT = 3.0


async def healthz(request: Request) -> JSONResponse:
    state = app_state(request)

    async def database() -> None:
        async with state["db"].session() as session:
            await session.execute(text("SELECT 1"))

    checks = {
        "database": database,
        "pubsub": state["pubsub"].ping,
        "search": state["search"].ping,
    }
    components: dict[str, dict[str, str]] = {}
    for name, check in checks.items():
        try:
            await asyncio.wait_for(check(), CHECK_TIMEOUT)
        except Exception as exc:  # a health check reports every failure, whatever its type
            components[name] = {"status": "error", "error": type(exc).__name__ + ": " + str(exc)}
        else:
            components[name] = {"status": "ok"}
    failing = sorted(n for n, c in components.items() if c["status"] != "ok")
    body: dict[str, object] = {
        "status": "error" if failing else "ok",
        "components": components,
    }
    if failing:
        body["failing"] = failing
    return JSONResponse(body, 503 if failing else 200, headers={"Cache-Control": "no-store"})


routes = [Route("/healthz", healthz, name="healthz")]
