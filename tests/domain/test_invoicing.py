"""Invoice status and line VAT: the Python rule and its SQL twin agree, on both databases."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from domain.db import Database
from domain.records.invoicing import (
    invoice_status,
    invoice_status_sql,
    line_total_cents,
    line_vat_cents,
    line_vat_cents_sql,
)
from domain.records.models import Account, AccountType, Invoice, InvoiceLine, InvoiceStatus

TODAY = date(2026, 3, 15)
DAY = timedelta(days=1)

# (total, paid, due) -> expected status on TODAY
CASES = [
    ((10_000, 10_000, TODAY - 30 * DAY), InvoiceStatus.PAID),  # paid in full, long due
    ((10_000, 12_000, TODAY + DAY), InvoiceStatus.PAID),  # overpaid
    ((0, 0, TODAY - DAY), InvoiceStatus.PAID),  # nothing to pay
    ((10_000, 9_999, TODAY - DAY), InvoiceStatus.OVERDUE),  # one cent short, a day late
    ((10_000, 0, TODAY - 365 * DAY), InvoiceStatus.OVERDUE),
    ((10_000, 0, TODAY), InvoiceStatus.OPEN),  # due today is not late yet
    ((10_000, 5_000, TODAY), InvoiceStatus.OPEN),
    ((10_000, 0, TODAY + DAY), InvoiceStatus.OPEN),
    ((-2_500, 0, TODAY - DAY), InvoiceStatus.PAID),  # a credit note owes nothing
]


@pytest.mark.parametrize(("values", "expected"), CASES)
def test_invoice_status_rule(values: tuple[int, int, date], expected: InvoiceStatus) -> None:
    total, paid, due = values
    assert invoice_status(total, paid, due, TODAY) is expected


async def insert_invoices(db: Database, rows: list[tuple[int, int, date]]) -> list[int]:
    async with db.transaction() as session:
        account = Account(code="C1", name="Customer", type=AccountType.CUSTOMER)
        session.add(account)
        await session.flush()
        invoices = [
            Invoice(
                number=f"INV-{n:04}",
                account_id=account.id,
                issue_date=due - 30 * DAY,
                due_date=due,
                total_cents=total,
                paid_cents=paid,
            )
            for n, (total, paid, due) in enumerate(rows)
        ]
        session.add_all(invoices)
        await session.flush()
        return [invoice.id for invoice in invoices]


async def test_sql_status_agrees_with_python(db: Database) -> None:
    ids = await insert_invoices(db, [values for values, _ in CASES])
    async with db.session() as session:
        rows = await session.execute(
            select(Invoice.id, invoice_status_sql(TODAY)).order_by(Invoice.id)
        )
        in_sql = {invoice_id: InvoiceStatus(status) for invoice_id, status in rows}
        invoices = (await session.scalars(select(Invoice).order_by(Invoice.id))).all()
    assert in_sql == {i: expected for i, (_, expected) in zip(ids, CASES, strict=True)}
    for invoice in invoices:
        assert invoice.status_on(TODAY) is in_sql[invoice.id]


async def test_sql_status_filters_like_python(db: Database) -> None:
    await insert_invoices(db, [values for values, _ in CASES])
    async with db.session() as session:
        overdue = (
            await session.scalars(
                select(Invoice.number).where(
                    invoice_status_sql(TODAY) == InvoiceStatus.OVERDUE.value
                )
            )
        ).all()
    assert sorted(overdue) == ["INV-0003", "INV-0004"]


# (quantity, unit price in cents, VAT in basis points) -> VAT in cents
VAT_CASES = [
    ((1, 1_000, 2_100), 210),  # exact
    ((1, 50, 1_000), 5),  # 5.0 exactly
    ((1, 5, 1_000), 1),  # 0.5 -> rounds up
    ((1, 4, 1_000), 0),  # 0.4 -> down
    ((1, 25, 900), 2),  # 2.25 -> 2
    ((1, 50, 900), 5),  # 4.5 -> 5: half up, not to even
    ((1, 150, 900), 14),  # 13.5 -> 14
    ((1, 250, 900), 23),  # 22.5 -> 23 (banker's rounding would say 22)
    ((3, 333, 2_100), 210),  # 209.79 -> 210
    ((7, 1_999, 2_100), 2_939),  # 2938.53 -> 2939
    ((1, 99, 0), 0),  # no VAT
    ((0, 1_000, 2_100), 0),
    ((1_000_000, 1_234_567, 2_100), 259_259_070_000),  # large amounts stay exact
    ((-1, 1_000, 2_100), -210),  # a credit line
    ((-1, 250, 900), -22),  # -22.5 -> -22: half up, toward +infinity
    ((-1, 150, 900), -13),  # -13.5 -> -13
    ((-3, 333, 2_100), -210),  # -209.79 -> -210
]


@pytest.mark.parametrize(("values", "expected"), VAT_CASES)
def test_line_vat_rounds_half_up(values: tuple[int, int, int], expected: int) -> None:
    quantity, price, rate = values
    assert line_vat_cents(quantity, price, rate) == expected
    assert line_total_cents(quantity, price, rate) == quantity * price + expected


async def test_line_vat_in_sql_agrees_to_the_cent(db: Database) -> None:
    (invoice_id,) = await insert_invoices(db, [(0, 0, TODAY)])
    async with db.transaction() as session:
        lines = [
            InvoiceLine(
                invoice_id=invoice_id,
                description=f"line {n}",
                quantity=quantity,
                unit_price_cents=price,
                vat_rate_bp=rate,
            )
            for n, ((quantity, price, rate), _) in enumerate(VAT_CASES)
        ]
        session.add_all(lines)
    async with db.session() as session:
        rows = (
            await session.execute(
                select(InvoiceLine.description, line_vat_cents_sql()).order_by(InvoiceLine.id)
            )
        ).all()
        vat_total = await session.scalar(
            select(func.sum(line_vat_cents_sql())).where(InvoiceLine.invoice_id == invoice_id)
        )
    assert [int(vat) for _, vat in rows] == [expected for _, expected in VAT_CASES]
    assert vat_total is not None
    assert int(vat_total) == sum(expected for _, expected in VAT_CASES)
    for line in lines:
        assert line.vat_cents == line_vat_cents(
            line.quantity, line.unit_price_cents, line.vat_rate_bp
        )
