"""Record cards through HTTP, on the demo company: every kind's card with its related records,
who may open which card (404 for everyone else, the same as for a record that does not exist),
HR-private fields, the compact card fragments, staff edits with their Data Log, and the customer
and partner portal home pages."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select

from domain.demo import DEMO_PASSWORD, load_demo
from domain.people.models import Role, User, UserRole
from domain.records.datalog import RecordChange
from domain.records.models import (
    Account,
    AccountType,
    Contact,
    Employee,
    Invoice,
    InvoiceLine,
    Item,
    Payment,
    Project,
    ProjectMember,
    ProjectPartner,
)
from tests.conftest import csrf_from, login

ClientFactory = Callable[[], httpx.AsyncClient]


@dataclass(frozen=True)
class Demo:
    """Ids in the demo company that the tests need, looked up rather than assumed."""

    customer_account: int
    customer_invoice: int
    customer_project: int
    customer_contact: int
    customer_team: frozenset[int]  # employees the customer may see
    other_account: int
    other_invoice: int
    other_contact: int
    stranger: int  # an employee on none of the customer's or partner's work
    partner_account: int
    partner_project: int
    partner_customer: int  # the customer of partner_project
    unpartnered_project: int
    hr_email: str
    employee_id: int  # employee@example.com's own employee record
    item: int


async def _ids(session, stmt) -> list[int]:
    return list((await session.scalars(stmt)).all())


@pytest.fixture
async def demo(db) -> Demo:
    await load_demo(db, social=False)
    async with db.session() as s:

        async def account_of(email: str) -> int:
            account_id: int | None = await s.scalar(
                select(Contact.account_id)
                .join(User, User.id == Contact.user_id)
                .where(User.email == email)
            )
            assert account_id is not None
            return account_id

        customer = await account_of("customer@example.com")
        partner = await account_of("partner@example.com")
        projects = await _ids(s, select(Project.id).where(Project.account_id == customer))
        manager = await s.scalar(select(Account.account_manager_id).where(Account.id == customer))
        team = {manager} | set(
            await _ids(s, select(Project.manager_id).where(Project.id.in_(projects)))
        )
        team |= set(
            await _ids(
                s, select(ProjectMember.employee_id).where(ProjectMember.project_id.in_(projects))
            )
        )
        partnered = await _ids(
            s, select(ProjectPartner.project_id).where(ProjectPartner.account_id == partner)
        )
        partner_project = partnered[0]
        partner_customer = await s.scalar(
            select(Project.account_id).where(Project.id == partner_project)
        )
        partner_team = set(
            await _ids(s, select(Project.manager_id).where(Project.id.in_(partnered)))
        ) | set(
            await _ids(
                s, select(ProjectMember.employee_id).where(ProjectMember.project_id.in_(partnered))
            )
        )
        other = await s.scalar(
            select(Account.id)
            .where(
                Account.type == AccountType.CUSTOMER,
                Account.id.not_in([customer, partner_customer]),
                Account.id.in_(select(Invoice.account_id)),
                Account.id.in_(select(Contact.account_id)),
            )
            .order_by(Account.id)
        )
        assert other is not None
        stranger: int | None = await s.scalar(
            select(Employee.id)
            .where(
                Employee.id.not_in(team | partner_team),
                Employee.id.not_in(select(Account.account_manager_id).where(Account.id == other)),
            )
            .order_by(Employee.id)
        )
        assert stranger is not None
        hr_email = await s.scalar(
            select(User.email)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == Role.HR)
        )
        return Demo(
            customer_account=customer,
            customer_invoice=(
                await _ids(s, select(Invoice.id).where(Invoice.account_id == customer))
            )[0],
            customer_project=projects[0],
            customer_contact=(
                await _ids(s, select(Contact.id).where(Contact.account_id == customer))
            )[0],
            customer_team=frozenset(i for i in team if i is not None),
            other_account=other,
            other_invoice=(await _ids(s, select(Invoice.id).where(Invoice.account_id == other)))[0],
            other_contact=(await _ids(s, select(Contact.id).where(Contact.account_id == other)))[0],
            stranger=stranger,
            partner_account=partner,
            partner_project=partner_project,
            partner_customer=partner_customer or 0,
            unpartnered_project=(
                await _ids(
                    s,
                    select(Project.id)
                    .where(Project.id.not_in(partnered), Project.account_id != partner)
                    .order_by(Project.id),
                )
            )[0],
            hr_email=hr_email or "",
            employee_id=(
                await s.scalar(
                    select(Employee.id)
                    .join(User, User.id == Employee.user_id)
                    .where(User.email == "employee@example.com")
                )
            )
            or 0,
            item=(await _ids(s, select(Item.id).order_by(Item.id)))[0],
        )


async def signed_in(make_client: ClientFactory, email: str) -> httpx.AsyncClient:
    client = make_client()
    assert (await login(client, email, DEMO_PASSWORD)).status_code == 303
    return client


def card(kind: str, record_id: int) -> str:
    return f"/records/{kind}/{record_id}"


def text_of(response: httpx.Response) -> str:
    return html.unescape(response.text)


async def get_ok(client: httpx.AsyncClient, path: str) -> str:
    response = await client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return text_of(response)


async def assert_404(client: httpx.AsyncClient, *paths: str) -> None:
    for path in paths:
        response = await client.get(path)
        assert response.status_code == 404, (path, response.status_code)
        assert "This page does not exist, or you do not have access to it." in response.text


# -- every kind's card, for staff --------------------------------------------------------------


async def test_an_account_card_shows_contacts_projects_invoices_and_manager(
    db, demo: Demo, make_client
):
    admin = await signed_in(make_client, "admin@example.com")
    async with db.session() as s:
        account = await s.get(Account, demo.customer_account)
        assert account is not None and account.account_manager_id is not None
        manager = await s.get(Employee, account.account_manager_id)
        contacts = (await s.scalars(select(Contact).where(Contact.account_id == account.id))).all()
        projects = (await s.scalars(select(Project).where(Project.account_id == account.id))).all()
        newest = await s.scalar(
            select(Invoice)
            .where(Invoice.account_id == account.id)
            .order_by(Invoice.issue_date.desc(), Invoice.id.desc())
        )
    assert manager is not None and newest is not None
    page = await get_ok(admin, card("accounts", account.id))

    assert account.name in page and account.code in page
    assert f'{card("employees", manager.id)}">{manager.name}</a>' in page
    for contact in contacts:
        assert f'{card("contacts", contact.id)}">{contact.name}</a>' in page
    for project in projects:
        assert f'{card("projects", project.id)}">{project.name}</a>' in page
    assert f'{card("invoices", newest.id)}">{newest.number}</a>' in page
    assert "Open amount" in page and "Overdue amount" in page
    assert "Credit limit" in page
    assert "Data Log" in page


async def test_a_long_related_list_links_to_the_filtered_list_page(db, demo: Demo, make_client):
    admin = await signed_in(make_client, "admin@example.com")
    async with db.session() as s:
        busiest, count = (
            await s.execute(
                select(Invoice.account_id, func.count())
                .group_by(Invoice.account_id)
                .order_by(func.count().desc())
                .limit(1)
            )
        ).one()
    assert count > 20
    page = await get_ok(admin, card("accounts", busiest))
    assert f"Show all {count}" in page
    assert f'href="/records/invoices?account={busiest}"' in page
    assert len(re.findall(r'/records/invoices/\d+"', page)) == 20


async def test_a_project_card_shows_customer_team_partners_budget_and_invoices(
    db, demo: Demo, make_client
):
    admin = await signed_in(make_client, "admin@example.com")
    async with db.session() as s:
        project = await s.get(Project, demo.partner_project)
        assert project is not None
        customer = await s.get(Account, project.account_id)
        members = (
            await s.execute(
                select(Employee.id, Employee.name)
                .join(ProjectMember, ProjectMember.employee_id == Employee.id)
                .where(ProjectMember.project_id == project.id)
            )
        ).all()
        partner = await s.get(Account, demo.partner_account)
        invoices = (await s.scalars(select(Invoice).where(Invoice.project_id == project.id))).all()
    assert customer is not None and partner is not None and members
    page = await get_ok(admin, card("projects", project.id))

    assert project.name in page and project.code in page
    assert f'{card("accounts", customer.id)}">{customer.name}</a>' in page
    for member_id, name in members:
        assert f'{card("employees", member_id)}">{name}</a>' in page
    assert f'{card("accounts", partner.id)}">{partner.name}</a>' in page
    assert "Budget and realised" in page
    assert f"of {project.budget_hours} hours" in page
    assert '<progress max="100"' in page
    assert ' style="' not in page  # the CSP forbids inline styles
    for invoice in invoices:
        assert invoice.number in page
    assert "Edit project" in page


async def test_an_employee_card_shows_manager_department_reports_projects_and_skills(
    db, demo: Demo, make_client
):
    admin = await signed_in(make_client, "admin@example.com")
    async with db.session() as s:
        boss = await s.scalar(
            select(Employee)
            .where(Employee.id.in_(select(Employee.manager_id)))
            .order_by(Employee.id.desc())
        )
        assert boss is not None
        reports = (await s.scalars(select(Employee).where(Employee.manager_id == boss.id))).all()
        me = await s.get(Employee, demo.employee_id)
        assert me is not None and me.manager_id is not None
        my_manager = await s.get(Employee, me.manager_id)
        my_projects = (await s.scalars(select(Project).where(Project.manager_id == me.id))).all()
    assert my_manager is not None and my_projects

    page = await get_ok(admin, card("employees", boss.id))
    for report in reports:
        assert f'{card("employees", report.id)}">{report.name}</a>' in page

    page = await get_ok(admin, card("employees", me.id))
    assert me.name in page and me.job_title in page and me.number in page
    assert f'{card("employees", my_manager.id)}">{my_manager.name}</a>' in page
    assert "Department" in page and "Skills" in page
    for project in my_projects:
        assert f'{card("projects", project.id)}">{project.name}</a>' in page


async def test_an_invoice_card_shows_lines_payments_status_customer_and_totals(
    db, demo: Demo, make_client
):
    admin = await signed_in(make_client, "admin@example.com")
    async with db.session() as s:
        invoice = await s.scalar(
            select(Invoice)
            .where(Invoice.id.in_(select(Payment.invoice_id)), Invoice.project_id.is_not(None))
            .order_by(Invoice.id)
        )
        assert invoice is not None
        lines = (
            await s.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id))
        ).all()
        customer = await s.get(Account, invoice.account_id)
        project = await s.get(Project, invoice.project_id)
    assert customer is not None and project is not None
    page = await get_ok(admin, card("invoices", invoice.id))

    assert invoice.number in page
    assert f'{card("accounts", customer.id)}">{customer.name}</a>' in page
    assert f'{card("projects", project.id)}">{project.name}</a>' in page
    for line in lines:
        assert line.description in page
        if line.item_id:
            assert f'{card("items", line.item_id)}"' in page
    assert "Payments" in page and "Line total" in page and "Net" in page
    assert re.search(r'class="badge status-(open|paid|overdue)"', page)
    assert f"€{invoice.total_cents // 100:,}.{invoice.total_cents % 100:02d}" in page


async def test_contact_and_item_cards(db, demo: Demo, make_client):
    admin = await signed_in(make_client, "admin@example.com")
    async with db.session() as s:
        contact = await s.get(Contact, demo.customer_contact)
        item = await s.get(Item, demo.item)
        account = await s.get(Account, demo.customer_account)
    assert contact is not None and item is not None and account is not None

    page = await get_ok(admin, card("contacts", contact.id))
    assert contact.name in page
    assert f'{card("accounts", account.id)}">{account.name}</a>' in page
    assert "Edit contact" in page and "Data Log" in page

    page = await get_ok(admin, card("items", item.id))
    assert item.code in page and item.description in page and item.unit in page
    assert "Usage" in page and "Revenue" in page


async def test_unknown_kinds_and_records_are_404_and_anonymous_visitors_sign_in_first(
    demo: Demo, make_client
):
    admin = await signed_in(make_client, "admin@example.com")
    await assert_404(admin, "/records/widgets/1", card("accounts", 999_999))
    anonymous = make_client()
    response = await anonymous.get(card("accounts", demo.customer_account))
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/records/accounts/")


# -- who sees which card -----------------------------------------------------------------------


async def test_a_customer_sees_their_own_cards_and_nothing_else(demo: Demo, make_client):
    customer = await signed_in(make_client, "customer@example.com")
    page = await get_ok(customer, card("accounts", demo.customer_account))
    assert "Invoices" in page and "Contacts" in page
    assert "Credit limit" not in page and "Data Log" not in page and "Edit account" not in page
    page = await get_ok(customer, card("projects", demo.customer_project))
    assert "Data Log" not in page and "Edit project" not in page
    assert "Amount" not in page.split("Budget and realised")[1].split("</section>")[0]
    await get_ok(customer, card("invoices", demo.customer_invoice))
    await get_ok(customer, card("contacts", demo.customer_contact))
    for employee_id in demo.customer_team:
        await get_ok(customer, card("employees", employee_id))

    await assert_404(
        customer,
        card("accounts", demo.other_account),
        card("invoices", demo.other_invoice),
        card("contacts", demo.other_contact),
        card("employees", demo.stranger),
        card("items", demo.item),
        card("projects", demo.unpartnered_project),
    )


async def test_a_customer_sees_no_item_links_on_their_invoice(db, demo: Demo, make_client):
    customer = await signed_in(make_client, "customer@example.com")
    page = await get_ok(customer, card("invoices", demo.customer_invoice))
    assert "/records/items/" not in page


async def test_a_partner_sees_their_projects_and_those_customers_only(db, demo: Demo, make_client):
    async with db.session() as s:
        contact_names = (
            await s.scalars(select(Contact.name).where(Contact.account_id == demo.partner_customer))
        ).all()
        invoice_numbers = (
            await s.scalars(
                select(Invoice.number).where(Invoice.account_id == demo.partner_customer)
            )
        ).all()
        customer_invoice = await s.scalar(
            select(Invoice.id).where(Invoice.account_id == demo.partner_customer)
        )
    partner = await signed_in(make_client, "partner@example.com")

    page = await get_ok(partner, card("projects", demo.partner_project))
    assert "Invoices" not in page and "Data Log" not in page
    page = await get_ok(partner, card("accounts", demo.partner_customer))
    assert "Invoices" not in page and "Contacts" not in page and "Open amount" not in page
    assert not any(name in page for name in contact_names)
    assert not any(number in page for number in invoice_numbers)

    await assert_404(
        partner,
        card("projects", demo.unpartnered_project),
        card("accounts", demo.other_account),
        card("invoices", customer_invoice or 0),
        card("contacts", demo.other_contact),
        card("employees", demo.stranger),
        card("items", demo.item),
    )


async def test_hr_private_fields_are_for_hr_and_the_employee_themself(db, demo: Demo, make_client):
    async with db.session() as s:
        me = await s.get(Employee, demo.employee_id)
        account = await s.get(Account, demo.customer_account)
        assert account is not None and account.account_manager_id is not None
        manager = await s.get(Employee, account.account_manager_id)
    assert me is not None and me.private_address and manager is not None
    assert manager.private_address and manager.id != me.id

    hr = await signed_in(make_client, demo.hr_email)
    page = await get_ok(hr, card("employees", me.id))
    assert 'class="card private"' in page and me.private_address in page

    employee = await signed_in(make_client, "employee@example.com")
    page = await get_ok(employee, card("employees", me.id))
    assert me.private_address in page
    page = await get_ok(employee, card("employees", manager.id))
    assert 'class="card private"' not in page and manager.private_address not in page

    customer = await signed_in(make_client, "customer@example.com")
    page = await get_ok(customer, card("employees", manager.id))
    assert manager.name in page
    assert 'class="card private"' not in page and manager.private_address not in page
    assert manager.number not in page  # staff-only too


# -- compact cards -----------------------------------------------------------------------------


async def test_a_fragment_is_a_bare_card_for_htmx_and_a_small_page_otherwise(
    db, demo: Demo, make_client
):
    admin = await signed_in(make_client, "admin@example.com")
    async with db.session() as s:
        project = await s.get(Project, demo.customer_project)
    assert project is not None
    path = card("projects", project.id) + "/card"

    response = await admin.get(path, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.headers["vary"] == "HX-Request"
    body = text_of(response).strip()
    assert body.startswith('<article class="record-fragment"') and body.endswith("</article>")
    assert project.name in body and project.code in body
    assert f'{card("projects", project.id)}"' in body
    assert " id=" not in body and "hx-" not in body and "<script" not in body

    response = await admin.get(path)
    assert response.status_code == 200
    assert response.headers["vary"] == "HX-Request"
    assert response.text.startswith("<!doctype html>")
    assert 'class="mainnav"' not in response.text and "<script" not in response.text
    assert project.name in text_of(response)


async def test_every_kind_has_a_fragment(demo: Demo, make_client):
    admin = await signed_in(make_client, "admin@example.com")
    for kind, record_id in [
        ("accounts", demo.customer_account),
        ("contacts", demo.customer_contact),
        ("projects", demo.customer_project),
        ("employees", demo.employee_id),
        ("invoices", demo.customer_invoice),
        ("items", demo.item),
    ]:
        response = await admin.get(card(kind, record_id) + "/card", headers={"HX-Request": "true"})
        assert response.status_code == 200, kind
        assert f'{card(kind, record_id)}"' in response.text


async def test_fragments_answer_404_like_the_cards(demo: Demo, make_client):
    customer = await signed_in(make_client, "customer@example.com")
    await get_ok(customer, card("invoices", demo.customer_invoice) + "/card")
    await assert_404(
        customer,
        card("accounts", demo.other_account) + "/card",
        card("invoices", demo.other_invoice) + "/card",
        card("items", demo.item) + "/card",
        card("employees", demo.stranger) + "/card",
    )
    partner = await signed_in(make_client, "partner@example.com")
    await get_ok(partner, card("projects", demo.partner_project) + "/card")
    await assert_404(
        partner,
        card("projects", demo.unpartnered_project) + "/card",
        card("invoices", demo.customer_invoice) + "/card",
    )
    response = await customer.get(
        card("items", demo.item) + "/card", headers={"HX-Request": "true"}
    )
    assert response.status_code == 404


async def test_a_fragment_hides_hr_private_fields(db, demo: Demo, make_client):
    async with db.session() as s:
        me = await s.get(Employee, demo.employee_id)
    assert me is not None and me.private_address
    hr = await signed_in(make_client, demo.hr_email)
    response = await hr.get(card("employees", me.id) + "/card", headers={"HX-Request": "true"})
    assert me.name in text_of(response) and me.private_address not in text_of(response)


# -- edits -------------------------------------------------------------------------------------


def form_values(page: str, form_action: str) -> dict[str, str]:
    """The fields of the edit form on a card, as the browser would send them."""
    form = re.split(rf'action="[^"]*{re.escape(form_action)}"', page, maxsplit=1)[1]
    form = form.split("</form>", 1)[0]
    values: dict[str, str] = {}
    for tag in re.findall(r"<input [^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            values[name.group(1)] = html.unescape(value.group(1)) if value else ""
    for name, body in re.findall(r'<select [^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        values[name] = chosen.group(1) if chosen else ""
    for name, body in re.findall(
        r'<textarea [^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S
    ):
        values[name] = html.unescape(body)
    return values


async def test_staff_edit_a_project_and_the_data_log_shows_it(db, demo: Demo, make_client):
    employee = await signed_in(make_client, "employee@example.com")
    path = card("projects", demo.customer_project)
    page = await get_ok(employee, path)
    values = form_values(page, path)
    assert values["csrf_token"] and values["name"]
    async with db.session() as s:
        new_manager = await s.get(Employee, demo.stranger)
        project = await s.get(Project, demo.customer_project)
    assert new_manager is not None and project is not None
    old_name = project.name

    response = await employee.post(
        path,
        data={
            **values,
            "name": "Renamed from the card",
            "budget_cents": "12345.60",
            "manager_id": str(new_manager.id),
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{path}?saved=1"

    page = await get_ok(employee, response.headers["location"])
    assert "Your changes have been saved." in page
    log = page.split("Data Log", 1)[1]
    assert "Daan Jansen" in log  # who
    assert f'{old_name}</span> → <span class="new">Renamed from the card' in log
    assert "€12,345.60" in log
    assert new_manager.name in log  # employee ids are shown by name
    async with db.session() as s:
        rows = (
            await s.scalars(
                select(RecordChange.field).where(
                    RecordChange.kind == "project", RecordChange.record_id == project.id
                )
            )
        ).all()
    assert sorted(rows) == ["budget_cents", "manager_id", "name"]


async def test_saving_an_unchanged_form_says_so(demo: Demo, make_client):
    admin = await signed_in(make_client, "admin@example.com")
    path = card("accounts", demo.customer_account)
    values = form_values(await get_ok(admin, path), path)
    response = await admin.post(path, data=values)
    assert response.status_code == 303
    assert response.headers["location"] == f"{path}?saved=0"
    assert "Nothing was changed." in await get_ok(admin, response.headers["location"])


async def test_invalid_values_come_back_with_messages_and_change_nothing(
    db, demo: Demo, make_client
):
    admin = await signed_in(make_client, "admin@example.com")
    path = card("contacts", demo.customer_contact)
    values = form_values(await get_ok(admin, path), path)
    response = await admin.post(
        path, data={**values, "name": "   ", "email": "not-an-address", "phone": "call me"}
    )
    assert response.status_code == 422
    page = text_of(response)
    assert "This field is required." in page
    assert "Enter a valid email address." in page
    assert "Enter a valid phone number." in page
    assert 'value="not-an-address"' in page  # what was typed is kept
    assert '<details class="card record-edit" open>' in response.text

    project_path = card("projects", demo.customer_project)
    values = form_values(await get_ok(admin, project_path), project_path)
    response = await admin.post(
        project_path, data={**values, "start_date": "2026-05-01", "end_date": "2026-04-01"}
    )
    assert response.status_code == 422
    assert "The end date is before the start date." in response.text

    async with db.session() as s:
        contact = await s.get(Contact, demo.customer_contact)
        changes = await s.scalar(select(func.count()).select_from(RecordChange))
    assert contact is not None and contact.email != "not-an-address"
    assert changes == 0


async def test_messages_are_translated(demo: Demo, make_client):
    admin = await signed_in(make_client, "admin@example.com")
    path = card("accounts", demo.customer_account)
    values = form_values(await get_ok(admin, path), path)
    response = await admin.post(
        path, data={**values, "country": "Nederland"}, headers={"Accept-Language": "nl"}
    )
    assert response.status_code == 422
    assert '<html lang="nl">' in response.text
    assert "Gebruik een landcode van twee letters, zoals NL." in text_of(response)


async def test_externals_posting_get_404_and_nothing_changes(db, demo: Demo, make_client):
    customer = await signed_in(make_client, "customer@example.com")
    token = await csrf_from(customer, "/")
    for path in (card("accounts", demo.customer_account), card("projects", demo.customer_project)):
        response = await customer.post(path, data={"csrf_token": token, "name": "Hacked"})
        assert response.status_code == 404
    partner = await signed_in(make_client, "partner@example.com")
    token = await csrf_from(partner, "/")
    response = await partner.post(
        card("projects", demo.partner_project), data={"csrf_token": token, "name": "Hacked"}
    )
    assert response.status_code == 404
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(RecordChange)) == 0
        assert await s.scalar(select(func.count()).where(Project.name == "Hacked")) == 0


async def test_kinds_without_edits_answer_405_to_staff(demo: Demo, make_client):
    admin = await signed_in(make_client, "admin@example.com")
    token = await csrf_from(admin, "/")
    response = await admin.post(card("invoices", demo.customer_invoice), data={"csrf_token": token})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"


# -- the portal home -------------------------------------------------------------------------


async def test_the_customer_home_shows_account_invoices_projects_and_people(
    db, demo: Demo, make_client
):
    async with db.session() as s:
        account = await s.get(Account, demo.customer_account)
        newest = await s.scalar(
            select(Invoice)
            .where(Invoice.account_id == demo.customer_account)
            .order_by(Invoice.issue_date.desc(), Invoice.id.desc())
        )
        projects = (
            await s.scalars(select(Project).where(Project.account_id == demo.customer_account))
        ).all()
        assert account is not None and account.account_manager_id is not None
        manager = await s.get(Employee, account.account_manager_id)
        other = await s.get(Account, demo.other_account)
    assert newest is not None and manager is not None and other is not None
    customer = await signed_in(make_client, "customer@example.com")
    page = await get_ok(customer, "/")

    assert f'{card("accounts", account.id)}">{account.name}</a>' in page
    assert f'{card("invoices", newest.id)}">{newest.number}</a>' in page
    assert "Open invoices" in page and "Paid invoices" in page
    for project in projects:
        assert f'{card("projects", project.id)}">{project.name}</a>' in page
    assert '<progress max="100"' in page
    assert "Who works for you" in page
    assert f'{card("employees", manager.id)}">{manager.name}</a>' in page
    assert other.name not in page


async def test_the_partner_home_shows_only_partner_projects_and_their_customers(
    db, demo: Demo, make_client
):
    async with db.session() as s:
        partnered = (
            await s.scalars(
                select(Project)
                .join(ProjectPartner, ProjectPartner.project_id == Project.id)
                .where(ProjectPartner.account_id == demo.partner_account)
            )
        ).all()
        customers = (
            await s.scalars(
                select(Account).where(Account.id.in_([p.account_id for p in partnered]))
            )
        ).all()
        unpartnered = await s.get(Project, demo.unpartnered_project)
    assert unpartnered is not None
    partner = await signed_in(make_client, "partner@example.com")
    page = await get_ok(partner, "/")

    for project in partnered:
        assert f'{card("projects", project.id)}">{project.name}</a>' in page
    for account in customers:
        assert f'{card("accounts", account.id)}">{account.name}</a>' in page
    assert unpartnered.name not in page
    assert "/records/invoices/" not in page and "/records/employees/" not in page
    assert "Your invoices" not in page and "Who works for you" not in page
