"""Reading import files: CSV or XML bytes in, rows of text out, or a report of why not.

Nothing here raises on bad input: every problem becomes a ``RowError`` that names the row as the
user sees it, so a file of any shape gets a report, never an exception.

- Text must be UTF-8 (a byte-order mark is dropped). Anything else — Latin-1, UTF-16, binary — is
  one report line; guessing an encoding would import mangled names without a word.
- CSV: the first row names the columns (line 1); rows are numbered as a spreadsheet shows them,
  so the first record is row 2. The delimiter is the most frequent of ``,`` ``;`` and tab in the
  header, since Dutch Excel writes ``;``. Blank rows are skipped.
- XML: a root element named after the kind (``<accounts>``) holding one element per record
  (``<account>``), with one child element per column — the shape the exporter writes. Row 1 is the
  first record element (ElementTree keeps no line numbers). A DOCTYPE or ENTITY declaration is
  refused before parsing: no billion laughs, no external entities. The whole text was decoded as
  UTF-8 above and the parser is forced to UTF-8, so what we scan is exactly what it parses.
- Column names are matched case-insensitively, with spaces read as underscores.

The column set of each kind (``SPECS``) accepts what ``portal.exports`` writes, so an export can
be edited and imported back: amounts as decimals (``credit_limit_amount``, ``price_amount``, also
under the shorter names ``credit_limit``, ``price``), VAT as a percentage (``vat_rate_percent`` or
``vat_rate``), references by id (``account_id``, ``manager_id``) as well as by code or employee
number, the apostrophe the CSV export puts before a cell starting with ``= + - @``, and columns
that only describe (``id``, ``account_name``, totals) accepted and ignored. An invoice export lists
invoices, not lines, so it is not an invoice import file.

Checks that need no database are here (``check_file``, ``combine``); the references and the
writes are in ``domain.records.importing``.
"""

from __future__ import annotations

import csv
import enum
import io
import re
import xml.etree.ElementTree as ET
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

MAX_ROWS = 50_000
MAX_BYTES = 16 * 1024 * 1024
MAX_ERRORS = 500

NOT_UTF8 = N_("The file is not UTF-8 text. Save it as CSV (UTF-8) or as XML in UTF-8.")
TOO_LARGE = N_("The file is too large to import.")
EMPTY = N_("The file is empty.")
NO_RECORDS = N_("The file holds no records.")
TOO_MANY_ROWS = N_("The file has more than %(limit)s rows. Split it into smaller files.")
TOO_MANY_ERRORS = N_("More problems were found. Fix these and import again to see the rest.")
UNREADABLE_ROW = N_("This row could not be read as CSV (check its quotes).")
NAMELESS_VALUE = N_("This row has a value in a column that has no name in the header.")
DUPLICATE_COLUMN = N_("This column appears more than once.")
XML_MALFORMED = N_("The file is not well-formed XML (line %(line)s, column %(column)s).")
XML_DECLARATIONS = N_("XML files with a DOCTYPE or ENTITY declaration are not accepted.")
XML_ROOT = N_("The root element must be <%(element)s>.")
XML_RECORD = N_("Expected a <%(element)s> element here.")
XML_NESTED = N_("This value must be plain text, without elements inside.")

_BOM = b"\xef\xbb\xbf"
# What ``portal.exports`` puts an apostrophe before in CSV, so a spreadsheet shows it as text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_DECLARATION = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)


class FileFormat(enum.StrEnum):
    CSV = "csv"
    XML = "xml"


@dataclass(frozen=True)
class RowError:
    """One problem: the row as the user sees it (0: the file as a whole), the column it concerns
    if any, and a message marked for translation, with its ``%(name)s`` values in ``params``."""

    row: int
    field: str | None
    message: str
    params: tuple[tuple[str, str], ...] = ()


@dataclass
class Problems:
    """The problems found so far, kept to ``MAX_ERRORS`` so a broken 50,000-row file gives a
    report a person can read, ending with a line that says there is more."""

    items: list[RowError] = field(default_factory=list)
    more: bool = False

    def add(self, row: int, column: str | None, message: str, /, **params: object) -> None:
        if len(self.items) < MAX_ERRORS:
            self.items.append(
                RowError(row, column, message, tuple((k, str(v)) for k, v in params.items()))
            )
        else:
            self.more = True

    def __bool__(self) -> bool:
        return bool(self.items)

    def report(self) -> list[RowError]:
        """The problems in row order (those of the whole file first)."""
        items = sorted(self.items, key=lambda e: e.row)
        return [*items, RowError(0, None, TOO_MANY_ERRORS)] if self.more else items


