"""Shared helpers for the benchmarks in ``bench/``: a demo database, the app, a timing loop.

Every benchmark prints its cost as a ratio to a raw baseline measured in the same run on the
same machine, so the figures compare across machines; the absolute numbers are printed too.

Run them with ``make bench`` or ``.venv/bin/python bench/bench_<name>.py``.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Receive, Scope, Send

from domain.db import Database
from domain.demo import load_demo
from portal.app import create_app
from portal.migrate import upgrade_async
from portal.settings import Settings


@asynccontextmanager
async def demo_settings() -> AsyncIterator[Settings]:
    """Settings for a temp data dir holding a migrated SQLite database with the demo company."""
    with tempfile.TemporaryDirectory(prefix="atrium-bench-") as tmp:
        settings = Settings.from_env(
            {"ATRIUM_DATA_DIR": tmp, "ATRIUM_SECRET_KEY": "bench-secret-key-" + "x" * 32}
        )
        await upgrade_async(settings.database_url)
        db = Database(settings.database_url)
        try:
            await load_demo(db)
        finally:
            await db.dispose()
        yield settings


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[tuple[ASGIApp, dict[str, Any]]]:
    """The real app with its lifespan run, handing each request the lifespan state as uvicorn
    does; yields the ASGI callable and that state."""
    app = create_app(settings)
    async with app.router.lifespan_context(app) as yielded:
        if yielded is None:
            raise RuntimeError("Atrium's lifespan yielded no state")
        state = dict(yielded)

        async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
            scope["state"] = dict(state)
            await app(scope, receive, send)

        yield asgi, state


@dataclass(frozen=True)
class Timing:
    label: str
    calls: int
    seconds_per_call: float  # in the fastest round

    @property
    def per_second(self) -> float:
        return 1 / self.seconds_per_call


async def measure(
    label: str,
    call: Callable[[], Awaitable[object]],
    *,
    rounds: int = 5,
    round_seconds: float = 1.0,
    warmup: int = 20,
) -> Timing:
    """Call ``call`` back to back in ``rounds`` rounds of about ``round_seconds`` each and keep
    the fastest round's time per call: as ``timeit`` advises, the slower rounds measure other
    load on the machine, not the code."""
    for _ in range(warmup):
        await call()
    per_call: list[float] = []
    total = 0
    for _ in range(rounds):
        calls = 0
        started = time.perf_counter()
        deadline = started + round_seconds
        while True:
            await call()
            calls += 1
            now = time.perf_counter()
            if now >= deadline:
                break
        per_call.append((now - started) / calls)
        total += calls
    return Timing(label, total, min(per_call))


@contextmanager
def count_statements(engine: AsyncEngine) -> Iterator[list[int]]:
    """Count the SQL statements sent on ``engine`` inside the block (``counter[0]``)."""
    counter = [0]

    def before(*_args: object) -> None:
        counter[0] += 1

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)


def report(
    title: str,
    baseline: Timing,
    timings: list[Timing],
    *,
    unit: str = "ms",
    rate: str = "per s",
    notes: dict[str, str] | None = None,
) -> None:
    """Print a table: absolute cost per call, calls per second, and the ratio to the baseline."""
    scale = {"ms": 1e3, "µs": 1e6}[unit]
    notes = notes or {}
    width = max(len(t.label) for t in [baseline, *timings]) + 2
    print(title)
    print(f"  {'case':<{width}}{unit + ' per call':>14}{rate:>12}{'× baseline':>12}  note")
    for t in [baseline, *timings]:
        ratio = t.seconds_per_call / baseline.seconds_per_call
        print(
            f"  {t.label:<{width}}{t.seconds_per_call * scale:>14.3f}"
            f"{t.per_second:>12,.0f}{ratio:>12.1f}  {notes.get(t.label, '')}"
        )
