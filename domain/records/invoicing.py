"""Items, invoices with their lines and payments.

An invoice's status is not stored: it follows from its dates and payments. ``total_cents`` and
``paid_cents`` are kept on the invoice by the actions that add lines and payments, so lists can
filter and sort by status and amount in SQL without summing lines per row.
"""

from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    ForeignKey,
    Integer,
    String,
    case,
    literal,
)
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import Base


class InvoiceStatus(enum.StrEnum):
    OPEN = "open"
    PAID = "paid"
    OVERDUE = "overdue"


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    description: Mapped[str] = mapped_column(String(300))
    unit: Mapped[str] = mapped_column(String(20), default="pcs")
    price_cents: Mapped[int] = mapped_column(BigInteger)
    vat_rate_bp: Mapped[int] = mapped_column(Integer, default=2100)

    @property
    def name(self) -> str:
        return self.description


class Invoice(Base):
    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="RESTRICT"), index=True
    )
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), index=True
    )
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    issue_date: Mapped[date] = mapped_column(Date, index=True)
    due_date: Mapped[date] = mapped_column(Date, index=True)
    total_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_cents: Mapped[int] = mapped_column(BigInteger, default=0)

    def status_on(self, today: date) -> InvoiceStatus:
        return invoice_status(self.total_cents, self.paid_cents, self.due_date, today)

    @property
    def open_cents(self) -> int:
        return max(self.total_cents - self.paid_cents, 0)


def invoice_status(total_cents: int, paid_cents: int, due: date, today: date) -> InvoiceStatus:
    if paid_cents >= total_cents:
        return InvoiceStatus.PAID
    if due < today:
        return InvoiceStatus.OVERDUE
    return InvoiceStatus.OPEN


def invoice_status_sql(today: date) -> ColumnElement[str]:
    """The same rule as ``invoice_status`` as a SQL expression, for filters and sorting."""
    return case(
        (Invoice.paid_cents >= Invoice.total_cents, literal(InvoiceStatus.PAID.value)),
        (Invoice.due_date < today, literal(InvoiceStatus.OVERDUE.value)),
        else_=literal(InvoiceStatus.OPEN.value),
    )


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[int | None] = mapped_column(
        ForeignKey("items.id", ondelete="SET NULL"), index=True
    )
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(BigInteger)
    vat_rate_bp: Mapped[int] = mapped_column(Integer)

    @property
    def net_cents(self) -> int:
        return self.quantity * self.unit_price_cents

    @property
    def vat_cents(self) -> int:
        return line_vat_cents(self.quantity, self.unit_price_cents, self.vat_rate_bp)


def line_vat_cents(quantity: int, unit_price_cents: int, vat_rate_bp: int) -> int:
    """VAT on one line, rounded half up to the cent."""
    return (quantity * unit_price_cents * vat_rate_bp + 5000) // 10000


def line_vat_cents_sql() -> ColumnElement[int]:
    """``line_vat_cents`` of each ``InvoiceLine`` as a SQL expression, for VAT sums in SQL.

    Python's ``//`` floors, while SQL's integer ``/`` truncates toward zero (PostgreSQL and
    SQLite alike), which differs for credit lines (negative amounts). So the remainder is taken
    away first, made non-negative: what is left divides exactly, and both agree to the cent.
    """
    scaled = InvoiceLine.quantity * InvoiceLine.unit_price_cents * InvoiceLine.vat_rate_bp + 5000
    remainder = ((scaled % 10000) + 10000) % 10000
    return (scaled - remainder) // 10000


def line_total_cents(quantity: int, unit_price_cents: int, vat_rate_bp: int) -> int:
    return quantity * unit_price_cents + line_vat_cents(quantity, unit_price_cents, vat_rate_bp)


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    paid_on: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