@dataclass(frozen=True)
class SourceRow:
    number: int
    values: dict[str, str]


@dataclass
class Table:
    """A file's column names (normalised, in order of appearance) and its non-blank rows."""

    columns: list[str] = field(default_factory=list)
    rows: list[SourceRow] = field(default_factory=list)
    header_row: int = 0


def column_name(raw: str) -> str:
    return "_".join(raw.strip().lower().split())


def detect_format(data: bytes) -> FileFormat:
    """XML when the first thing in the file is a tag, CSV otherwise."""
    return FileFormat.XML if data.removeprefix(_BOM).lstrip()[:1] == b"<" else FileFormat.CSV


def read_table(data: bytes, root: str, element: str, problems: Problems) -> Table:
    """The rows of a CSV or XML file; problems go to ``problems``, and any of them means the
    returned table must not be imported."""
    if len(data) > MAX_BYTES:
        problems.add(0, None, TOO_LARGE)
        return Table()
    raw = data.removeprefix(_BOM)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        problems.add(0, None, NOT_UTF8)
        return Table()
    if "\x00" in text:  # UTF-16 without a byte-order mark, or binary: valid UTF-8, not text
        problems.add(0, None, NOT_UTF8)
        return Table()
    if not text.strip():
        problems.add(0, None, EMPTY)
        return Table()
    if detect_format(raw) is FileFormat.XML:
        table = _read_xml(text, raw, root, element, problems)
    else:
        table = _read_csv(text, problems)
    if not problems and not table.rows:
        problems.add(0, None, NO_RECORDS)
    return table


def _too_many(problems: Problems, row: int) -> Table:
    problems.items.clear()
    problems.add(row, None, TOO_MANY_ROWS, limit=f"{MAX_ROWS:,}")
    return Table()


def _read_csv(text: str, problems: Problems) -> Table:
    first_line = text.lstrip().split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    table = Table()
    header: list[str] = []
    number = 0
    try:
        for record in reader:
            number += 1
            if not any(cell.strip() for cell in record):
                continue
            if not header:
                header = [column_name(cell) for cell in record]
                seen: set[str] = set()
                for name in header:
                    if name in seen:
                        problems.add(number, name, DUPLICATE_COLUMN)
                    elif name:
                        seen.add(name)
                table.columns = [name for name in header if name]
                table.header_row = number
                continue
            if len(table.rows) >= MAX_ROWS:
                return _too_many(problems, number)
            values: dict[str, str] = {}
            for position, cell in enumerate(record):
                name = header[position] if position < len(header) else ""
                if name:
                    values[name] = _unguarded(cell)
                elif cell.strip():
                    problems.add(number, None, NAMELESS_VALUE)
                    break
            table.rows.append(SourceRow(number, values))
    except csv.Error:
        problems.add(number + 1, None, UNREADABLE_ROW)
    return table


def _unguarded(cell: str) -> str:
    """A cell as it was before an export guarded it against formulas (``'=SUM(…)``)."""
    return cell[1:] if cell.startswith("'") and cell[1:2] in _FORMULA_STARTS else cell


def _local(tag: object) -> str:
    """An element's name without its namespace; comments and processing instructions have
    none."""
    return column_name(tag.rpartition("}")[2]) if isinstance(tag, str) else ""


def _read_xml(text: str, raw: bytes, root: str, element: str, problems: Problems) -> Table:
    if _DECLARATION.search(text):
        problems.add(0, None, XML_DECLARATIONS)
        return Table()
    parser = ET.XMLParser(encoding="utf-8")  # noqa: S314 - declarations refused above
    try:
        parser.feed(raw)
        document = parser.close()
    except ET.ParseError as exc:
        line, column = exc.position
        problems.add(0, None, XML_MALFORMED, line=line, column=column)
        return Table()
    if _local(document.tag) != root:
        problems.add(0, None, XML_ROOT, element=root)
        return Table()
    table = Table()
    columns: dict[str, None] = {}
    for number, record in enumerate(document, start=1):
        if _local(record.tag) != element:
            problems.add(number, None, XML_RECORD, element=element)
            continue
        if len(table.rows) >= MAX_ROWS:
            return _too_many(problems, number)
        values: dict[str, str] = {}
        for child in record:
            name = _local(child.tag)
            if name in values:
                problems.add(number, name, DUPLICATE_COLUMN)
            elif len(child):
                problems.add(number, name, XML_NESTED)
            values[name] = child.text or ""
            columns.setdefault(name)
        if any(value.strip() for value in values.values()):
            table.rows.append(SourceRow(number, values))
    table.columns = list(columns)
    return table


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


