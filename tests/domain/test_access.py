"""Audiences: the tokens ``load_principal`` gives each kind of user, and ``can_see``."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from domain.access import Principal, load_principal
from domain.db import Database
from domain.people.models import Role, User, UserKind
from domain.records.models import (
    Account,
    AccountType,
    Contact,
    Employee,
    Project,
    ProjectMember,
    ProjectPartner,
    ProjectStatus,
)


@dataclass(frozen=True)
class Company:
    """Two customers with projects, a partner on one of them, and an employee on two."""

    customer: int
    other_customer: int
    partner: int
    managed: int  # managed by the employee, for customer
    member_of: int  # the employee is a member, for customer, with the partner
    unrelated: int  # for other_customer, nobody's
    employee: int


async def build_company(db: Database, employee_user: User | None = None) -> Company:
    async with db.transaction() as session:
        customer = Account(code="C1", name="Customer One", type=AccountType.CUSTOMER)
        other = Account(code="C2", name="Customer Two", type=AccountType.CUSTOMER)
        partner = Account(code="P1", name="Partner One", type=AccountType.PARTNER)
        session.add_all([customer, other, partner])
        await session.flush()
        employee = Employee(
            number="E1",
            name="Erin Employee",
            email="erin@example.com",
            job_title="Project leader",
            user_id=employee_user.id if employee_user else None,
        )
        bystander = Employee(
            number="E2", name="Bo Bystander", email="bo@example.com", job_title="Engineer"
        )
        session.add_all([employee, bystander])
        await session.flush()

        def project(code: str, account: Account, manager: Employee | None) -> Project:
            return Project(
                code=code,
                name=f"Project {code}",
                account_id=account.id,
                manager_id=manager.id if manager else None,
                status=ProjectStatus.ACTIVE,
            )

        managed = project("PR1", customer, employee)
        member_of = project("PR2", customer, bystander)
        unrelated = project("PR3", other, bystander)
        session.add_all([managed, member_of, unrelated])
        await session.flush()
        session.add_all(
            [
                ProjectMember(project_id=member_of.id, employee_id=employee.id, role="developer"),
                ProjectMember(project_id=unrelated.id, employee_id=bystander.id),
                ProjectPartner(project_id=member_of.id, account_id=partner.id),
            ]
        )
        return Company(
            customer=customer.id,
            other_customer=other.id,
            partner=partner.id,
            managed=managed.id,
            member_of=member_of.id,
            unrelated=unrelated.id,
            employee=employee.id,
        )


async def link_contact(db: Database, user: User, account_id: int) -> None:
    async with db.transaction() as session:
        session.add(Contact(account_id=account_id, user_id=user.id, name=user.name))


async def principal_of(db: Database, user: User) -> Principal:
    async with db.session() as session:
        return await load_principal(session, user)


async def test_an_admin(db: Database, make_user) -> None:
    user = await make_user(roles=frozenset({Role.ADMIN}))
    principal = await principal_of(db, user)
    assert principal.tokens == {f"user:{user.id}", "role:employee", "role:admin"}
    assert principal.is_staff and principal.is_admin and not principal.is_hr
    assert principal.employee_id is None and principal.account_id is None


async def test_an_hr_user(db: Database, make_user) -> None:
    user = await make_user(roles=frozenset({Role.HR}))
    principal = await principal_of(db, user)
    assert principal.tokens == {f"user:{user.id}", "role:employee", "hr"}
    assert principal.is_hr and not principal.is_admin


async def test_roles_add_up(db: Database, make_user) -> None:
    user = await make_user(roles=frozenset({Role.ADMIN, Role.HR, Role.COMMUNICATION}))
    principal = await principal_of(db, user)
    assert principal.tokens == {
        f"user:{user.id}",
        "role:employee",
        "role:admin",
        "hr",
        "role:communication",
    }
    assert principal.roles == {Role.ADMIN, Role.HR, Role.COMMUNICATION}


async def test_an_employee_gets_the_projects_they_manage_or_work_on(
    db: Database, make_user
) -> None:
    user = await make_user()
    company = await build_company(db, employee_user=user)
    principal = await principal_of(db, user)
    assert principal.tokens == {
        f"user:{user.id}",
        "role:employee",
        f"project:{company.managed}",
        f"project:{company.member_of}",
    }
    assert principal.employee_id == company.employee
    assert principal.roles == frozenset()


async def test_a_staff_user_without_an_employee_record(db: Database, make_user) -> None:
    await build_company(db)
    user = await make_user()
    principal = await principal_of(db, user)
    assert principal.tokens == {f"user:{user.id}", "role:employee"}


async def test_a_customer_contact_sees_their_accounts_projects_and_nothing_of_staff(
    db: Database, make_user
) -> None:
    company = await build_company(db)
    # A role row on an external user (a mistake, or an attack on the data) grants nothing.
    user = await make_user(kind=UserKind.CUSTOMER, roles=frozenset({Role.ADMIN, Role.HR}))
    await link_contact(db, user, company.customer)
    principal = await principal_of(db, user)
    assert principal.tokens == {
        f"user:{user.id}",
        "role:customer",
        f"account:{company.customer}",
        f"project:{company.managed}",
        f"project:{company.member_of}",
    }
    assert "role:employee" not in principal.tokens
    assert principal.roles == frozenset()
    assert not principal.is_admin and not principal.is_hr and not principal.is_staff
    assert principal.is_external
    assert principal.account_id == company.customer


async def test_a_partner_contact_sees_only_the_projects_it_partners_on(
    db: Database, make_user
) -> None:
    company = await build_company(db)
    user = await make_user(kind=UserKind.PARTNER, roles=frozenset({Role.ADMIN}))
    await link_contact(db, user, company.partner)
    principal = await principal_of(db, user)
    assert principal.tokens == {
        f"user:{user.id}",
        "role:partner",
        f"account:{company.partner}",
        f"project:{company.member_of}",
    }
    assert principal.roles == frozenset()


async def test_an_external_without_a_contact_holds_only_their_own_tokens(
    db: Database, make_user
) -> None:
    await build_company(db)
    user = await make_user(kind=UserKind.CUSTOMER)
    principal = await principal_of(db, user)
    assert principal.tokens == {f"user:{user.id}", "role:customer"}
    assert principal.account_id is None


@pytest.mark.parametrize(
    ("audience", "visible"),
    [
        ({"role:employee"}, True),
        ({"user:7"}, True),
        ({"project:3", "account:9"}, True),
        ({"role:admin"}, False),
        ({"user:8", "project:4"}, False),
        (set(), False),
        (["project:3"], True),  # any iterable of tokens
    ],
)
def test_can_see_when_the_sets_meet(audience, visible: bool) -> None:
    principal = Principal(
        user_id=7,
        name="P",
        kind=UserKind.STAFF,
        tokens=frozenset({"user:7", "role:employee", "project:3"}),
    )
    assert principal.can_see(audience) is visible


def test_nobody_sees_a_thing_without_tokens() -> None:
    principal = Principal(user_id=1, name="Nobody", kind=UserKind.CUSTOMER)
    assert not principal.can_see({"user:1"})
