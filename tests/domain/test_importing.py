"""Importing records: any file gets a report and never an exception; a file with a bad row writes
nothing; a good one is written whole, once (re-importing changes nothing), with Data Log rows for
what it changes and the audiences of what it touches recomputed.

The properties run on the checks that need no database (``check_file``); the examples below them
run the whole import on each backend."""

from __future__ import annotations

import codecs
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from domain.access import Principal, load_principal
from domain.db import Base, Database
from domain.errors import Forbidden, NotFound
from domain.people.models import Role, UserKind
from domain.records.actions import ACCOUNT_FIELDS
from domain.records.audience import RecordAudience, RecordKind, visible_ids
from domain.records.datalog import RecordChange
from domain.records.import_columns import (
    ACCOUNTS,
    CONTACTS,
    INVOICES,
    ITEMS,
    PROJECTS,
    SPECS,
    KindSpec,
    amount,
)
from domain.records.import_formats import (
    MAX_ROWS,
    NOT_UTF8,
    XML_DECLARATIONS,
    Problems,
    check_file,
)
from domain.records.importing import ImportReport, do_import
from domain.records.invoicing import Invoice, InvoiceLine, Item, line_total_cents
from domain.records.org import Employee
from domain.records.projects import Project, ProjectStatus
from domain.records.relations import Account, AccountType, Contact

NOW = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
PROPERTY = settings(
    database=None, deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow]
)

ACCOUNTS_CSV = """code,name,type,city,country,credit_limit,account_manager
C1,Hendriks Bouw B.V.,customer,Utrecht,NL,2500.00,E1
C2,Jansen Installatie,customer,Gent,BE,,
P1,De Graaf Techniek,partner,Zwolle,,1000,E2
"""


def checked(spec: KindSpec, data: bytes) -> tuple[list[Any], Problems]:
    problems = Problems()
    rows, _present = check_file(spec, data, problems)
    return rows, problems


def messages(problems: Problems) -> list[tuple[int, str | None, str]]:
    return [(e.row, e.field, e.message) for e in problems.report()]


# -- properties of the checks: any input, a report, never an exception ----------------------------


@PROPERTY
@given(kind=st.sampled_from(sorted(SPECS)), data=st.binary(max_size=2000))
@example(kind=RecordKind.ACCOUNT, data=b"\xef\xbb\xbf")
@example(kind=RecordKind.ACCOUNT, data=b'code,name\n"open quote,x\n')
@example(kind=RecordKind.INVOICE, data=b"<invoices><invoice><number>1</number>")
@example(kind=RecordKind.ITEM, data=b"<?xml version='1.0'?><items><item>&x;</item></items>")
def test_any_bytes_get_a_report_or_rows_never_an_exception(kind: RecordKind, data: bytes) -> None:
    rows, problems = checked(SPECS[kind], data)
    assert problems or rows
    for error in problems.report():
        assert error.message and error.row >= 0


cells = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00\r\n"),
    max_size=12,
)


@PROPERTY
@given(
    kind=st.sampled_from(sorted(SPECS)),
    header=st.lists(st.sampled_from(["code", "name", "type", "number", "quantity", "x", "", "id"])),
    body=st.lists(st.lists(cells, max_size=8), max_size=10),
    delimiter=st.sampled_from([",", ";", "\t"]),
    xml=st.booleans(),
)
def test_any_table_of_text_gets_a_report_or_rows(
    kind: RecordKind, header: list[str], body: list[list[str]], delimiter: str, xml: bool
) -> None:
    spec = SPECS[kind]
    if xml:
        records = "".join(
            f"<{spec.element}>"
            + "".join(f"<{n or 'v'}>{c.replace('<', '').replace('&', '')}</{n or 'v'}>"
                      for n, c in zip(header, row, strict=False))
            + f"</{spec.element}>"
            for row in body
        )  # fmt: skip
        data = f"<{spec.root}>{records}</{spec.root}>".encode()
    else:
        lines = [delimiter.join(header), *(delimiter.join(row) for row in body)]
        data = "\n".join(lines).encode()
    rows, problems = checked(spec, data)
    assert problems or rows
    if problems:
        assert all(e.row <= len(body) + 1 for e in problems.report())


