"""The import page through HTTP: administrators import CSV and XML and are told what changed;
everyone else finds no such page; a bad file comes back as a table of its problems and writes
nothing; a missing file, an oversized body or a missing token get a clear 4xx, never a 500."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select

from domain.db import Database
from domain.people.models import Role, UserKind
from domain.records.relations import Account, Contact
from tests.conftest import csrf_from, login
from tests.portal.test_bad_input import carries_a_message, post_requests

ACCOUNTS_CSV = (
    "\ufeffcode;name;type;city;credit_limit\n"
    "C1;Hendriks Bouw B.V.;customer;Utrecht;2500,00\n"
    "C2;Jansen Installatie;customer;Gent;\n"
).encode()
CONTACTS_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<contacts>
  <contact><account_code>C1</account_code><name>Lotte Hendriks</name>
    <email>lotte@hendriks.nl</email><account_name>Hendriks Bouw B.V.</account_name></contact>
  <contact><account_code>C2</account_code><name>Jan Jansen</name><email/></contact>
</contacts>
"""
MIB = 1024 * 1024


async def admin_client(client: httpx.AsyncClient, make_user) -> str:
    user = await make_user(roles=frozenset({Role.ADMIN}))
    assert (await login(client, user.email)).status_code == 303
    return await csrf_from(client, "/records/import")


async def send(
    client: httpx.AsyncClient,
    token: str,
    kind: str,
    data: bytes,
    filename: str = "records.csv",
) -> httpx.Response:
    return await client.post(
        "/records/import",
        data={"kind": kind, "csrf_token": token},
        files={"file": (filename, data, "text/csv")},
    )


async def count(db: Database, model: type[Account] | type[Contact]) -> int:
    async with db.session() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


def main_of(page: str) -> str:
    return page.split('<main id="main">', 1)[1].split("</main>", 1)[0]


def problem_rows(html: str) -> list[tuple[str, str, str]]:
    table = re.search(r'<section class="card" id="import-problems".*?</section>', html, re.S)
    assert table, "no problem table on the page"
    rows = re.findall(
        r"<tr>\s*<td[^>]*>(.*?)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>", table[0], re.S
    )
    return [(r, re.sub(r"<[^>]+>", "", f), m) for r, f, m in rows]


async def test_the_page_shows_the_form_and_the_columns_of_every_kind(client, make_user) -> None:
    await admin_client(client, make_user)
    page = await client.get("/records/import?kind=invoices")
    assert page.status_code == 200
    html = page.text
    assert 'enctype="multipart/form-data"' in html
    assert 'name="csrf_token"' in html and 'type="file"' in html
    for kind in ("accounts", "contacts", "projects", "items", "invoices"):
        assert f'<option value="{kind}"' in html
        assert f'id="columns-{kind}"' in html
    assert '<option value="invoices" selected>' in html
    for column in ("credit_limit", "account_manager", "budget_amount", "price", "invoice_number"):
        assert f"<code>{column}</code>" in html
    assert "One of: customer, partner." in html


async def test_an_admin_imports_csv_then_xml(client, make_user, db) -> None:
    token = await admin_client(client, make_user)
    response = await send(client, token, "accounts", ACCOUNTS_CSV)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/records/import?")
    page = await client.get(response.headers["location"])
    assert "Import done: 2 created, 0 updated." in page.text
    assert await count(db, Account) == 2

    response = await send(client, token, "contacts", CONTACTS_XML, "contacts.xml")
    assert response.status_code == 303
    assert "created=2" in response.headers["location"]
    assert await count(db, Contact) == 2

    again = await send(client, token, "contacts", CONTACTS_XML, "contacts.xml")
    assert "created=0&updated=0" in again.headers["location"]
    changed = CONTACTS_XML.replace(b"<email/>", b"<email>jan@jansen.be</email>")
    response = await send(client, token, "contacts", changed, "contacts.xml")
    page = await client.get(response.headers["location"])
    assert "Import done: 0 created, 1 updated." in page.text


async def test_a_bad_file_is_a_table_of_its_problems_and_writes_nothing(
    client, make_user, db
) -> None:
    token = await admin_client(client, make_user)
    bad = ACCOUNTS_CSV + b"C3;;customer;;\nC4;Vier;supplier;;12.345\n"
    response = await send(client, token, "accounts", bad)
    assert response.status_code == 422
    assert "Nothing was imported" in response.text
    assert problem_rows(response.text) == [
        ("4", "name", "This field is required."),
        ("5", "type", "This is not one of the allowed values."),
        ("5", "credit_limit", "Enter an amount such as 1250.00."),
    ]
    assert await count(db, Account) == 0
    # The form is still there, with the kind that was chosen.
    assert '<option value="accounts" selected>' in response.text

    response = await send(
        client, token, "accounts", "code,name,type\nC1,Café,customer\n".encode("latin-1")
    )
    assert response.status_code == 422
    assert problem_rows(response.text) == [
        ("whole file", "", "The file is not UTF-8 text. Save it as CSV (UTF-8) or as XML in UTF-8.")
    ]
    doctype = b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><accounts/>'
    response = await send(client, token, "accounts", doctype, "a.xml")
    assert response.status_code == 422
    assert "DOCTYPE" in problem_rows(response.text)[0][2]
    response = await send(client, token, "contacts", CONTACTS_XML, "contacts.xml")
    assert response.status_code == 422
    assert problem_rows(response.text)[0][1:] == ("account_code", "No account has this code or id.")


