"""The JSON API for records, through HTTP on the demo company: list and record shapes, cursors,
field masking, what customers and partners may read, and every error as JSON."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import httpx
from sqlalchemy import func, select

from domain.db import Database
from domain.people.models import Role, User, UserRole
from domain.records.invoicing import Invoice, InvoiceStatus, invoice_status
from domain.records.org import Employee
from domain.records.projects import Project
from domain.records.relations import Account, Contact
from tests.portal import test_record_lists as lists

demo = lists.demo
sign_in = lists.sign_in
SignIn = lists.SignIn
ADMIN, EMPLOYEE, CUSTOMER, PARTNER = lists.ADMIN, lists.EMPLOYEE, lists.CUSTOMER, lists.PARTNER
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NOT_FOUND = {
    "error": {
        "status": 404,
        "message": "This page does not exist, or you do not have access to it.",
    }
}


async def everything(client: httpx.AsyncClient, path: str, **params: str) -> list[dict[str, Any]]:
    """Every item of an API list, following ``next``."""
    items: list[dict[str, Any]] = []
    query = dict(params)
    while True:
        response = await client.get(path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "next"}
        items += body["items"]
        if body["next"] is None:
            return items
        query["cursor"] = body["next"]


async def test_a_list_pages_through_every_record_once(demo: Database, sign_in: SignIn) -> None:
    client = await sign_in(ADMIN)
    first = (await client.get("/api/v1/projects", params={"limit": "7"})).json()
    assert len(first["items"]) == 7
    assert isinstance(first["next"], str)
    items = await everything(client, "/api/v1/projects", limit="7")
    ids = [item["id"] for item in items]
    projects = await lists.scalar(demo, select(func.count()).select_from(Project))
    assert len(ids) == projects == len(set(ids))
    codes = [p["code"] for p in items]  # the default sort; codes are all PRJ-yyyy-nnn
    assert codes == sorted(codes)
    project = items[0]
    assert isinstance(project["name"], str) and isinstance(project["budget_cents"], int)
    assert project["status"] in {"planned", "active", "on_hold", "completed", "cancelled"}
    assert ISO_DATE.match(project["start_date"])
    # The default page is 50; the largest 200.
    assert len((await client.get("/api/v1/invoices")).json()["items"]) == 50
    assert len((await client.get("/api/v1/invoices?limit=200")).json()["items"]) == 200


async def test_every_kind_has_ids_names_iso_dates_and_cents(sign_in: SignIn) -> None:
    client = await sign_in(ADMIN)
    for slug in ("accounts", "contacts", "projects", "employees", "invoices", "items"):
        listed = (await client.get(f"/api/v1/{slug}", params={"limit": "1"})).json()["items"][0]
        record = (await client.get(f"/api/v1/{slug}/{listed['id']}")).json()
        assert record["id"] == listed["id"]
        if slug in ("accounts", "projects", "employees", "items"):
            assert record["name"] == listed["name"] and record["name"]
        for key, value in record.items():
            if key.endswith("_cents"):
                assert isinstance(value, int), (slug, key)
            if key.endswith(("_date", "_on")) and value is not None:
                assert ISO_DATE.match(value), (slug, key, value)
    item = (await client.get("/api/v1/items", params={"limit": "1"})).json()["items"][0]
    detail = (await client.get(f"/api/v1/items/{item['id']}")).json()
    assert detail["name"] == detail["description"]
    invoice = (await client.get("/api/v1/invoices", params={"limit": "1"})).json()["items"][0]
    detail = (await client.get(f"/api/v1/invoices/{invoice['id']}")).json()
    assert detail["status"] == invoice["status"]
    assert detail["open_cents"] == max(detail["total_cents"] - detail["paid_cents"], 0)
    assert detail["issue_date"] == invoice["issue_date"]


async def test_filters_and_sorts_work_as_on_the_pages(demo: Database, sign_in: SignIn) -> None:
    client = await sign_in(EMPLOYEE)
    today = date.today()
    async with demo.session() as session:
        rows = (await session.execute(select(Invoice))).scalars().all()
        overdue = {
            i.id
            for i in rows
            if invoice_status(i.total_cents, i.paid_cents, i.due_date, today)
            is InvoiceStatus.OVERDUE
        }
    items = await everything(client, "/api/v1/invoices", status="overdue", limit="200")
    assert {i["id"] for i in items} == overdue
    items = await everything(client, "/api/v1/invoices", sort="-total", limit="200")
    totals = [i["total_cents"] for i in items]
    assert totals == sorted(totals, reverse=True) and len(totals) == len(rows)
    # Unknown parameters are ignored, like on the pages.
    response = await client.get("/api/v1/projects", params={"utm_source": "x", "page": "-1"})
    assert response.status_code == 200


async def test_employee_fields_are_masked_by_who_asks(demo: Database, sign_in: SignIn) -> None:
    async with demo.session() as session:
        me = await session.scalar(select(Employee).where(Employee.email == EMPLOYEE))
        assert me is not None
        other = await session.scalar(
            select(Employee).where(Employee.id != me.id, Employee.private_address.is_not(None))
        )
        hr_email = await session.scalar(
            select(User.email)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == Role.HR)
        )
    assert me is not None and other is not None and hr_email

    colleague = await sign_in(EMPLOYEE)
    seen = (await colleague.get(f"/api/v1/employees/{other.id}")).json()
    assert seen["name"] == other.name
    assert {"number", "department_id", "manager_id", "hired_on"} <= set(seen)
    assert "private_address" not in seen and "date_of_birth" not in seen
    own = (await colleague.get(f"/api/v1/employees/{me.id}")).json()
    assert own["private_address"] == me.private_address
    assert own["date_of_birth"] == (me.date_of_birth.isoformat() if me.date_of_birth else None)

    hr = await sign_in(hr_email)
    seen = (await hr.get(f"/api/v1/employees/{other.id}")).json()
    assert seen["private_address"] == other.private_address

    customer = await sign_in(CUSTOMER)
    team = (await customer.get("/api/v1/employees")).json()["items"]
    assert team and all(set(e) == {"id", "name", "job_title", "email", "work_phone"} for e in team)
    seen = (await customer.get(f"/api/v1/employees/{team[0]['id']}")).json()
    assert set(seen) == {"id", "name", "job_title", "email", "work_phone"}


async def test_externals_read_only_their_own_records(demo: Database, sign_in: SignIn) -> None:
    client = await sign_in(CUSTOMER)
    account = await lists.account_of(demo, CUSTOMER)
    own = set(await lists.scalars(demo, select(Invoice.id).where(Invoice.account_id == account)))
    items = await everything(client, "/api/v1/invoices", limit="200")
    assert {i["id"] for i in items} == own
    assert {i["account_id"] for i in items} == {account}

    foreign = await lists.scalar(demo, select(Invoice.id).where(Invoice.account_id != account))
    hidden = await client.get(f"/api/v1/invoices/{foreign}")
    missing = await client.get("/api/v1/invoices/99999999")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json() == NOT_FOUND

    project = await lists.scalar(demo, select(Project.id).where(Project.account_id == account))
    seen = (await client.get(f"/api/v1/projects/{project}")).json()
    assert seen["id"] == project and "budget_cents" not in seen and "manager_id" not in seen
    listed = (await client.get("/api/v1/projects")).json()["items"]
    assert listed and all("budget_cents" not in p and "manager_id" not in p for p in listed)
    contact = await lists.scalar(demo, select(Contact.id).where(Contact.account_id == account))
    seen = (await client.get(f"/api/v1/contacts/{contact}")).json()
    assert seen["id"] == contact and "user_id" not in seen

    # Kinds that are not theirs to list are not there at all as lists.
    for path in ("/api/v1/items", "/api/v1/accounts"):
        response = await client.get(path)
        assert response.status_code == 404
        assert response.json() == NOT_FOUND
    # One account follows its card page, not the list rule: their own account answers (without
    # staff-only fields), another's is 404 like one that does not exist.
    own_account = await client.get(f"/api/v1/accounts/{account}")
    assert own_account.status_code == 200 and own_account.json()["id"] == account
    assert "credit_limit_cents" not in own_account.json()
    foreign_account = await lists.scalar(demo, select(Account.id).where(Account.id != account))
    response = await client.get(f"/api/v1/accounts/{foreign_account}")
    assert response.status_code == 404 and response.json() == NOT_FOUND

    partner = await sign_in(PARTNER)
    partner_account = await lists.account_of(demo, PARTNER)
    other = await lists.scalar(
        demo, select(Account.id).where(Account.id.not_in([account, partner_account]))
    )
    projects = (await partner.get("/api/v1/projects", params={"account": str(other)})).json()
    assert projects["items"] == [] or all(p["account_id"] == other for p in projects["items"])
    response = await partner.get(f"/api/v1/invoices/{min(own)}")
    assert response.status_code == 404 and response.json() == NOT_FOUND


async def test_anonymous_calls_get_401_json(client: httpx.AsyncClient) -> None:
    for path in ("/api/v1/invoices", "/api/v1/invoices/1", "/api/v1/nonsense"):
        response = await client.get(path)
        assert response.status_code == 401
        assert response.json() == {"error": {"status": 401, "message": "Sign in first."}}


async def test_unknown_kinds_and_ids_get_404_json(sign_in: SignIn) -> None:
    client = await sign_in(ADMIN)
    for path in (
        "/api/v1/nonsense",
        "/api/v1/nonsense/1",
        "/api/v1/invoices/abc",
        "/api/v1/invoices/0",
        "/api/v1/invoices/99999999999999999999",
        "/api/v1/invoices/1/extra",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.json() == NOT_FOUND, path


async def test_bad_parameters_get_400_json_naming_the_parameter(sign_in: SignIn) -> None:
    client = await sign_in(ADMIN)
    cases = {
        "limit=abc": "limit",
        "limit=0": "limit",
        "limit=201": "limit",
        "limit=-5": "limit",
        "status=bogus": "status",
        "from=2026-02-30": "from",
        "to=tomorrow": "to",
        "account=x": "account",
        "cursor=zzz": "cursor",
        "sort=; drop table invoices": "sort",
        "sort=": None,  # empty: the default sort
    }
    for query, parameter in cases.items():
        response = await client.get(f"/api/v1/invoices?{query}")
        if parameter is None:
            assert response.status_code == 200, query
            continue
        assert response.status_code == 400, query
        error = response.json()["error"]
        assert error["status"] == 400
        assert error["message"].startswith(f"{parameter}: "), (query, error)
    response = await client.get("/api/v1/invoices?status=bogus&from=nope")
    message = response.json()["error"]["message"]
    assert "status: " in message and "from: " in message
