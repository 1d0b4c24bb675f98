"""What a page of the personal timeline costs at 1,000,000 posts, 10,000 users and 500 groups.

For a typical member of staff and for a customer, on the first page and on a deep page (the page
after post 500,000, half-way back in the company's history), this prints:

- the SQL statements one ``timeline()`` call sends (the target is at most 3);
- the raw keyset SQL: the page query ``timeline()`` sends, compiled to text and executed on an
  open connection with the driver's plain fetch (no ORM, no decorations) — the baseline;
- the domain call: ``timeline()`` in a fresh session — page query, decorations, polls, PostViews;
- rendered: the domain call plus rendering every PostView with ``templates/posts/_post.html``,

each as a ratio to the raw keyset SQL of the same page (the target is at most 3× with rendering).
The data set comes from ``bench/gen_timeline.py`` and is cached, so only the first run pays for
it. SQLite always; PostgreSQL too when ``ATRIUM_BENCH_POSTGRES_URL`` (an admin URL, like the
tests' ``ATRIUM_TEST_POSTGRES_URL``) is set.

    .venv/bin/python bench/bench_timeline.py
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select
from starlette.requests import Request

from bench.common import Timing, count_statements, measure, report
from bench.gen_timeline import CUSTOMER_READER, POSTS, STAFF_READER, ensure_postgres, ensure_sqlite
from domain.access import Principal, load_principal
from domain.db import Database
from domain.people.models import User
from domain.posts.models import Post
from domain.posts.timeline import TimelineScope, encode_cursor, page_statement, timeline
from domain.posts.views import PostView
from portal import i18n
from portal.app import create_app
from portal.settings import Settings
from portal.templating import make_templates

PERSONAL = TimelineScope("personal")
DEEP_AFTER = POSTS // 2


class Renderer:
    """Renders PostViews with the portal's templates, as a page or a live frame would."""

    def __init__(self, database_url: str) -> None:
        data_dir = tempfile.mkdtemp(prefix="atrium-bench-render-")
        settings = Settings.from_env(
            {
                "ATRIUM_DATA_DIR": data_dir,
                "ATRIUM_DATABASE_URL": database_url,
                "ATRIUM_SECRET_KEY": "bench-secret-key-" + "x" * 32,
            }
        )
        self.app = create_app(settings)
        self.template = make_templates().get_template("posts/_post.html")
        i18n.set_language("en")

    def render(self, principal: Principal, views: list[PostView]) -> str:
        request = Request(
            {
                "type": "http",
                "method": "GET",
                "path": "/",
                "root_path": "",
                "scheme": "http",
                "server": None,
                "query_string": b"",
                "headers": [(b"host", b"bench")],
                "app": self.app,
                "router": self.app.router,
                "state": {},
            }
        )
        context: dict[str, Any] = {
            "request": request,
            "principal": principal,
            "user": None,
            "csrf_token": "bench-token",
            "csp_nonce": "",
            "language": "en",
        }
        return "".join(self.template.render({**context, "view": view}) for view in views)


async def principal(db: Database, user_id: int) -> Principal:
    async with db.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        return await load_principal(session, user)


async def bench_page(
    db: Database, renderer: Renderer, reader: Principal, who: str, cursor: str | None
) -> tuple[Timing, list[Timing], dict[str, str]]:
    where = "first page" if cursor is None else f"deep page (after post {DEEP_AFTER:,})"
    label = f"{who}, {where}"
    statement, params = page_statement(reader, PERSONAL, cursor=cursor)
    # The same SQL text and values the domain sends, run through the driver alone.
    expanded = statement.compile(db.engine).construct_expanded_state(params)
    sql, values = expanded.statement, tuple(expanded.positional_parameters)

    async with db.session() as session:
        await session.get(User, reader.user_id)  # open the transaction before counting
        with count_statements(db.engine) as counter:
            page = await timeline(session, reader, PERSONAL, cursor=cursor)
    statements = counter[0]
    html = renderer.render(reader, page.items)
    assert page.items and html.count('class="post') >= len(page.items)

    async with db.engine.connect() as conn:

        async def raw() -> None:
            (await conn.exec_driver_sql(sql, values)).fetchall()

        await raw()
        baseline = await measure(f"{label}: raw keyset SQL (baseline)", raw, round_seconds=0.5)

    async def domain() -> None:
        async with db.session() as session:
            await timeline(session, reader, PERSONAL, cursor=cursor)

    async def rendered() -> None:
        async with db.session() as session:
            found = await timeline(session, reader, PERSONAL, cursor=cursor)
        renderer.render(reader, found.items)

    domain_timing = await measure(f"{label}: timeline()", domain, round_seconds=0.5)
    rendered_timing = await measure(f"{label}: timeline() + render", rendered, round_seconds=0.5)
    notes = {
        baseline.label: f"{len(page.items)} posts",
        domain_timing.label: f"{statements} SQL statements",
        rendered_timing.label: f"{len(html) // 1024} KiB of HTML",
    }
    return baseline, [domain_timing, rendered_timing], notes


async def run(url: str, backend: str) -> None:
    db = Database(url)
    renderer = Renderer(url)
    try:
        async with db.session() as session:
            posts = await session.scalar(select(func.count()).select_from(Post))
            users = await session.scalar(select(func.count()).select_from(User))
        readers = [
            ("staff", await principal(db, STAFF_READER)),
            ("customer", await principal(db, CUSTOMER_READER)),
        ]
        for who, reader in readers:
            for cursor in (None, encode_cursor(DEEP_AFTER)):
                baseline, timings, notes = await bench_page(db, renderer, reader, who, cursor)
                report(
                    f"bench_timeline, {backend}: {posts:,} posts, {users:,} users — "
                    f"personal timeline of a {who} reader, page of 20",
                    baseline,
                    timings,
                    notes=notes,
                )
    finally:
        await db.dispose()


def main() -> None:
    sqlite_url = ensure_sqlite()
    asyncio.run(run(sqlite_url, "SQLite"))
    admin_url = os.environ.get("ATRIUM_BENCH_POSTGRES_URL")
    if admin_url:
        postgres_url = ensure_postgres(admin_url)
        asyncio.run(run(postgres_url, "PostgreSQL"))


if __name__ == "__main__":
    main()