async def test_no_file_an_empty_file_or_an_unknown_kind_is_400(client, make_user, db) -> None:
    token = await admin_client(client, make_user)
    response = await client.post("/records/import", data={"kind": "accounts", "csrf_token": token})
    assert response.status_code == 400
    assert "Choose a file to import." in response.text
    response = await send(client, token, "accounts", b"")
    assert response.status_code == 400
    assert "The file is empty." in response.text
    for kind in ("employees", "", "../accounts"):
        response = await send(client, token, kind, ACCOUNTS_CSV)
        assert response.status_code == 400
        assert "Choose what to import." in response.text
    response = await client.post(
        "/records/import",
        headers={"X-CSRF-Token": token, "Content-Type": "multipart/form-data; boundary=x"},
        content=b"--x\r\nContent-Disposition: form-data\r\n\r\nbroken",
    )
    assert response.status_code == 400
    assert await count(db, Account) == 0


async def test_a_body_over_10_mib_is_413(client, make_user, db) -> None:
    token = await admin_client(client, make_user)
    huge = b"code,name,type\n" + b"C1,x,customer\n" * (11 * MIB // 14)
    response = await send(client, token, "accounts", huge)
    assert response.status_code == 413
    assert "too large" in response.text
    assert await count(db, Account) == 0


async def test_a_post_without_the_csrf_token_is_403(client, make_user, db) -> None:
    await admin_client(client, make_user)
    response = await client.post(
        "/records/import",
        data={"kind": "accounts"},
        files={"file": ("a.csv", ACCOUNTS_CSV, "text/csv")},
    )
    assert response.status_code == 403
    assert await count(db, Account) == 0


async def test_everyone_but_administrators_finds_no_page(make_client, make_user, db) -> None:
    staff = await make_user(email="staff@example.com")
    customer = await make_user(email="customer@example.com", kind=UserKind.CUSTOMER)
    partner = await make_user(email="partner@example.com", kind=UserKind.PARTNER)
    for user in (staff, customer, partner):
        client = make_client()
        assert (await login(client, user.email)).status_code == 303
        page = await client.get("/records/import")
        assert page.status_code == 404
        # Exactly what a page that does not exist says.
        assert main_of(page.text) == main_of((await client.get("/records/nope/x")).text)
        token = await csrf_from(client, "/")
        response = await send(client, token, "accounts", ACCOUNTS_CSV)
        assert response.status_code == 404
    assert await count(db, Account) == 0
    anonymous = make_client()
    response = await anonymous.get("/records/import")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/records/import"


ITEMS_XML = b"""<items>
  <item><code>SRV-001</code><description>Advies per uur</description><unit>hour</unit>
    <price>95.00</price><vat_rate>21</vat_rate></item>
  <item><code>MAT-001</code><description>=Pallet (formula-like)</description><price>12.5</price>
    <vat_rate>9</vat_rate></item>
</items>"""


async def test_what_an_export_writes_imports_back(client, make_user, db) -> None:
    token = await admin_client(client, make_user)
    named = ACCOUNTS_CSV + b"C3;-Min & Max;partner;Zwolle;0\n"
    assert "created=3" in (await send(client, token, "accounts", named)).headers["location"]
    assert "created=2" in (await send(client, token, "items", ITEMS_XML)).headers["location"]
    assert (
        "created=2"
        in (await send(client, token, "contacts", CONTACTS_XML, "c.xml")).headers["location"]
    )
    projects = (
        b"code,name,account_code,budget_amount,start_date\nPRJ-1,Bouw,C1,1500.50,2026-01-05\n"
    )
    assert "created=1" in (await send(client, token, "projects", projects)).headers["location"]

    for kind in ("accounts", "contacts", "projects", "items"):
        for fmt in ("csv", "xml"):
            exported = await client.get(f"/records/{kind}/export.{fmt}")
            assert exported.status_code == 200, (kind, fmt)
            response = await send(client, token, kind, exported.content, f"{kind}.{fmt}")
            assert response.status_code == 303, (kind, fmt, problem_rows(response.text))
            assert "created=0&updated=0" in response.headers["location"], (kind, fmt)

    exported = (await client.get("/records/accounts/export.csv")).text
    assert "'-Min & Max" in exported  # the export's guard against formulas, undone on import
    response = await send(
        client, token, "accounts", exported.replace("Utrecht", "Amersfoort").encode()
    )
    assert "created=0&updated=1" in response.headers["location"]
    async with db.session() as session:
        assert (
            await session.scalar(select(Account.city).where(Account.code == "C1")) == "Amersfoort"
        )


async def test_the_crawlers_bad_posts_as_an_admin_never_break_the_page(client, make_user, db):
    token = await admin_client(client, make_user)
    for label, kwargs in post_requests(token):
        response = await client.post("/records/import", **kwargs)
        assert response.status_code < 500, label
        assert response.status_code == 200 or carries_a_message(response), label
    hostile = (
        b"\x00" * 1000,
        b"<accounts>" * 50_000,
        b"code," * 100_000 + b"\n",
        b'code,name,type\n"' + b"x" * 200_000 + b'",a,customer\n',
        b"<accounts><account><code>" + b"9" * 5000 + b"</code></account></accounts>",
        b"invoice_number,account_id,issue_date,due_date,quantity\nF,99999999999999999999,x,y,z\n",
    )
    for data in hostile:
        response = await send(client, token, "invoices", data)
        assert response.status_code == 422, data[:40]
        assert problem_rows(response.text), data[:40]
    assert await count(db, Account) == 0