account_rows = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.text(alphabet="abcdefgh ijké", min_size=1, max_size=30).filter(str.strip),
            "type": st.sampled_from(["customer", "partner", "Customer"]),
            "credit_limit": st.one_of(
                st.just(""), st.decimals(0, 10**9, places=2).map(lambda d: f"{d:.2f}")
            ),
            "city": st.text(alphabet="abcxyz", max_size=10),
        }
    ),
    min_size=1,
    max_size=30,
)
corruptions = st.sampled_from(
    [
        ("credit_limit", "12.345"),
        ("credit_limit", "-5"),
        ("credit_limit", "1e5"),
        ("type", "supplier"),
        ("name", ""),
        ("country", "Nederland"),
        ("vat_number", "123"),
        ("code", "A" * 21),
    ]
)


def accounts_csv(rows: list[dict[str, str]], delimiter: str = ",") -> str:
    lines = [
        delimiter.join(["code", "name", "type", "credit_limit", "city", "country", "vat_number"])
    ]
    lines += [
        delimiter.join([f"A{n}", r["name"], r["type"], r["credit_limit"], r["city"], "NL", ""])
        for n, r in enumerate(rows)
    ]
    return "\n".join(lines) + "\n"


@PROPERTY
@given(rows=account_rows, delimiter=st.sampled_from([",", ";"]), bom=st.booleans())
def test_good_rows_pass_the_checks(rows: list[dict[str, str]], delimiter: str, bom: bool) -> None:
    data = accounts_csv(rows, delimiter).encode()
    parsed, problems = checked(ACCOUNTS, codecs.BOM_UTF8 + data if bom else data)
    assert messages(problems) == []
    assert [row.number for row in parsed] == list(range(2, len(rows) + 2))


@PROPERTY
@given(rows=account_rows, data=st.data(), corruption=corruptions)
def test_one_bad_cell_is_reported_on_its_row_and_column(
    rows: list[dict[str, str]], data: st.DataObject, corruption: tuple[str, str]
) -> None:
    column, value = corruption
    bad = data.draw(st.integers(0, len(rows) - 1))
    text = accounts_csv(rows)
    lines = text.splitlines()
    header = lines[0].split(",")
    cells = lines[bad + 1].split(",")
    cells[header.index(column)] = value
    lines[bad + 1] = ",".join(cells)
    _rows, problems = checked(ACCOUNTS, ("\n".join(lines) + "\n").encode())
    assert [(e.row, e.field) for e in problems.report()] == [(bad + 2, column)]


@PROPERTY
@given(text=st.text(min_size=1).filter(lambda t: any(ord(c) > 127 for c in t)))
def test_text_in_another_encoding_is_one_clear_line(text: str) -> None:
    for encoding in ("utf-16", "utf-16-le", "utf-32"):
        _rows, problems = checked(ACCOUNTS, ("code,name,type\n" + text).encode(encoding))
        assert messages(problems) == [(0, None, NOT_UTF8)]
    latin = "code,name,type\nC1,Café Ø,customer\n".encode("latin-1")
    assert messages(checked(ACCOUNTS, latin)[1]) == [(0, None, NOT_UTF8)]


def test_binary_garbage_is_not_text() -> None:
    for data in (bytes(range(256)) * 8, b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, b"PK\x03\x04\x00"):
        assert messages(checked(ACCOUNTS, data)[1]) == [(0, None, NOT_UTF8)]


def test_wrong_columns_are_named_once_each_in_the_header_row() -> None:
    data = b"\n\ncode;naam;type;colour\nC1;x;customer;red\nC2;y;partner;blue\n"
    assert messages(checked(ACCOUNTS, data)[1]) == [
        (3, "naam", "This column is not one this import knows."),
        (3, "colour", "This column is not one this import knows."),
        (3, "name", "This column is required but missing."),
    ]
    # Alternatives are named together; columns an export writes are accepted.
    data = b"id,name,account_name\n7,Anna,Acme\n"
    assert messages(checked(CONTACTS, data)[1]) == [
        (1, "account_code / account_id", "This column is required but missing.")
    ]


