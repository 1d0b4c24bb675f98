"""The demo company: big enough to look real, the same on every run, loaded only once, with four
logins that work and show what they should, and stored sums that agree with their rows."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from domain.access import load_principal
from domain.db import Database
from domain.demo import DEMO_PASSWORD, DemoSummary, load_demo
from domain.demo.logins import CUSTOMER, EMPLOYEE
from domain.people.models import Role, User, UserKind, UserRole
from domain.people.passwords import verify_password
from domain.posts.models import Post, PostKind
from domain.posts.timeline import TimelineScope, current_news, timeline
from domain.records.invoicing import InvoiceStatus, invoice_status
from domain.records.models import (
    Account,
    AccountType,
    Contact,
    Department,
    Employee,
    EmployeeSkill,
    Invoice,
    InvoiceLine,
    Item,
    Payment,
    Project,
    ProjectMember,
    ProjectPartner,
    ProjectStatus,
)

TODAY = date(2026, 3, 16)

MINIMUMS = {
    "departments": 8,
    "employees": 120,
    "users": 120,
    "accounts_customers": 200,
    "accounts_partners": 20,
    "contacts": 220,
    "projects": 60,
    "items": 100,
    "invoices": 2000,
    "invoice_lines": 2000,
    "payments": 1500,
}


async def table_counts(db: Database) -> dict[str, int]:
    models = (
        User,
        UserRole,
        Department,
        Employee,
        EmployeeSkill,
        Account,
        Contact,
        Item,
        Project,
        ProjectMember,
        ProjectPartner,
        Invoice,
        InvoiceLine,
        Payment,
        Post,
    )
    async with db.session() as session:
        return {
            model.__tablename__: (
                await session.scalar(select(func.count()).select_from(model)) or 0
            )
            for model in models
        }


async def test_first_load_fills_an_empty_database_and_later_ones_change_nothing(db):
    summary = await load_demo(db, today=TODAY)

    assert summary is not None
    for field, minimum in MINIMUMS.items():
        assert getattr(summary, field) >= minimum, field
    counts = await table_counts(db)
    assert counts["users"] == summary.users
    assert counts["employees"] == summary.employees
    assert counts["accounts"] == summary.accounts_customers + summary.accounts_partners
    assert counts["invoices"] == summary.invoices
    assert counts["invoice_lines"] == summary.invoice_lines
    assert counts["payments"] == summary.payments

    assert await load_demo(db, today=TODAY) is None
    assert await load_demo(db, today=TODAY + timedelta(days=40)) is None
    assert await table_counts(db) == counts


async def test_the_same_day_gives_the_same_company(db):
    async def snapshot() -> tuple[DemoSummary | None, list[tuple[object, ...]]]:
        summary = await load_demo(db, today=TODAY, reset=True, social=False)
        async with db.session() as session:
            invoices = await session.execute(
                select(Invoice.number, Invoice.total_cents, Invoice.paid_cents, Invoice.account_id)
                .order_by(Invoice.id)
                .limit(20)
            )
            people = await session.execute(
                select(Employee.name, Employee.email).order_by(Employee.id).limit(20)
            )
            accounts = await session.execute(select(Account.name).order_by(Account.id).limit(20))
            return summary, [*invoices.all(), *people.all(), *accounts.all()]

    first = await snapshot()
    second = await snapshot()

    assert first[0] is not None
    assert first[0] == second[0]
    assert first[1] == second[1]
    assert len(first[1]) == 60


async def test_invoice_totals_and_paid_amounts_match_their_rows(db):
    await load_demo(db, today=TODAY, social=False)
    net = InvoiceLine.quantity * InvoiceLine.unit_price_cents
    # The same rounding as line_vat_cents: half up to the cent, in integers.
    line_total = net + (net * InvoiceLine.vat_rate_bp + 5000) // 10000
    lines = (
        select(
            InvoiceLine.invoice_id,
            func.sum(line_total).label("total"),
            func.count().label("n"),
        )
        .group_by(InvoiceLine.invoice_id)
        .subquery()
    )
    paid = (
        select(Payment.invoice_id, func.sum(Payment.amount_cents).label("paid"))
        .group_by(Payment.invoice_id)
        .subquery()
    )
    async with db.session() as session:
        wrong_totals = await session.scalar(
            select(func.count())
            .select_from(Invoice)
            .outerjoin(lines, lines.c.invoice_id == Invoice.id)
            .where(Invoice.total_cents != func.coalesce(lines.c.total, -1))
        )
        wrong_paid = await session.scalar(
            select(func.count())
            .select_from(Invoice)
            .outerjoin(paid, paid.c.invoice_id == Invoice.id)
            .where(Invoice.paid_cents != func.coalesce(paid.c.paid, 0))
        )
        line_counts = (
            await session.execute(select(func.min(lines.c.n), func.max(lines.c.n)))
        ).one()
        overpaid = await session.scalar(
            select(func.count()).where(Invoice.paid_cents > Invoice.total_cents)
        )
        late_payments = await session.scalar(select(func.count()).where(Payment.paid_on > TODAY))

    assert wrong_totals == 0
    assert wrong_paid == 0
    assert tuple(line_counts) == (1, 5)
    assert overpaid == 0
    assert late_payments == 0


async def test_the_four_demo_logins(db):
    await load_demo(db, today=TODAY, social=False)
    async with db.session() as session:
        users = {
            user.email: user
            for user in await session.scalars(select(User).where(User.email.like("%@example.com")))
        }
        roles = {
            email: set(
                await session.scalars(select(UserRole.role).where(UserRole.user_id == user.id))
            )
            for email, user in users.items()
        }
        employees = {
            e.user_id: e
            for e in await session.scalars(
                select(Employee).where(Employee.user_id.in_([u.id for u in users.values()]))
            )
        }

        admin = users["admin@example.com"]
        assert admin.kind is UserKind.STAFF
        assert roles["admin@example.com"] == {Role.ADMIN}
        admin_department = await session.get(Department, employees[admin.id].department_id)
        assert admin_department is not None
        assert admin_department.code in {"DIR", "ICT"}

        worker = employees[users["employee@example.com"].id]
        assert users["employee@example.com"].kind is UserKind.STAFF
        assert roles["employee@example.com"] == set()
        assert worker.department_id is not None
        led = await session.scalar(select(func.count()).where(Project.manager_id == worker.id))
        member_elsewhere = await session.scalar(
            select(func.count())
            .select_from(ProjectMember)
            .join(Project, Project.id == ProjectMember.project_id)
            .where(ProjectMember.employee_id == worker.id, Project.manager_id != worker.id)
        )
        assert led is not None and led >= 3
        assert member_elsewhere is not None and member_elsewhere >= 1

        customer = users["customer@example.com"]
        assert customer.kind is UserKind.CUSTOMER
        assert roles["customer@example.com"] == set()
        contact = await session.scalar(select(Contact).where(Contact.user_id == customer.id))
        assert contact is not None
        account = await session.get(Account, contact.account_id)
        assert account is not None and account.type is AccountType.CUSTOMER
        projects = await session.scalar(
            select(func.count()).where(Project.account_id == account.id)
        )
        assert projects is not None and projects >= 3
        invoices = (
            await session.execute(
                select(Invoice.total_cents, Invoice.paid_cents, Invoice.due_date).where(
                    Invoice.account_id == account.id
                )
            )
        ).all()
        statuses = {invoice_status(total, paid, due, TODAY) for total, paid, due in invoices}
        assert statuses == {InvoiceStatus.OPEN, InvoiceStatus.PAID, InvoiceStatus.OVERDUE}

        partner = users["partner@example.com"]
        assert partner.kind is UserKind.PARTNER
        contact = await session.scalar(select(Contact).where(Contact.user_id == partner.id))
        assert contact is not None
        account = await session.get(Account, contact.account_id)
        assert account is not None and account.type is AccountType.PARTNER
        partnered = await session.scalar(
            select(func.count()).where(ProjectPartner.account_id == account.id)
        )
        assert partnered is not None and partnered >= 3

        other_roles = (
            await session.execute(select(UserRole.role, func.count()).group_by(UserRole.role))
        ).all()
        assert dict(other_roles) == {Role.ADMIN: 1, Role.HR: 1, Role.COMMUNICATION: 1}
        contact_logins = await session.scalar(
            select(func.count()).where(Contact.user_id.is_not(None))
        )
        assert contact_logins == 2

    # The password is hashed once for every demo user; one check covers all four.
    assert len({user.password_hash for user in users.values()}) == 1
    assert verify_password(admin.password_hash, DEMO_PASSWORD)


async def test_records_hang_together(db):
    await load_demo(db, today=TODAY, social=False)
    async with db.session() as session:
        departments = list(await session.scalars(select(Department)))
        employees = {e.id: e for e in await session.scalars(select(Employee))}
        staff_users = set(await session.scalars(select(User.id).where(User.kind == UserKind.STAFF)))
        projects = list(await session.scalars(select(Project)))
        members = (
            await session.execute(select(ProjectMember.project_id, ProjectMember.employee_id))
        ).all()
        invoices = list(await session.scalars(select(Invoice)))
        customers = list(
            await session.scalars(select(Account).where(Account.type == AccountType.CUSTOMER))
        )
        skills = dict(
            (
                await session.execute(
                    select(EmployeeSkill.employee_id, func.count()).group_by(
                        EmployeeSkill.employee_id
                    )
                )
            ).all()
        )

    # One board at the top; every department has a manager; everyone reports up to the top.
    assert sum(d.parent_id is None for d in departments) == 1
    assert all(d.manager_id in employees for d in departments)
    top = [e for e in employees.values() if e.manager_id is None]
    assert len(top) == 1
    for employee in employees.values():
        seen, current = set(), employee
        while current.manager_id is not None:
            assert current.id not in seen
            seen.add(current.id)
            current = employees[current.manager_id]
        assert current is top[0]
    assert {e.user_id for e in employees.values()} == staff_users
    assert all(2 <= skills[e] <= 5 for e in employees)
    assert all(e.date_of_birth and e.private_address and e.hired_on for e in employees.values())

    # Projects: every status, with dates that agree with it, and a team of 2-6 led by the manager.
    assert {p.status for p in projects} == set(ProjectStatus)
    for project in projects:
        assert project.start_date is not None and project.end_date is not None
        assert project.start_date < project.end_date
        assert re.fullmatch(rf"PRJ-{project.start_date.year}-\d{{3}}", project.code)
        if project.status is ProjectStatus.PLANNED:
            assert project.start_date > TODAY
        elif project.status in (ProjectStatus.COMPLETED, ProjectStatus.CANCELLED):
            assert project.end_date < TODAY
        else:
            assert project.start_date <= TODAY < project.end_date
        team = [e for p, e in members if p == project.id]
        assert 2 <= len(team) <= 6
        assert project.manager_id in team

    # Invoices: two years back from today, numbered per year, due in 14 or 30 days.
    assert min(i.issue_date for i in invoices) >= TODAY - timedelta(days=732)
    assert max(i.issue_date for i in invoices) <= TODAY
    for invoice in invoices:
        assert re.fullmatch(rf"INV-{invoice.issue_date.year}-\d{{5}}", invoice.number)
        assert (invoice.due_date - invoice.issue_date).days in (14, 30)
    statuses = {i.status_on(TODAY) for i in invoices}
    assert statuses == set(InvoiceStatus)
    project_accounts = {p.id: p.account_id for p in projects}
    assert all(project_accounts[i.project_id] == i.account_id for i in invoices if i.project_id)

    dutch = [a for a in customers if a.country == "NL"]
    assert len(dutch) > len(customers) * 0.75
    assert all(re.fullmatch(r"NL\d{9}B01", a.vat_number or "") for a in dutch)
    assert all(re.fullmatch(r"C1\d{4}", a.code) for a in customers)


async def test_ordinary_inserts_after_loading_get_fresh_ids(db):
    summary = await load_demo(db, today=TODAY, reset=True, social=False)
    assert summary is not None
    async with db.transaction() as session:
        item = Item(code="NEW-001", description="Nieuw artikel", price_cents=100)
        account = Account(code="C99999", name="Nieuwe klant B.V.", type=AccountType.CUSTOMER)
        session.add_all([item, account])
        await session.flush()
        assert item.id == summary.items + 1
        assert account.id == summary.accounts_customers + summary.accounts_partners + 1


async def test_refuses_to_mix_into_company_records_without_users(db):
    async with db.transaction() as session:
        session.add(Item(code="OWN-001", description="Eigen artikel", price_cents=100))

    with pytest.raises(RuntimeError, match="reset=True"):
        await load_demo(db, today=TODAY, social=False)

    assert (await table_counts(db))["items"] == 1


async def test_the_demo_has_a_social_life_each_login_sees_its_part_of(db):
    await load_demo(db, today=TODAY)
    async with db.session() as session:
        employee = await session.scalar(select(User).where(User.email == EMPLOYEE.email))
        customer = await session.scalar(select(User).where(User.email == CUSTOMER.email))
        assert employee is not None and customer is not None
        staff = await load_principal(session, employee)
        external = await load_principal(session, customer)
        theirs = await timeline(session, staff, TimelineScope("personal", None))
        news = await current_news(session, staff, datetime.now(UTC))
        portal = await timeline(session, external, TimelineScope("personal", None), limit=50)
        shared_groups = {t for t in external.tokens if t.startswith("group:")}

    assert len(theirs.items) == 20 and theirs.next is not None
    assert any(v.post.kind is PostKind.NEWS for v in news)
    assert any(v.post.comment_count for v in theirs.items)
    assert any(v.post.reaction_counts for v in theirs.items)
    # The customer sees the conversation of the group shared with their account, and only it.
    assert shared_groups and portal.items
    assert {f"group:{v.post.group_id}" for v in portal.items} <= shared_groups
