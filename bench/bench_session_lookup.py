"""What identifying the user costs on every request, compared with one raw database round trip.

``AuthMiddleware`` runs this on every request that carries a session cookie, before any page
code: one read session, ``user_for_session`` (session + user by the cookie's hash) and
``load_principal`` (roles, employee or contact, projects → audience tokens). It is the fixed
price of being signed in, so it is measured alone, for a staff member (the most queries) and an
external contact, against a raw ``SELECT 1`` round trip on a held connection of the same SQLite
engine; ``SELECT 1`` in a read session opened and closed around it, as the lookup is, shows how
much of the cost is the session itself.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

from bench.common import Timing, count_statements, demo_settings, measure, report
from domain.access import load_principal
from domain.db import Database, utcnow
from domain.demo.logins import CUSTOMER, EMPLOYEE, PARTNER
from domain.people.actions import do_start_session
from domain.people.queries import user_by_email, user_for_session


async def start_session(db: Database, email: str) -> str:
    async with db.transaction() as session:
        user = await user_by_email(session, email)
        assert user is not None, f"{email} is not in the demo data"
        return await do_start_session(session, user, utcnow())


async def main() -> None:
    async with demo_settings() as settings:
        db = Database(settings.database_url)
        try:
            await run(db)
        finally:
            await db.dispose()


async def run(db: Database) -> None:
    async with db.engine.connect() as conn:

        async def select_one_bare() -> None:
            await conn.exec_driver_sql("SELECT 1")

        baseline = await measure("SELECT 1 on a held connection (baseline)", select_one_bare)

    async def select_one_in_session() -> None:
        async with db.session() as session:
            await session.execute(text("SELECT 1"))

    timings: list[Timing] = [await measure("SELECT 1 in a read session", select_one_in_session)]
    notes: dict[str, str] = {}
    for login in (EMPLOYEE, CUSTOMER, PARTNER):
        token = await start_session(db, login.email)

        async def lookup(token: str = token) -> None:
            async with db.session() as session:
                found = await user_for_session(session, token, utcnow())
                assert found is not None
                await load_principal(session, found[1])

        label = f"lookup + principal, {login.kind.value}"
        with count_statements(db.engine) as statements:
            await lookup()
        notes[label] = f"{statements[0]} SQL statements (BEGIN included)"
        timings.append(await measure(label, lookup))

    report(
        "bench_session_lookup: per-request auth (user_for_session + load_principal) "
        "vs. SELECT 1 (SQLite demo data)",
        baseline,
        timings,
        unit="µs",
        rate="per s",
        notes=notes,
    )


if __name__ == "__main__":
    asyncio.run(main())