def test_duplicate_codes_and_columns() -> None:
    data = b"code,name,type\nC1,a,customer\nC2,b,customer\nC1,c,partner\n"
    problems = checked(ACCOUNTS, data)[1]
    assert messages(problems) == [(4, "code", "This record is also in row %(row)s.")]
    assert problems.report()[0].params == (("row", "2"),)
    data = b"code,name,type,Name\nC1,a,customer,b\n"
    assert messages(checked(ACCOUNTS, data)[1]) == [
        (1, "name", "This column appears more than once.")
    ]


def test_bad_dates_and_numbers() -> None:
    data = (
        b"code,name,account_code,start_date,end_date,budget_hours,budget_amount\n"
        b"P1,a,C1,2026-02-30,31-01-2026,1.5,12.345\n"
        b"P2,b,C1,20260101,,-3,abc\n"
    )
    assert [(e.row, e.field) for e in checked(PROJECTS, data)[1].report()] == [
        (2, "start_date"),
        (2, "end_date"),
        (2, "budget_hours"),
        (2, "budget_amount"),
        (3, "start_date"),
        (3, "budget_hours"),
        (3, "budget_amount"),
    ]


@pytest.mark.parametrize("raw", ["1250", "1250,5", "1250.50", "0,05", "99999999999.99"])
def test_amounts_are_read_as_the_record_forms_read_them(raw: str) -> None:
    assert amount()(raw) == ACCOUNT_FIELDS["credit_limit_cents"](raw)


@pytest.mark.parametrize(
    "raw", ["1.250", "1,250", "1.250,50", "1,250.50", "12.345", "1e3", "100000000000"]
)
def test_amounts_with_thousands_separators_are_refused_never_misread(raw: str) -> None:
    # The record forms read "1.250" as 1250 euros; a file must never import it as 1.25.
    with pytest.raises(ValueError):
        amount()(raw)


def test_lines_of_one_invoice_must_agree() -> None:
    data = (
        b"invoice_number,account_code,issue_date,due_date,description,quantity,unit_price\n"
        b"F1,C1,2026-01-01,2026-01-31,a,1,10\n"
        b"F1,C2,2026-01-01,2026-02-28,b,1,10\n"
    )
    assert [(e.row, e.field) for e in checked(INVOICES, data)[1].report()] == [
        (3, "account_code"),
        (3, "due_date"),
    ]


def test_quoted_cells_may_span_lines_and_rows_are_numbered_as_a_spreadsheet_shows_them() -> None:
    data = b'code,name,type\nC1,"Two\nlines",customer\n\nC2,b,nope\n'
    rows, problems = checked(ACCOUNTS, data)
    assert rows[0].cells["name"] == "Two lines"
    assert messages(problems) == [(4, "type", "This is not one of the allowed values.")]


def test_a_file_beyond_the_cap_is_refused_whole() -> None:
    data = (
        "code,name,type\n" + "".join(f"C{n},n,customer\n" for n in range(MAX_ROWS + 1))
    ).encode()
    rows, problems = checked(ACCOUNTS, data)
    assert rows == []
    [error] = problems.report()
    assert error.params == (("limit", "50,000"),)
    assert "Split it into smaller files" in error.message


