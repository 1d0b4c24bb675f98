"""What a record card and a record list cost, at demo scale and at 20× the demo.

For the customer card (an account with its contacts, projects and invoices) and the first page of
the invoice list, this prints the server time of the full page — session lookup, audience-filtered
queries, template — and of the domain query alone, each as a ratio to the raw SQL that fetches the
same rows without any access filtering, measured in the same run on the same database.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import select, text

from bench.common import count_statements, demo_settings, measure, report, running_app
from bench.scale import grow
from domain.access import load_principal
from domain.db import Database
from domain.people.queries import user_by_email
from domain.records.audience import RecordKind
from domain.records.cards import account_card
from domain.records.lists import list_records
from domain.records.relations import Contact

RAW_CARD = [
    "SELECT * FROM accounts WHERE id = :id",
    "SELECT * FROM contacts WHERE account_id = :id ORDER BY name, id LIMIT 50",
    "SELECT * FROM projects WHERE account_id = :id OR id IN "
    "(SELECT project_id FROM project_partners WHERE account_id = :id) "
    "ORDER BY start_date DESC, id DESC LIMIT 50",
    "SELECT * FROM invoices WHERE account_id = :id ORDER BY issue_date DESC, id DESC LIMIT 50",
    "SELECT sum(total_cents - paid_cents) FROM invoices WHERE account_id = :id "
    "AND paid_cents < total_cents",
    "SELECT * FROM employees WHERE id = (SELECT account_manager_id FROM accounts WHERE id = :id)",
]
RAW_LIST = (
    "SELECT invoices.*, accounts.name FROM invoices JOIN accounts ON accounts.id = "
    "invoices.account_id ORDER BY invoices.issue_date DESC, invoices.id DESC LIMIT 51"
)


async def sign_in(client: httpx.AsyncClient, email: str) -> None:
    page = await client.get("/login")
    token = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    response = await client.post(
        "/login", data={"email": email, "password": "atrium-demo", "csrf_token": token}
    )
    assert response.status_code == 303, response.status_code


async def run(factor: int) -> None:
    async with demo_settings() as settings:
        db = Database(settings.database_url)
        await grow(db, factor)
        async with db.session() as session:
            customer = await user_by_email(session, "customer@example.com")
            employee = await user_by_email(session, "employee@example.com")
            assert customer is not None and employee is not None
            account_id = await session.scalar(
                select(Contact.account_id).where(Contact.user_id == customer.id)
            )
            principal = await load_principal(session, employee)
            invoices = await session.scalar(text("SELECT count(*) FROM invoices"))
        assert account_id is not None
        from datetime import date

        today = date.today()

        async with running_app(settings) as (app, _state):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                await sign_in(client, "employee@example.com")
                card_url = f"/records/accounts/{account_id}"
                list_url = "/records/invoices"
                for url in (card_url, list_url):
                    probe = await client.get(url)
                    assert probe.status_code == 200, (url, probe.status_code)

                async with db.engine.connect() as conn:

                    async def raw_card() -> None:
                        for sql in RAW_CARD:
                            (await conn.execute(text(sql), {"id": account_id})).all()

                    async def raw_list() -> None:
                        (await conn.execute(text(RAW_LIST))).all()

                    card_raw = await measure("customer card: raw SQL (baseline)", raw_card)
                    list_raw = await measure("invoice list: raw SQL (baseline)", raw_list)

                async def domain_card() -> None:
                    async with db.session() as session:
                        await account_card(session, principal, account_id, today)

                async def domain_list() -> None:
                    async with db.session() as session:
                        await list_records(session, principal, RecordKind.INVOICE, today=today)

                async def page(url: str) -> None:
                    response = await client.get(url)
                    assert response.status_code == 200

                with count_statements(db.engine) as card_sql:
                    await domain_card()
                with count_statements(db.engine) as list_sql:
                    await domain_list()
                card_domain = await measure("customer card: domain queries", domain_card)
                card_page = await measure("customer card: full page", lambda: page(card_url))
                list_domain = await measure("invoice list: domain query", domain_list)
                list_page = await measure("invoice list: full page", lambda: page(list_url))
        await db.dispose()

    title = f"bench_records at {factor}x the demo ({invoices:,} invoices), SQLite"
    report(
        title + " — customer card",
        card_raw,
        [card_domain, card_page],
        notes={"customer card: domain queries": f"{card_sql[0]} SQL statements"},
    )
    report(
        title + " — invoice list, first page of 50",
        list_raw,
        [list_domain, list_page],
        notes={"invoice list: domain query": f"{list_sql[0]} SQL statements"},
    )


async def main() -> None:
    for factor in (1, 20):
        await run(factor)


if __name__ == "__main__":
    asyncio.run(main())
