"""The column set of each kind of import file, and the parsers that read their cells.

Each ``KindSpec`` names the columns a file of that kind may have, what each holds (shown on the
import page), which are required, their defaults, and the columns an export writes that an import
ignores. Parsers turn one cell's text into a value or raise ``ValueError`` with the message for
the report; the record forms' own parsers (``domain.records.actions``) are reused where the rules
are the same. Reading files and the checks are in ``domain.records.import_formats``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from domain.records.actions import ACCOUNT_FIELDS, CONTACT_FIELDS, PROJECT_FIELDS
from domain.records.audience import RecordKind
from domain.records.projects import ProjectStatus
from domain.records.relations import AccountType
from domain.text import N_

# -- values ---------------------------------------------------------------------------------------

Parser = Callable[[str], Any]

NOT_ALLOWED = N_("This is not one of the allowed values.")
AMOUNT = N_("Enter an amount such as 1250.00.")
WHOLE = N_("Expected a whole number.")
DATE = N_("Expected a date like 2026-01-31.")
PERCENT = N_("Enter a percentage from 0 to 100, such as 21.")
QUANTITY = N_("Enter a quantity from 1 to 1,000,000.")
CURRENCY = N_("Use a three-letter currency code, such as EUR.")
UNPRINTABLE = N_("This value contains characters that are not allowed.")
TOO_LONG = N_("This value is too long.")

_AMOUNT_RE = re.compile(r"-?[0-9]{1,11}(?:[.,][0-9]{1,2})?")
_PERCENT_RE = re.compile(r"[0-9]{1,3}(?:[.,][0-9]{1,2})?")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _whole(text: str, max_digits: int) -> int | None:
    """The value of a plain run of ASCII digits, or ``None``; never an over-long ``int()``."""
    if not text.isascii() or not text.isdigit() or len(text.lstrip("0")) > max_digits:
        return None
    return int(text)


def optional(parse: Parser) -> Parser:
    """``parse`` for a filled cell; an empty cell is ``None`` (then a default, or required)."""
    return lambda raw: parse(raw) if raw.strip() else None


def text(max_length: int) -> Parser:
    """One line of text, runs of white space made one space."""

    def parse(raw: str) -> str | None:
        value = " ".join(raw.split())
        if value and not value.isprintable():
            raise ValueError(UNPRINTABLE)
        if len(value) > max_length:
            raise ValueError(TOO_LONG)
        return value or None

    return parse


def record_id(raw: str) -> int | None:
    text = raw.strip()
    if not text:
        return None
    value = _whole(text, 10)
    if value is None or not 0 < value < 2**31:
        raise ValueError(WHOLE)
    return value


def amount(*, negative: bool = False) -> Parser:
    """Cents from a decimal such as ``1234.56`` (a decimal comma is read too, as Dutch Excel
    writes it); no thousands separators, which would be ambiguous."""

    def parse(raw: str) -> int | None:
        text = raw.strip()
        if not text:
            return None
        if not _AMOUNT_RE.fullmatch(text) or (text.startswith("-") and not negative):
            raise ValueError(AMOUNT)
        return int(Decimal(text.replace(",", ".")) * 100)

    return parse


def percent(raw: str) -> int | None:
    """Basis points from a percentage such as ``21`` or ``5.5``."""
    text = raw.strip().removesuffix("%").strip()
    if not text:
        return None
    if not _PERCENT_RE.fullmatch(text):
        raise ValueError(PERCENT)
    value = int(Decimal(text.replace(",", ".")) * 100)
    if value > 10_000:
        raise ValueError(PERCENT)
    return value


def day(raw: str) -> date | None:
    text = raw.strip()
    if not text:
        return None
    try:
        if not _DATE_RE.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(DATE) from None


def quantity(raw: str) -> int | None:
    text = raw.strip()
    if not text:
        return None
    value = _whole(text, 7)
    if value is None or not 1 <= value <= 1_000_000:
        raise ValueError(QUANTITY)
    return value


def currency(raw: str) -> str | None:
    text = raw.strip().upper()
    if not text:
        return None
    if not re.fullmatch(r"[A-Z]{3}", text):
        raise ValueError(CURRENCY)
    return text


def choice(values: type[enum.StrEnum]) -> Parser:
    def parse(raw: str) -> enum.StrEnum | None:
        text = raw.strip().lower()
        if not text:
            return None
        try:
            return values(text)
        except ValueError:
            raise ValueError(NOT_ALLOWED) from None

    return parse


# -- the column set of each kind ------------------------------------------------------------------


class Ref(enum.StrEnum):
    """A column naming another record, looked up (by code or by id) before anything is written."""

    EMPLOYEE = "employee"
    ACCOUNT = "account"
    PROJECT = "project"
    ITEM = "item"


@dataclass(frozen=True)
class Column:
    name: str
    attr: str
    parse: Parser
    holds: str
    ref: Ref | None = None
    by_id: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Field:
    """One attribute of the record and the columns that may give it (``account_code`` or
    ``account_id``): what the import page lists."""

    attr: str
    columns: tuple[Column, ...]
    required: bool
    default: str | None


@dataclass(frozen=True)
class KindSpec:
    kind: RecordKind
    root: str
    element: str
    # The attribute that names a record in the file (one row each; for invoices, one group of
    # lines each), or None when matching needs the database (contacts).
    key: str | None
    matching: str
    columns: tuple[Column, ...]
    required: frozenset[str]
    # Values for absent or empty cells: (value, as shown on the import page).
    defaults: dict[str, tuple[Any, str]] = field(default_factory=dict)
    # Columns an export writes that an import has no use for (ids of the record itself, names
    # shown beside a reference, computed totals): accepted and left alone.
    ignored: frozenset[str] = frozenset()
    # Attributes that belong to the invoice, not to each of its lines.
    per_group: frozenset[str] = frozenset()

    def fields(self) -> list[Field]:
        attrs = list(dict.fromkeys(c.attr for c in self.columns))
        return [
            Field(
                attr,
                tuple(c for c in self.columns if c.attr == attr),
                attr in self.required,
                self.defaults[attr][1] if attr in self.defaults else None,
            )
            for attr in attrs
        ]


TEXT_HOLDS = N_("Text.")
KEY = N_("Code. A record with this code is updated; otherwise one is created.")
AMOUNT_HOLDS = N_("Amount, such as 1250.00.")
DATE_HOLDS = N_("Date, such as 2026-01-31.")
WHOLE_HOLDS = N_("Whole number.")
PERCENT_HOLDS = N_("Percentage, such as 21.")
CHOICE_HOLDS = N_("One of: %(values)s.")
ID_HOLDS = N_("Id in this Atrium, as an export writes it.")
EMPLOYEE_HOLDS = N_("Employee number, such as E1001.")
COUNTRY_HOLDS = N_("Two-letter country code, such as NL.")
VAT_HOLDS = N_("VAT number, such as NL123456789B01.")
EMAIL_HOLDS = N_("Email address.")
PHONE_HOLDS = N_("Phone number.")
CURRENCY_HOLDS = N_("Currency code, such as EUR.")
QUANTITY_HOLDS = N_("Whole number from 1 to 1,000,000.")
ITEMS_OWN = N_("the item's")


def _employee(name: str, attr: str) -> tuple[Column, Column]:
    return (
        Column(name, attr, text(20), EMPLOYEE_HOLDS, Ref.EMPLOYEE),
        Column(f"{name}_id", attr, record_id, ID_HOLDS, Ref.EMPLOYEE, by_id=True),
    )


def _reference(name: str, ref: Ref, holds: str, max_length: int = 20) -> tuple[Column, Column]:
    return (
        Column(f"{name}_code", f"{name}_id", text(max_length), holds, ref),
        Column(f"{name}_id", f"{name}_id", record_id, ID_HOLDS, ref, by_id=True),
    )


def _choice(name: str, values: type[enum.StrEnum]) -> Column:
    return Column(name, name, choice(values), CHOICE_HOLDS, choices=tuple(v.value for v in values))


ACCOUNTS = KindSpec(
    key="code",
    kind=RecordKind.ACCOUNT,
    root="accounts",
    element="account",
    matching=N_("Rows are matched on code: an account with the same code is updated."),
    columns=(
        Column("code", "code", text(20), KEY),
        Column("name", "name", optional(ACCOUNT_FIELDS["name"]), TEXT_HOLDS),
        _choice("type", AccountType),
        Column("city", "city", ACCOUNT_FIELDS["city"], TEXT_HOLDS),
        Column("country", "country", optional(ACCOUNT_FIELDS["country"]), COUNTRY_HOLDS),
        Column("vat_number", "vat_number", ACCOUNT_FIELDS["vat_number"], VAT_HOLDS),
        Column("credit_limit", "credit_limit_cents", amount(), AMOUNT_HOLDS),
        Column("credit_limit_amount", "credit_limit_cents", amount(), AMOUNT_HOLDS),
        *_employee("account_manager", "account_manager_id"),
    ),
    required=frozenset({"code", "name", "type"}),
    defaults={"country": ("NL", "NL"), "credit_limit_cents": (0, "0")},
    ignored=frozenset({"id"}),
)

CONTACTS = KindSpec(
    key=None,
    kind=RecordKind.CONTACT,
    root="contacts",
    element="contact",
    matching=N_(
        "Rows are matched on id when one is given, otherwise on account and email address, or "
        "on account and name for a contact without an email address: a matching contact is "
        "updated."
    ),
    columns=(
        Column("id", "id", record_id, ID_HOLDS),
        *_reference("account", Ref.ACCOUNT, N_("Account code.")),
        Column("name", "name", optional(CONTACT_FIELDS["name"]), TEXT_HOLDS),
        Column("job_title", "job_title", CONTACT_FIELDS["job_title"], TEXT_HOLDS),
        Column("email", "email", CONTACT_FIELDS["email"], EMAIL_HOLDS),
        Column("phone", "phone", CONTACT_FIELDS["phone"], PHONE_HOLDS),
    ),
    required=frozenset({"account_id", "name"}),
    ignored=frozenset({"account_name"}),
)

PROJECTS = KindSpec(
    key="code",
    kind=RecordKind.PROJECT,
    root="projects",
    element="project",
    matching=N_("Rows are matched on code: a project with the same code is updated."),
    columns=(
        Column("code", "code", text(20), KEY),
        Column("name", "name", optional(PROJECT_FIELDS["name"]), TEXT_HOLDS),
        *_reference("account", Ref.ACCOUNT, N_("Account code.")),
        _choice("status", ProjectStatus),
        *_employee("manager", "manager_id"),
        Column("start_date", "start_date", day, DATE_HOLDS),
        Column("end_date", "end_date", day, DATE_HOLDS),
        Column(
            "budget_hours", "budget_hours", optional(PROJECT_FIELDS["budget_hours"]), WHOLE_HOLDS
        ),
        Column("budget_amount", "budget_cents", amount(), AMOUNT_HOLDS),
        Column("description", "description", PROJECT_FIELDS["description"], TEXT_HOLDS),
    ),
    required=frozenset({"code", "name", "account_id"}),
    defaults={
        "status": (ProjectStatus.PLANNED, ProjectStatus.PLANNED.value),
        "budget_hours": (0, "0"),
        "budget_cents": (0, "0"),
    },
    ignored=frozenset({"id", "account_name"}),
)

ITEMS = KindSpec(
    key="code",
    kind=RecordKind.ITEM,
    root="items",
    element="item",
    matching=N_("Rows are matched on code: an item with the same code is updated."),
    columns=(
        Column("code", "code", text(30), KEY),
        Column("description", "description", text(300), TEXT_HOLDS),
        Column("name", "description", text(300), TEXT_HOLDS),
        Column("unit", "unit", text(20), TEXT_HOLDS),
        Column("price", "price_cents", amount(), AMOUNT_HOLDS),
        Column("price_amount", "price_cents", amount(), AMOUNT_HOLDS),
        Column("vat_rate", "vat_rate_bp", percent, PERCENT_HOLDS),
        Column("vat_rate_percent", "vat_rate_bp", percent, PERCENT_HOLDS),
    ),
    required=frozenset({"code", "description", "price_cents"}),
    defaults={"unit": ("pcs", "pcs"), "vat_rate_bp": (2100, "21")},
    ignored=frozenset({"id"}),
)

INVOICES = KindSpec(
    key="number",
    kind=RecordKind.INVOICE,
    root="invoices",
    element="invoice",
    matching=N_(
        "One row per invoice line. Lines with the same invoice number make one invoice; "
        "importing an invoice number that exists replaces that invoice's lines."
    ),
    columns=(
        Column("invoice_number", "number", text(30), N_("Invoice number.")),
        Column("number", "number", text(30), N_("Invoice number.")),
        *_reference("account", Ref.ACCOUNT, N_("Account code.")),
        *_reference("project", Ref.PROJECT, N_("Project code.")),
        Column("issue_date", "issue_date", day, DATE_HOLDS),
        Column("due_date", "due_date", day, DATE_HOLDS),
        Column("currency", "currency", currency, CURRENCY_HOLDS),
        *_reference("item", Ref.ITEM, N_("Item code."), max_length=30),
        Column("description", "description", text(300), TEXT_HOLDS),
        Column("quantity", "quantity", quantity, QUANTITY_HOLDS),
        Column("unit_price", "unit_price_cents", amount(negative=True), AMOUNT_HOLDS),
        Column("unit_price_amount", "unit_price_cents", amount(negative=True), AMOUNT_HOLDS),
        Column("vat_rate", "vat_rate_bp", percent, PERCENT_HOLDS),
        Column("vat_rate_percent", "vat_rate_bp", percent, PERCENT_HOLDS),
    ),
    required=frozenset({"number", "account_id", "issue_date", "due_date", "quantity"}),
    defaults={
        "currency": ("EUR", "EUR"),
        "description": (None, ITEMS_OWN),
        "unit_price_cents": (None, ITEMS_OWN),
        "vat_rate_bp": (None, ITEMS_OWN),
    },
    ignored=frozenset({"id", "account_name", "total_amount", "paid_amount", "status"}),
    per_group=frozenset(
        {"number", "account_id", "project_id", "issue_date", "due_date", "currency"}
    ),
)

SPECS: dict[RecordKind, KindSpec] = {
    spec.kind: spec for spec in (ACCOUNTS, CONTACTS, PROJECTS, ITEMS, INVOICES)
}