def test_many_problems_are_capped_with_a_last_line_saying_so() -> None:
    data = ("code,name,type\n" + "".join(f"C{n},n,bad\n" for n in range(2000))).encode()
    report = checked(ACCOUNTS, data)[1].report()
    assert len(report) == 501
    assert report[-1].row == 0 and "More problems" in report[-1].message


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<accounts><account><code>&lol3;</code></account></accounts>"""
EXTERNAL = b"""<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<accounts><account><code>&x;</code></account></accounts>"""


def test_xml_declarations_are_refused_before_parsing() -> None:
    for data in (BILLION_LAUGHS, EXTERNAL, b"<!doctype accounts><accounts/>"):
        assert messages(checked(ACCOUNTS, data)[1]) == [(0, None, XML_DECLARATIONS)]


def test_malformed_xml_and_wrong_elements() -> None:
    problems = checked(ACCOUNTS, b"<accounts>\n<account><code>C1</account></accounts>")[1]
    [error] = problems.report()
    assert error.row == 0 and error.params[0] == ("line", "2")
    assert checked(ACCOUNTS, b"<contacts/>")[1].report()[0].params == (("element", "accounts"),)
    data = b"<accounts><account><code>C1</code><name><b>x</b></name><type>customer</type>" \
        b"</account><contact/></accounts>"  # fmt: skip
    assert [(e.row, e.field) for e in checked(ACCOUNTS, data)[1].report()] == [
        (1, "name"),
        (2, None),
    ]


# -- the whole import, on each backend -------------------------------------------------------------


@pytest.fixture
async def admin(db: Database, make_user) -> Principal:
    user = await make_user(email="admin@example.com", roles=frozenset({Role.ADMIN}))
    async with db.session() as session:
        return await load_principal(session, user)


@pytest.fixture
async def employees(db: Database) -> dict[str, int]:
    async with db.transaction() as session:
        staff = [
            Employee(number=f"E{n}", name=f"Employee {n}", email=f"e{n}@x.nl", job_title="Sales")
            for n in (1, 2)
        ]
        session.add_all(staff)
        await session.flush()
        return {e.number: e.id for e in staff}


async def run(db: Database, who: Principal, kind: RecordKind, data: str | bytes) -> ImportReport:
    raw = data.encode() if isinstance(data, str) else data
    async with db.transaction() as session:
        return await do_import(session, who, kind, raw, now=NOW)


COUNTED: tuple[type[Base], ...] = (
    Account,
    Contact,
    Project,
    Item,
    Invoice,
    InvoiceLine,
    RecordChange,
    RecordAudience,
)


async def counts(db: Database) -> dict[str, int]:
    async with db.session() as session:
        return {
            m.__tablename__: await session.scalar(select(func.count()).select_from(m)) or 0
            for m in COUNTED
        }


async def audience_of(db: Database, kind: RecordKind, record_id: int) -> set[str]:
    async with db.session() as session:
        tokens = await session.scalars(
            select(RecordAudience.token).where(
                RecordAudience.kind == kind.value, RecordAudience.record_id == record_id
            )
        )
        return set(tokens)


async def ids_by_code(db: Database, model: Any) -> dict[str, int]:
    async with db.session() as session:
        return dict((await session.execute(select(model.code, model.id))).all())


async def test_a_good_file_imports_every_row(db, admin, employees) -> None:
    report = await run(db, admin, RecordKind.ACCOUNT, ACCOUNTS_CSV)
    assert report == ImportReport(ok=True, created=3, updated=0, errors=[])
    async with db.session() as session:
        accounts = {a.code: a for a in await session.scalars(select(Account))}
    assert accounts["C1"].credit_limit_cents == 250_000
    assert accounts["C1"].account_manager_id == employees["E1"]
    assert accounts["C1"].type is AccountType.CUSTOMER
    assert accounts["C2"].credit_limit_cents == 0 and accounts["C2"].country == "BE"
    assert accounts["P1"].country == "NL" and accounts["P1"].type is AccountType.PARTNER
    assert "role:employee" in await audience_of(db, RecordKind.ACCOUNT, accounts["C2"].id)


async def test_one_bad_row_among_good_ones_writes_nothing(db, admin, employees) -> None:
    await run(db, admin, RecordKind.ACCOUNT, ACCOUNTS_CSV)
    before = await counts(db)
    bad = ACCOUNTS_CSV.replace("Zwolle", "Zwolle Zuid") + "C9,Nieuw,customer,,,,E404\n"
    report = await run(db, admin, RecordKind.ACCOUNT, bad)
    assert not report.ok and report.created == report.updated == 0
    assert [(e.row, e.field, e.message) for e in report.errors] == [
        (5, "account_manager", "No employee has this number or id.")
    ]
    assert await counts(db) == before
    async with db.session() as session:
        assert await session.scalar(select(Account.city).where(Account.code == "P1")) == "Zwolle"


async def test_re_importing_the_same_file_changes_nothing(db, admin, employees) -> None:
    assert (await run(db, admin, RecordKind.ACCOUNT, ACCOUNTS_CSV)).created == 3
    before = await counts(db)
    assert await run(db, admin, RecordKind.ACCOUNT, ACCOUNTS_CSV) == ImportReport(ok=True)
    assert await counts(db) == before
    assert before["record_changes"] == 0


async def test_an_update_writes_the_data_log_and_leaves_absent_columns_alone(
    db, admin, employees
) -> None:
    await run(db, admin, RecordKind.ACCOUNT, ACCOUNTS_CSV)
    report = await run(db, admin, RecordKind.ACCOUNT, "code;name;type;credit_limit\n"
                       "C1;Hendriks Bouw B.V.;customer;3000,50\nC2;Jansen;customer;\n")  # fmt: skip
    assert (report.created, report.updated) == (0, 2)
    async with db.session() as session:
        changes = (await session.scalars(select(RecordChange).order_by(RecordChange.id))).all()
        c1 = await session.scalar(select(Account).where(Account.code == "C1"))
    assert c1 is not None and c1.city == "Utrecht" and c1.account_manager_id == employees["E1"]
    assert [(c.record_id, c.field, c.old_value, c.new_value) for c in changes] == [
        (c1.id, "credit_limit_cents", "250000", "300050"),
        (c1.id + 1, "name", "Jansen Installatie", "Jansen"),
    ]
    assert {c.kind for c in changes} == {"account"}
    assert {c.actor_id for c in changes} == {admin.user_id}
    assert {c.at for c in changes} == {NOW}


async def test_account_managers_audiences_follow_the_import(db, admin, employees) -> None:
    await run(db, admin, RecordKind.ACCOUNT, ACCOUNTS_CSV)
    c1 = (await ids_by_code(db, Account))["C1"]
    token = f"account:{c1}"
    assert token in await audience_of(db, RecordKind.EMPLOYEE, employees["E1"])
    await run(db, admin, RecordKind.ACCOUNT, "code,name,type,account_manager\nC1,H,customer,E2\n")
    assert token not in await audience_of(db, RecordKind.EMPLOYEE, employees["E1"])
    assert token in await audience_of(db, RecordKind.EMPLOYEE, employees["E2"])


async def customer_of(db: Database, make_user, contact_id: int) -> Principal:
    user = await make_user(kind=UserKind.CUSTOMER)
    async with db.transaction() as session:
        await session.execute(
            update(Contact).where(Contact.id == contact_id).values(user_id=user.id)
        )
    async with db.session() as session:
        return await load_principal(session, user)


async def test_imported_contacts_are_seen_by_their_account_only(db, admin, employees, make_user):
    await run(db, admin, RecordKind.ACCOUNT, ACCOUNTS_CSV)
    contacts = (
        "account_code,name,email,job_title\n"
        "C1,Lotte Hendriks,lotte@hendriks.nl,Buyer\n"
        "C1,Piet Hendriks,,Owner\n"
        "C2,Jan Jansen,jan@jansen.be,\n"
    )
    assert (await run(db, admin, RecordKind.CONTACT, contacts)).created == 3
    async with db.session() as session:
        by_name = dict((await session.execute(select(Contact.name, Contact.id))).all())
    lotte = await customer_of(db, make_user, by_name["Lotte Hendriks"])
    jan = await customer_of(db, make_user, by_name["Jan Jansen"])

    async def visible(who: Principal) -> set[str]:
        async with db.session() as session:
            ids = visible_ids(RecordKind.CONTACT, who.tokens)
            return set(await session.scalars(select(Contact.name).where(Contact.id.in_(ids))))

    assert await visible(lotte) == {"Lotte Hendriks", "Piet Hendriks"}
    assert await visible(jan) == {"Jan Jansen"}
    # Matched on email, on name, and on id: updates, not new contacts.
    again = (
        "id,account_code,name,email,job_title\n"
        ",C1,Lotte Hendriks-de Vries,LOTTE@hendriks.nl,Buyer\n"
        ",C1,Piet Hendriks,,Director\n"
        f"{by_name['Jan Jansen']},C2,Jan Jansen,jan@jansen.be,Owner\n"
        ",C2,Els Jansen,els@jansen.be,\n"
    )
    report = await run(db, admin, RecordKind.CONTACT, again)
    assert (report.created, report.updated) == (1, 3)
    assert await visible(jan) == {"Jan Jansen", "Els Jansen"}
    assert "Els Jansen" not in await visible(lotte)


async def test_contacts_that_cannot_be_told_apart_are_reported(db, admin, employees) -> None:
    await run(db, admin, RecordKind.ACCOUNT, ACCOUNTS_CSV)
    await run(db, admin, RecordKind.CONTACT, "account_code,name\nC1,Anna\n")
    async with db.transaction() as session:
        account_id = (await ids_by_code(db, Account))["C1"]
        session.add(Contact(account_id=account_id, name="Anna"))
    report = await run(db, admin, RecordKind.CONTACT, "account_code,name\nC1,Anna\nC2,Bo\nC2,Bo\n")
    assert [(e.row, e.field) for e in report.errors] == [(2, "name"), (4, None)]
    report = await run(db, admin, RecordKind.CONTACT, "id,account_code,name\n99999,C1,X\n")
    assert [(e.row, e.field, e.message) for e in report.errors] == [
        (2, "id", "No contact has this id.")
    ]


async def test_projects_refer_to_accounts_and_managers(db, admin, employees) -> None:
    await run(db, admin, RecordKind.ACCOUNT, ACCOUNTS_CSV)
    data = (
        "code,name,account_code,status,manager,start_date,end_date,budget_hours,budget_amount\n"
        "PRJ-1,Nieuwbouw,C1,active,E2,2026-01-05,2026-06-30,120,15000.00\n"
        "PRJ-2,Onderhoud,C2,,,,,,\n"
    )
    assert (await run(db, admin, RecordKind.PROJECT, data)).created == 2
    projects = await ids_by_code(db, Project)
    accounts = await ids_by_code(db, Account)
    async with db.session() as session:
        first = await session.get(Project, projects["PRJ-1"])
        second = await session.get(Project, projects["PRJ-2"])
    assert first is not None and second is not None
    assert (first.budget_cents, first.manager_id, first.status) == (
        1_500_000,
        employees["E2"],
        ProjectStatus.ACTIVE,
    )
    assert second.status is ProjectStatus.PLANNED and second.budget_hours == 0
    assert f"project:{first.id}" in await audience_of(db, RecordKind.ACCOUNT, accounts["C1"])
    assert f"project:{first.id}" in await audience_of(db, RecordKind.EMPLOYEE, employees["E2"])
    assert f"account:{accounts['C1']}" in await audience_of(db, RecordKind.PROJECT, first.id)
    # Moving a project to another account moves its token between the accounts' audiences.
    await run(db, admin, RecordKind.PROJECT, "code,name,account_code\nPRJ-1,Nieuwbouw,C2\n")
    assert f"project:{first.id}" not in await audience_of(db, RecordKind.ACCOUNT, accounts["C1"])
    assert f"project:{first.id}" in await audience_of(db, RecordKind.ACCOUNT, accounts["C2"])
    bad = "code,name,account_code,end_date\nPRJ-1,x,C1,2025-12-31\nPRJ-3,y,C404,\n"
    report = await run(db, admin, RecordKind.PROJECT, bad)
    assert [(e.row, e.field) for e in report.errors] == [(2, "end_date"), (3, "account_code")]


ITEMS_XML = """<?xml version="1.0" encoding="UTF-8"?>
<items>
  <item><id>1</id><code>SRV-001</code><description>Consultancy per hour</description>
    <unit>hour</unit><price>95.00</price><vat_rate>21</vat_rate></item>
  <item><code>MAT-001</code><description>Pallet</description><price>12,50</price>
    <vat_rate>9</vat_rate></item>
