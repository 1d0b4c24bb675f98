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

The column set of each kind (``SPECS``, in ``domain.records.import_columns``) accepts what
``portal.exports`` writes, so an export can be edited and imported back: amounts as decimals
(``credit_limit_amount``, ``price_amount``, also under the shorter names ``credit_limit``,
``price``), VAT as a percentage (``vat_rate_percent`` or ``vat_rate``), references by id
(``account_id``, ``manager_id``) as well as by code or employee number, the apostrophe the CSV
export puts before a cell starting with ``= + - @``, and columns that only describe (``id``,
``account_name``, totals) accepted and ignored. An invoice export lists invoices, not lines, so it
is not an invoice import file.

Checks that need no database are here (``check_file``, ``combine``); the references and the
writes are in ``domain.records.importing``.
"""

from __future__ import annotations

import csv
import enum
import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from domain.records.import_columns import NOT_ALLOWED, Column, KindSpec
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
