"""Record cards in the domain: a card costs the same number of SQL queries however many related
records it has, and each reader gets only the sections and figures they may see."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert

from domain.access import EMPLOYEES, Principal, account_token, project_token
from domain.db import Database
from domain.people.models import UserKind
from domain.records.audience import RecordKind, rebuild_all, refresh
from domain.records.cards import INVOICE_LIMIT, account_card, project_card
from domain.records.models import (
    Account,
    AccountType,
    Contact,
    Employee,
    Invoice,
    InvoiceLine,
    Item,
    Project,
    ProjectMember,
    ProjectPartner,
    ProjectStatus,
)
from domain.records.overview import overview_for

TODAY = date(2026, 3, 16)
STAFF = Principal(user_id=0, name="Staff", kind=UserKind.STAFF, tokens=frozenset({EMPLOYEES}))


@contextmanager
def counting(db: Database) -> Iterator[list[str]]:
    """Every SQL statement sent to the database inside the block."""
    statements: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", before)


@pytest.fixture
async def company(db: Database) -> dict[str, int]:
    """One customer with a project (manager, member, partner), a contact and an hourly item."""
    async with db.transaction() as s:
        manager = Employee(number="E1", name="Manager", email="m@example.com", job_title="PM")
        member = Employee(number="E2", name="Member", email="e@example.com", job_title="Dev")
        s.add_all([manager, member])
        await s.flush()
        customer = Account(
            code="C1",
            name="Customer",
            type=AccountType.CUSTOMER,
            country="NL",
            credit_limit_cents=100_000,
            account_manager_id=manager.id,
        )
        partner = Account(code="P1", name="Partner", type=AccountType.PARTNER, country="NL")
        s.add_all([customer, partner])
        await s.flush()
        project = Project(
            code="PRJ-1",
            name="Project",
            account_id=customer.id,
            manager_id=manager.id,
            status=ProjectStatus.ACTIVE,
            budget_hours=1000,
            budget_cents=10_000_000,
        )
        item = Item(code="HOUR", description="Consultancy", unit="uur", price_cents=10_000)
        s.add_all([project, item, Contact(account_id=customer.id, name="Buyer")])
        await s.flush()
        s.add_all(
            [
                ProjectMember(project_id=project.id, employee_id=member.id, role="Developer"),
                ProjectPartner(project_id=project.id, account_id=partner.id),
            ]
        )
        await s.flush()
        await rebuild_all(s)
    return {
        "customer": customer.id,
        "partner": partner.id,
        "project": project.id,
        "item": item.id,
    }


async def add_invoices(db: Database, company: dict[str, int], first: int, count: int) -> None:
    """``count`` invoices of the customer on the project, each with one line of 2 hours."""
    ids = range(first, first + count)
    async with db.transaction() as s:
        await s.execute(
            insert(Invoice),
            [
                {
                    "id": i,
                    "number": f"INV-{i:06d}",
                    "account_id": company["customer"],
                    "project_id": company["project"],
                    "issue_date": TODAY - timedelta(days=i % 90),
                    "due_date": TODAY + timedelta(days=30 - i % 90),
                    "total_cents": 24_200,
                    "paid_cents": 24_200 if i % 3 == 0 else 0,
                }
                for i in ids
            ],
        )
        await s.execute(
            insert(InvoiceLine),
            [
                {
                    "invoice_id": i,
                    "item_id": company["item"],
                    "description": "Consultancy",
                    "quantity": 2,
                    "unit_price_cents": 10_000,
                    "vat_rate_bp": 2100,
                }
                for i in ids
            ],
        )
        await refresh(s, RecordKind.INVOICE, ids)


async def queries_for(db: Database, load: Any) -> tuple[int, Any]:
    async with db.session() as s:
        await load(s)  # warm up: a first connection may introspect the server
    async with db.session() as s:
        with counting(db) as statements:
            result = await load(s)
    return len(statements), result


@pytest.mark.parametrize(
    "principal_of",
    [
        pytest.param(lambda c: STAFF, id="staff"),
        pytest.param(
            lambda c: Principal(
                user_id=0,
                name="Customer",
                kind=UserKind.CUSTOMER,
                tokens=frozenset(
                    {"role:customer", account_token(c["customer"]), project_token(c["project"])}
                ),
                account_id=c["customer"],
            ),
            id="customer",
        ),
    ],
)
async def test_an_account_card_costs_the_same_with_500_invoices_as_with_5(
    db: Database, company: dict[str, int], principal_of: Any
) -> None:
    principal = principal_of(company)

    async def load(s: Any) -> Any:
        return await account_card(s, principal, company["customer"], TODAY)

    await add_invoices(db, company, 1, 5)
    few, card = await queries_for(db, load)
    assert card.invoices.total == 5 and len(card.invoices.items) == 5

    await add_invoices(db, company, 6, 495)
    many, card = await queries_for(db, load)
    assert card.invoices.total == 500 and len(card.invoices.items) == INVOICE_LIMIT
    assert card.invoices.more
    assert card.open_cents > 0

    assert many == few
    assert few <= 8


async def test_a_project_card_costs_the_same_with_500_invoices_as_with_5(
    db: Database, company: dict[str, int]
) -> None:
    async def load(s: Any) -> Any:
        return await project_card(s, STAFF, company["project"], TODAY)

    await add_invoices(db, company, 1, 5)
    few, card = await queries_for(db, load)
    assert card.realised_hours == 10 and card.realised_cents == 100_000
    assert [m.role for m in card.members.items] == ["Developer"]

    await add_invoices(db, company, 6, 495)
    many, card = await queries_for(db, load)
    assert card.invoices.total == 500 and len(card.invoices.items) == INVOICE_LIMIT
    assert card.realised_hours == 1000 and card.hours_progress == 100
    assert card.amount_progress == 100

    assert many == few
    assert few <= 9


async def test_the_customer_home_costs_the_same_with_500_invoices_as_with_5(
    db: Database, company: dict[str, int]
) -> None:
    principal = Principal(
        user_id=0,
        name="Customer",
        kind=UserKind.CUSTOMER,
        tokens=frozenset({"role:customer", account_token(company["customer"])}),
        account_id=company["customer"],
    )

    async def load(s: Any) -> Any:
        return await overview_for(s, principal, TODAY)

    await add_invoices(db, company, 1, 5)
    few, overview = await queries_for(db, load)
    assert overview.recent_invoices.total == 5
    await add_invoices(db, company, 6, 495)
    many, overview = await queries_for(db, load)
    assert overview.recent_invoices.total == 500
    assert [p.realised_hours for p in overview.projects] == [1000]
    assert many == few


async def test_a_partner_gets_a_customer_card_without_invoices_contacts_or_money(
    db: Database, company: dict[str, int]
) -> None:
    await add_invoices(db, company, 1, 5)
    partner = Principal(
        user_id=0,
        name="Partner",
        kind=UserKind.PARTNER,
        tokens=frozenset(
            {"role:partner", account_token(company["partner"]), project_token(company["project"])}
        ),
        account_id=company["partner"],
    )
    async with db.session() as s:
        account = await account_card(s, partner, company["customer"], TODAY)
        project = await project_card(s, partner, company["project"], TODAY)
    assert not account.insider
    assert account.contacts.total == 0 and account.invoices.total == 0
    assert account.open_cents == 0 and account.log == []
    assert [p.id for p in account.projects.items] == [company["project"]]
    assert account.manager is not None  # the project's manager is on the partner's team
    assert not project.insider and not project.shows_amounts
    assert project.invoices.total == 0 and project.realised_cents == 0
    assert project.amount_progress is None
    assert project.realised_hours == 10  # hours are shared with the people doing the work