# -- checks that need no database -----------------------------------------------------------------

UNKNOWN_COLUMN = N_("This column is not one this import knows.")
MISSING_COLUMN = N_("This column is required but missing.")
REQUIRED = N_("This field is required.")
CONFLICT = N_("This value does not agree with column %(column)s.")
DUPLICATE_ROW = N_("This record is also in row %(row)s.")
GROUP_MISMATCH = N_("This differs from the first line of the same invoice, in row %(row)s.")


@dataclass
class Row:
    """One record of the file: its cells parsed, then (``attrs``) one value per attribute, with
    references replaced by ids and the referenced records' looked-up values in ``found``."""

    number: int
    cells: dict[str, Any]
    attrs: dict[str, Any] = field(default_factory=dict)
    found: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    ok: bool = True


def check_file(spec: KindSpec, data: bytes, problems: Problems) -> tuple[list[Row], list[Column]]:
    """Read the file and parse every cell of every row. The file or its header being wrong
    leaves no rows; a bad cell marks its row and the rest are still checked, so one report lists
    everything."""
    table = read_table(data, spec.root, spec.element, problems)
    if problems:
        return [], []
    known = {c.name for c in spec.columns}
    for name in table.columns:
        if name not in known and name not in spec.ignored:
            problems.add(table.header_row, name, UNKNOWN_COLUMN)
    present = [c for c in spec.columns if c.name in table.columns]
    have = {c.attr for c in present}
    for each in spec.fields():
        if each.required and each.attr not in have:
            names = " / ".join(c.name for c in each.columns)
            problems.add(table.header_row, names, MISSING_COLUMN)
    if problems:
        return [], []
    required = [[c for c in present if c.attr == f.attr] for f in spec.fields() if f.required]
    rows: list[Row] = []
    for source in table.rows:
        row = Row(source.number, {})
        for column in present:
            try:
                row.cells[column.name] = column.parse(source.values.get(column.name, ""))
            except ValueError as exc:
                message = exc.args[0] if exc.args and isinstance(exc.args[0], str) else NOT_ALLOWED
                problems.add(row.number, column.name, message)
                row.ok = False
        for columns in required:
            # A cell that failed to parse is not in ``cells`` and has its own message already.
            if all(row.cells.get(c.name, "") is None for c in columns):
                problems.add(row.number, columns[0].name, REQUIRED)
                row.ok = False
        rows.append(row)
    _check_keys(spec, present, rows, problems)
    return rows, present


def _first_cell(columns: list[Column], row: Row) -> tuple[Column, Any] | tuple[None, None]:
    for column in columns:
        if row.cells.get(column.name) is not None:
            return column, row.cells[column.name]
    return None, None


def _check_keys(spec: KindSpec, present: list[Column], rows: list[Row], problems: Problems) -> None:
    """The same code twice in a file is a mistake; the lines of one invoice must agree on
    everything that belongs to the invoice rather than to the line."""
    if spec.key is None:
        return
    key_columns = [c for c in present if c.attr == spec.key]
    group_columns = [c for c in present if c.attr in spec.per_group]
    first: dict[Any, Row] = {}
    for row in rows:
        column, key = _first_cell(key_columns, row)
        if column is None:
            continue
        if key not in first:
            first[key] = row
        elif not spec.per_group:
            problems.add(row.number, column.name, DUPLICATE_ROW, row=first[key].number)
            row.ok = False
        else:
            for each in group_columns:
                if row.cells.get(each.name) != first[key].cells.get(each.name):
                    problems.add(row.number, each.name, GROUP_MISMATCH, row=first[key].number)
                    row.ok = False


def combine(spec: KindSpec, present: list[Column], rows: list[Row], problems: Problems) -> None:
    """One value per attribute from the columns that give it (which must agree), and defaults
    for empty cells. Columns absent from the file give nothing: an
    update leaves those attributes as they are."""
    by_attr: dict[str, list[Column]] = {}
    for column in present:
        by_attr.setdefault(column.attr, []).append(column)
    for row in rows:
        if not row.ok:
            continue
        for attr, columns in by_attr.items():
            source, value = _first_cell(columns, row)
            for column in columns:
                other = row.cells.get(column.name)
                if source is not None and other is not None and other != value:
                    problems.add(row.number, column.name, CONFLICT, column=source.name)
                    row.ok = False
            if value is None and attr in spec.defaults:
                value = spec.defaults[attr][0]
            row.attrs[attr] = value
