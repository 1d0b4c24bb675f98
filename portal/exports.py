"""Exports of record lists: CSV for spreadsheets, XML for other programs.

Both writers take rows as ``domain.records.lists.list_records`` gives them — only the columns the
reader may see — and turn them into text one page at a time, so exporting every invoice streams
instead of building the file in memory. Columns keep the lists' machine names (the same as the
JSON API), except where the stored unit would mislead a spreadsheet:

- amounts stored in cents (``total_cents``) become decimal amounts named ``total_amount``
  (``"1234.56"``), in the row's currency;
- VAT rates stored in basis points (``vat_rate_bp``) become percentages named
  ``vat_rate_percent`` (``"21.00"``).

CSV is UTF-8 with a byte-order mark, which Excel needs to read it as UTF-8, and has a header row.
A text cell that starts with ``= + - @`` (or a tab or carriage return) gets a leading apostrophe,
so a spreadsheet shows it as text instead of running it as a formula (CSV injection); the numbers
and dates we format ourselves are left alone. XML is UTF-8 with a declaration, a root element
named after the kind in the plural and one element per row; characters XML 1.0 cannot hold are
dropped.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol
from xml.sax.saxutils import escape

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Everything outside the XML 1.0 Char production.
XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
XML_ENTITIES = {"\r": "&#13;"}  # a raw CR would be read back as a line feed


def amount(cents: int) -> str:
    """Cents as a decimal amount with two decimals: 123456 -> "1234.56", -5 -> "-0.05"."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


@dataclass(frozen=True)
class ExportColumn:
    key: str
    name: str

    def text(self, value: Any) -> str:
        if value is None:
            return ""
        if self.key.endswith(("_cents", "_bp")) and isinstance(value, int):
            return amount(value)  # cents and basis points both have two decimals
        if isinstance(value, date):
            return value.isoformat()
        return str(value)


def export_columns(keys: Iterable[str]) -> list[ExportColumn]:
    columns = []
    for key in keys:
        name = key
        if key.endswith("_cents"):
            name = key.removesuffix("_cents") + "_amount"
        elif key.endswith("_bp"):
            name = key.removesuffix("_bp") + "_percent"
        columns.append(ExportColumn(key, name))
    return columns


def guard_formula(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class Writer(Protocol):
    media_type: str

    def begin(self) -> str: ...
    def rows(self, rows: Iterable[dict[str, Any]]) -> str: ...
    def end(self) -> str: ...


class CsvWriter:
    media_type = "text/csv; charset=utf-8"

    def __init__(self, columns: Sequence[ExportColumn]) -> None:
        self.columns = columns

    def _lines(self, cells: Iterable[Iterable[str]]) -> str:
        buffer = io.StringIO()
        csv.writer(buffer).writerows(cells)
        return buffer.getvalue()

    def begin(self) -> str:
        return "\ufeff" + self._lines([[c.name for c in self.columns]])

    def rows(self, rows: Iterable[dict[str, Any]]) -> str:
        return self._lines(
            [
                [
                    guard_formula(c.text(value)) if isinstance(value, str) else c.text(value)
                    for c in self.columns
                    for value in (row.get(c.key),)
                ]
                for row in rows
            ]
        )

    def end(self) -> str:
        return ""


class XmlWriter:
    media_type = "application/xml; charset=utf-8"

    def __init__(self, columns: Sequence[ExportColumn], root: str, element: str) -> None:
        self.columns = columns
        self.root = root
        self.element = element

    def begin(self) -> str:
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<{self.root}>\n'

    def _cell(self, column: ExportColumn, value: Any) -> str:
        text = XML_ILLEGAL.sub("", column.text(value))
        if not text:
            return f"<{column.name}/>"
        return f"<{column.name}>{escape(text, XML_ENTITIES)}</{column.name}>"

    def rows(self, rows: Iterable[dict[str, Any]]) -> str:
        return "".join(
            f"  <{self.element}>"
            + "".join(self._cell(c, row.get(c.key)) for c in self.columns)
            + f"</{self.element}>\n"
            for row in rows
        )

    def end(self) -> str:
        return f"</{self.root}>\n"


FORMATS = ("csv", "xml")


def make_writer(fmt: str, keys: Iterable[str], *, root: str, element: str) -> Writer:
    """A writer for one of ``FORMATS``; the caller has checked ``fmt``."""
    columns = export_columns(keys)
    if fmt == "csv":
        return CsvWriter(columns)
    if fmt == "xml":
        return XmlWriter(columns, root, element)
    raise ValueError(f"unknown export format {fmt!r}")


async def export_chunks(
    writer: Writer,
    first: list[dict[str, Any]],
    cursor: str | None,
    next_page: Callable[[str], Awaitable[tuple[list[dict[str, Any]], str | None]]],
) -> AsyncIterator[bytes]:
    """The file as bytes, a page of rows per chunk: ``first`` (already read, so bad filters
    fail before the response starts), then ``next_page(cursor)`` until the cursor runs out."""
    yield (writer.begin() + writer.rows(first)).encode()
    while cursor:
        rows, cursor = await next_page(cursor)
        yield writer.rows(rows).encode()
    yield writer.end().encode()
