"""The demo company: Van der Meer Groothandel B.V., a Dutch wholesaler with services, loaded into
a freshly migrated database so that Atrium has something believable to show from the first start.

``load_demo`` is safe to call on every start: once the database holds users it does nothing. The
company is the same on every run for the same ``today`` (one fixed seed for ``random.Random`` and
Faker, and every id assigned here), and its invoices are dated relative to ``today`` so that there
are always open, overdue and paid ones. It is built in memory and written in one transaction with
a handful of bulk inserts.

Four fixed logins, all with password ``DEMO_PASSWORD``, show the four kinds of visitor (see
``domain.demo.logins``): admin@, employee@, customer@ and partner@example.com.

The company's rows are written directly, not through the domain actions, so no events are
recorded for them: a search index or other consumer of the event log must be rebuilt after loading
(or resetting) the demo. Its social life (``domain.demo.social``: groups, posts, comments,
reactions) is then made through the actions, in the same transaction.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date

from sqlalchemy import text

from domain.db import Database
from domain.demo.accounts import build_accounts
from domain.demo.catalogue import build_items
from domain.demo.chance import Chance
from domain.demo.invoices import build_invoices
from domain.demo.logins import DEMO_PASSWORD
from domain.demo.organisation import build_organisation
from domain.demo.projects import build_projects
from domain.demo.rows import DemoData
from domain.demo.social import build_social
from domain.demo.storage import holds_company_data, holds_users, wipe, write
from domain.people.passwords import hash_password
from domain.records.audience import rebuild_all
from domain.records.relations import AccountType

__all__ = ["DEMO_PASSWORD", "DemoSummary", "load_demo"]

# Serialises concurrent loaders on PostgreSQL (several workers starting at once); SQLite's
# BEGIN IMMEDIATE already does. Any constant works, as long as nothing else uses it.
_ADVISORY_LOCK = 0x41_74_72_69_75_6D  # "Atrium"


@dataclass(frozen=True)
class DemoSummary:
    """How many rows the demo wrote, per kind."""

    departments: int
    employees: int
    users: int
    accounts_customers: int
    accounts_partners: int
    contacts: int
    projects: int
    items: int
    invoices: int
    invoice_lines: int
    payments: int
    posts: int

    @classmethod
    def of(cls, data: DemoData, posts: int) -> DemoSummary:
        types = [row["type"] for row in data.accounts]
        return cls(
            departments=len(data.departments),
            employees=len(data.employees),
            users=len(data.users),
            accounts_customers=types.count(AccountType.CUSTOMER),
            accounts_partners=types.count(AccountType.PARTNER),
            contacts=len(data.contacts),
            projects=len(data.projects),
            items=len(data.items),
            invoices=len(data.invoices),
            invoice_lines=len(data.invoice_lines),
            payments=len(data.payments),
            posts=posts,
        )


async def load_demo(
    db: Database, *, today: date | None = None, reset: bool = False, social: bool = True
) -> DemoSummary | None:
    """Fill the database with the demo company, as seen on ``today`` (default: the local date).

    Returns None, and changes nothing, when the database already holds users. With ``reset``,
    every row of every table is deleted first. Without ``social`` only the company's records and
    users are made (no groups or posts): tests of the records use that, as it is 4x quicker.
    Raises ``RuntimeError`` rather than mixing the demo
    into a database that holds company records but no users.
    """
    day = today or date.today()
    async with db.transaction() as session:
        if db.dialect == "postgresql":
            await session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK}
            )
        if reset:
            await wipe(session)
        elif await holds_users(session):
            return None
        elif await holds_company_data(session):
            raise RuntimeError(
                "the database holds company records but no users; "
                "load the demo with reset=True to replace them"
            )
        # Both steps are pure CPU work (argon2, Faker): keep them off the event loop.
        password_hash = await asyncio.to_thread(hash_password, DEMO_PASSWORD)
        data = await asyncio.to_thread(build_demo, day, password_hash)
        await write(session, data, dialect=db.dialect)
        # The rows bypass the record actions, so their audiences are computed here, in SQL.
        await rebuild_all(session)
        posts = await build_social(session, day) if social else 0
    return DemoSummary.of(data, posts)


def build_demo(today: date, password_hash: str) -> DemoData:
    """The whole demo company as rows, the same for the same ``today`` and hash."""
    chance = Chance()
    data = DemoData()
    org = build_organisation(chance, today, password_hash, data)
    relations = build_accounts(chance, today, password_hash, org, data)
    items = build_items(data)
    projects = build_projects(chance, today, org, relations, data)
    build_invoices(chance, today, relations, items, projects, data)
    return data
