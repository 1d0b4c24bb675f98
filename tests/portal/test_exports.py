"""CSV and XML exports of record lists: headers, every matching row (not one page), only the
reader's rows and columns, decimal amounts, the CSV-injection guard and XML escaping."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import date
from decimal import Decimal
from xml.etree import ElementTree

import httpx
from sqlalchemy import select, update

from domain.db import Database
from domain.records.invoicing import Invoice, InvoiceStatus, invoice_status
from domain.records.projects import Project, ProjectStatus
from domain.records.relations import Contact
from portal.exports import CsvWriter, XmlWriter, amount, export_columns
from tests.portal import test_record_lists as lists

demo = lists.demo
sign_in = lists.sign_in
SignIn = lists.SignIn
ADMIN, CUSTOMER, PARTNER = lists.ADMIN, lists.CUSTOMER, lists.PARTNER

INVOICE_COLUMNS = [
    "id",
    "number",
    "account_id",
    "account_name",
    "project_id",
    "currency",
    "issue_date",
    "due_date",
    "total_amount",
    "paid_amount",
    "status",
]


def read_csv(response: httpx.Response) -> tuple[list[str], list[dict[str, str]]]:
    assert response.content.startswith(codecs.BOM_UTF8)
    reader = csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def parse_xml(data: bytes) -> ElementTree.Element:
    return ElementTree.fromstring(data)  # noqa: S314 - our own export, the thing under test


def assert_attachment(response: httpx.Response, slug: str, fmt: str) -> None:
    filename = f"{slug}-{date.today().isoformat()}.{fmt}"
    assert response.headers["content-disposition"] == f'attachment; filename="{filename}"'


# --- the writers on their own ---------------------------------------------------------------------


def test_amounts_are_decimal_with_two_places() -> None:
    assert amount(123456) == "1234.56"
    assert amount(5) == "0.05"
    assert amount(-5) == "-0.05"
    assert amount(0) == "0.00"
    assert amount(-100000) == "-1000.00"


def test_cents_and_basis_points_get_clear_names() -> None:
    names = [c.name for c in export_columns(["id", "total_cents", "vat_rate_bp", "name"])]
    assert names == ["id", "total_amount", "vat_rate_percent", "name"]


def test_the_csv_guard_touches_text_but_not_our_own_numbers() -> None:
    writer = CsvWriter(export_columns(["name", "note", "total_cents", "when"]))
    text = writer.begin() + writer.rows(
        [
            {"name": "=1+1", "note": "-2", "total_cents": -500, "when": date(2026, 1, 31)},
            {"name": "@SUM(A1)", "note": "+31 6", "total_cents": 0, "when": None},
            {"name": "\tx", "note": "a=b", "total_cents": 1, "when": None},
        ]
    )
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    assert rows == [
        ["name", "note", "total_amount", "when"],
        ["'=1+1", "'-2", "-5.00", "2026-01-31"],
        ["'@SUM(A1)", "'+31 6", "0.00", ""],
        ["'\tx", "a=b", "0.01", ""],
    ]


def test_xml_escapes_and_drops_what_xml_cannot_hold() -> None:
    writer = XmlWriter(export_columns(["id", "name"]), "contacts", "contact")
    text = (
        writer.begin()
        + writer.rows([{"id": 1, "name": 'A <b> & "c"\x00\x1b\r\nd'}, {"id": 2, "name": None}])
        + writer.end()
    )
    root = parse_xml(text.encode())
    assert [c.findtext("name") for c in root] == ['A <b> & "c"\r\nd', ""]


# --- through HTTP ---------------------------------------------------------------------------------


async def test_csv_export_of_filtered_invoices(demo: Database, sign_in: SignIn) -> None:
    client = await sign_in(ADMIN)
    today = date.today()
    async with demo.session() as session:
        invoices = {i.id: i for i in (await session.scalars(select(Invoice))).all()}
    overdue = {
        i.id
        for i in invoices.values()
        if invoice_status(i.total_cents, i.paid_cents, i.due_date, today) is InvoiceStatus.OVERDUE
    }
    response = await client.get("/records/invoices/export.csv", params={"status": "overdue"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert_attachment(response, "invoices", "csv")
    header, rows = read_csv(response)
    assert header == INVOICE_COLUMNS
    assert {int(r["id"]) for r in rows} == overdue and len(rows) == len(overdue)
    for row in rows:
        invoice = invoices[int(row["id"])]
        assert Decimal(row["total_amount"]) * 100 == invoice.total_cents
        assert Decimal(row["paid_amount"]) * 100 == invoice.paid_cents
        assert row["issue_date"] == invoice.issue_date.isoformat()
        assert row["status"] == "overdue"
    # Sorted as asked.
    response = await client.get("/records/invoices/export.csv?status=overdue&sort=total")
    totals = [Decimal(r["total_amount"]) for r in read_csv(response)[1]]
    assert totals == sorted(totals)


async def test_an_export_holds_every_row_not_one_page(demo: Database, sign_in: SignIn) -> None:
    client = await sign_in(ADMIN)
    ids = set(await lists.scalars(demo, select(Invoice.id)))
    _header, rows = read_csv(await client.get("/records/invoices/export.csv"))
    exported = [int(r["id"]) for r in rows]
    assert len(exported) == len(ids) == len(set(exported))
    assert set(exported) == ids
    response = await client.get("/records/invoices/export.xml")
    root = parse_xml(response.content)
    assert sorted(int(e.findtext("id") or 0) for e in root) == sorted(ids)


async def test_xml_export_of_filtered_projects(demo: Database, sign_in: SignIn) -> None:
    client = await sign_in(ADMIN)
    active = set(
        await lists.scalars(demo, select(Project.id).where(Project.status == ProjectStatus.ACTIVE))
    )
    response = await client.get("/records/projects/export.xml", params={"status": "active"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml; charset=utf-8"
    assert_attachment(response, "projects", "xml")
    assert response.text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<projects>')
    root = parse_xml(response.content)
    assert root.tag == "projects"
    assert {e.tag for e in root} == {"project"}
    assert {int(e.findtext("id") or 0) for e in root} == active
    first = root[0]
    assert [c.tag for c in first] == [
        "id",
        "code",
        "name",
        "status",
        "account_id",
        "account_name",
        "manager_id",
        "start_date",
        "end_date",
        "budget_hours",
        "budget_amount",
    ]
    assert {e.findtext("status") for e in root} == {"active"}
    assert "." in (first.findtext("budget_amount") or "")


async def test_formulas_are_defused_and_markup_escaped(demo: Database, sign_in: SignIn) -> None:
    account = await lists.account_of(demo, CUSTOMER)
    async with demo.transaction() as session:
        first, second = (
            await session.scalars(
                select(Contact.id).where(Contact.account_id == account).order_by(Contact.id)
            )
        ).all()[:2]
        await session.execute(
            update(Contact)
            .where(Contact.id == first)
            .values(name='=HYPERLINK("http://evil.example","x")', job_title="@SUM(A1:A9)")
        )
        await session.execute(
            update(Contact)
            .where(Contact.id == second)
            .values(name='<b>Tom & "Jerry"</b>\x01', job_title="+31 6 1234")
        )
    client = await sign_in(ADMIN)
    _header, rows = read_csv(
        await client.get("/records/contacts/export.csv", params={"account": str(account)})
    )
    by_id = {int(r["id"]): r for r in rows}
    assert by_id[first]["name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert by_id[first]["job_title"] == "'@SUM(A1:A9)"
    assert by_id[second]["job_title"] == "'+31 6 1234"
    assert by_id[second]["name"] == '<b>Tom & "Jerry"</b>\x01'
    response = await client.get("/records/contacts/export.xml", params={"account": str(account)})
    root = parse_xml(response.content)
    names = {int(e.findtext("id") or 0): e.findtext("name") for e in root}
    assert names[second] == '<b>Tom & "Jerry"</b>'
    assert names[first] == '=HYPERLINK("http://evil.example","x")'


async def test_externals_export_only_their_rows_and_columns(
    demo: Database, sign_in: SignIn
) -> None:
    client = await sign_in(CUSTOMER)
    account = await lists.account_of(demo, CUSTOMER)
    own = set(await lists.scalars(demo, select(Invoice.id).where(Invoice.account_id == account)))
    header, rows = read_csv(await client.get("/records/invoices/export.csv"))
    assert header == INVOICE_COLUMNS
    assert {int(r["id"]) for r in rows} == own
    assert {r["account_id"] for r in rows} == {str(account)}
    header, rows = read_csv(await client.get("/records/projects/export.csv"))
    assert "budget_amount" not in header and "manager_id" not in header
    assert {r["account_id"] for r in rows} == {str(account)}
    header, _rows = read_csv(await client.get("/records/employees/export.csv"))
    assert header == ["id", "name", "job_title", "email", "work_phone"]
    for path in ("/records/items/export.csv", "/records/accounts/export.xml"):
        assert (await client.get(path)).status_code == 404

    partner = await sign_in(PARTNER)
    _header, rows = read_csv(await partner.get("/records/invoices/export.csv"))
    assert not own & {int(r["id"]) for r in rows}


async def test_bad_export_requests(sign_in: SignIn) -> None:
    client = await sign_in(ADMIN)
    response = await client.get("/records/invoices/export.csv", params={"status": "bogus"})
    assert response.status_code == 400
    assert "Status: This is not one of the allowed values." in response.text
    response = await client.get("/records/invoices/export.xml", params={"sort": "1; drop"})
    assert response.status_code == 400
    for path in ("/records/invoices/export.pdf", "/records/nonsense/export.csv"):
        assert (await client.get(path)).status_code == 404
    # The list page links to both exports.
    page = await client.get("/records/invoices", params={"status": "paid"})
    assert 'href="/records/invoices/export.csv?status=paid"' in page.text
    assert 'href="/records/invoices/export.xml?status=paid"' in page.text
