"""What one page costs through the whole app, compared with a bare Starlette page.

The home page is the page every user opens first and most often: it runs every middleware
(security headers, session lookup and principal, locale, CSRF), the overview queries and the
template. The anonymous sign-in page shows the fixed cost of a page with no user. Both go through
``httpx.ASGITransport`` in-process, with the lifespan run as the test suite's ``app`` fixture does,
on SQLite with the demo company; the baseline is a bare Starlette app returning a tiny HTML page
through the same transport, so the ratio is what Atrium adds on top of the framework and the
client. Requests are sequential: this measures the CPU and database cost of one request, not
throughput under concurrency.
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

from bench.common import (
    Timing,
    count_statements,
    demo_settings,
    measure,
    report,
    running_app,
)
from domain.demo.logins import CUSTOMER, DEMO_PASSWORD, EMPLOYEE

CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')


def bare_app() -> Starlette:
    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse("<!doctype html><title>Hello</title><p>Hello, world.</p>")

    return Starlette(routes=[Route("/", page)])


async def sign_in(client: httpx.AsyncClient, email: str) -> None:
    match = CSRF_RE.search((await client.get("/login")).text)
    assert match, "no CSRF token on /login"
    response = await client.post(
        "/login", data={"email": email, "password": DEMO_PASSWORD, "csrf_token": match.group(1)}
    )
    assert response.status_code == 303, response.text


async def timed_page(label: str, client: httpx.AsyncClient, path: str) -> Timing:
    async def call() -> None:
        response = await client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{label}: GET {path} answered {response.status_code}")

    return await measure(label, call)


async def main() -> None:
    base = "http://bench"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=bare_app()), base_url=base) as c:
        baseline = await timed_page("bare Starlette page (baseline)", c, "/")

    async with demo_settings() as settings, running_app(settings) as (app, state):
        transport = httpx.ASGITransport(app=app)
        timings: list[Timing] = []
        notes: dict[str, str] = {}
        cases = [
            ("GET /login, anonymous", None, "/login"),
            ("GET / as employee (staff home)", EMPLOYEE.email, "/"),
            ("GET / as customer (portal home)", CUSTOMER.email, "/"),
        ]
        for label, email, path in cases:
            async with httpx.AsyncClient(transport=transport, base_url=base) as client:
                if email:
                    await sign_in(client, email)
                else:
                    await client.get(path)  # get the anonymous cookie a browser would keep
                with count_statements(state["db"].engine) as statements:
                    size = len((await client.get(path)).content)
                notes[label] = f"{statements[0]} SQL statements, {size / 1024:.1f} KiB"
                timings.append(await timed_page(label, client, path))

    report(
        "bench_request: one page through the full app vs. a bare Starlette page "
        "(ASGI in-process, SQLite demo data, sequential)",
        baseline,
        timings,
        rate="req/s",
        notes=notes,
    )


if __name__ == "__main__":
    asyncio.run(main())