</items>
"""
INVOICE_LINES = """invoice_number,account_code,project_code,issue_date,due_date,item_code,description,quantity,unit_price,vat_rate
F-001,C1,PRJ-1,2026-02-01,2026-03-03,SRV-001,,8,,
F-001,C1,PRJ-1,2026-02-01,2026-03-03,MAT-001,Pallets,3,10.00,
F-001,C1,PRJ-1,2026-02-01,2026-03-03,,Travel,1,45.50,0
F-002,C2,,2026-02-10,2026-03-12,,Advice,2,100,21
"""  # noqa: E501


async def test_invoices_group_lines_and_recompute_totals(db, admin, employees) -> None:
    await run(db, admin, RecordKind.ACCOUNT, ACCOUNTS_CSV)
    await run(db, admin, RecordKind.PROJECT, "code,name,account_code\nPRJ-1,Bouw,C1\n")
    assert (await run(db, admin, RecordKind.ITEM, ITEMS_XML)).created == 2
    assert (await run(db, admin, RecordKind.INVOICE, INVOICE_LINES)).created == 2
    async with db.session() as session:
        invoice = await session.scalar(select(Invoice).where(Invoice.number == "F-001"))
        assert invoice is not None
        lines = (
            await session.scalars(
                select(InvoiceLine)
                .where(InvoiceLine.invoice_id == invoice.id)
                .order_by(InvoiceLine.id)
            )
        ).all()
    assert [(x.description, x.quantity, x.unit_price_cents, x.vat_rate_bp) for x in lines] == [
        ("Consultancy per hour", 8, 9500, 2100),
        ("Pallets", 3, 1000, 900),
        ("Travel", 1, 4550, 0),
    ]
    assert invoice.total_cents == sum(
        line_total_cents(x.quantity, x.unit_price_cents, x.vat_rate_bp) for x in lines
    )
    assert invoice.currency == "EUR" and invoice.issue_date == date(2026, 2, 1)
    assert f"account:{invoice.account_id}" in await audience_of(db, RecordKind.INVOICE, invoice.id)

    before = await counts(db)
    assert await run(db, admin, RecordKind.INVOICE, INVOICE_LINES) == ImportReport(ok=True)
    assert await counts(db) == before

    changed = INVOICE_LINES.replace("Travel,1,45.50", "Travel,2,45.50")
    assert (await run(db, admin, RecordKind.INVOICE, changed)).updated == 1
    async with db.session() as session:
        total = await session.scalar(select(Invoice.total_cents).where(Invoice.id == invoice.id))
        logged = set(
            await session.scalars(
                select(RecordChange.field).where(RecordChange.record_id == invoice.id)
            )
        )
        count = await session.scalar(select(func.count()).select_from(InvoiceLine))
    assert total == invoice.total_cents + 4550
    assert logged == {"lines", "total_cents"}
    assert count == before["invoice_lines"]


async def test_invoice_rules_that_need_the_database(db, admin, employees) -> None:
    await run(db, admin, RecordKind.ACCOUNT, ACCOUNTS_CSV)
    await run(db, admin, RecordKind.PROJECT, "code,name,account_code\nPRJ-1,Bouw,C1\n")
    data = (
        "number,account_code,project_code,issue_date,due_date,item_code,description,quantity\n"
        "F-1,C2,PRJ-1,2026-02-01,2026-01-01,,,1\n"
        "F-2,C1,,2026-02-01,2026-03-01,NOPE,x,1\n"
    )
    report = await run(db, admin, RecordKind.INVOICE, data)
    assert [(e.row, e.field) for e in report.errors] == [
        (2, "due_date"),
        (2, "project_code"),
        (2, "description"),
        (2, "unit_price"),
        (3, "item_code"),
    ]
    huge = "F-3,C1,,2026-02-01,2026-03-01,,x,1000000,99999999999.99\n"
    report = await run(db, admin, RecordKind.INVOICE, data.split("\n")[0] + ",unit_price\n" + huge)
    assert [(e.row, e.message) for e in report.errors] == [
        (2, "The total of this invoice is too large.")
    ]
    assert (await counts(db))["invoices"] == 0


async def test_only_administrators_import_and_only_these_kinds(db, admin, make_user) -> None:
    user = await make_user()
    async with db.session() as session:
        staff = await load_principal(session, user)
    with pytest.raises(Forbidden):
        await run(db, staff, RecordKind.ACCOUNT, ACCOUNTS_CSV)
    with pytest.raises(NotFound):
        await run(db, admin, RecordKind.EMPLOYEE, "number,name\nE1,x\n")
    assert set(SPECS) == {kind for kind in RecordKind if kind is not RecordKind.EMPLOYEE}
    assert {s.kind for s in (ACCOUNTS, CONTACTS, PROJECTS, ITEMS, INVOICES)} == set(SPECS)


async def test_a_large_file_imports_in_one_go(db, admin) -> None:
    rows = "".join(f"A{n:05d},Bedrijf {n},customer,Stad {n % 50},{n}.25\n" for n in range(5000))
    report = await run(db, admin, RecordKind.ACCOUNT, "code,name,type,city,credit_limit\n" + rows)
    assert (report.ok, report.created) == (True, 5000)
    assert (await counts(db))["accounts"] == 5000
    report = await run(db, admin, RecordKind.ACCOUNT, "code,name,type,city,credit_limit\n"
                       + rows.replace("Stad", "Dorp"))  # fmt: skip
    assert report.updated == 5000
    assert (await counts(db))["record_changes"] == 5000
