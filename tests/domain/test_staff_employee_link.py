"""A staff login created for an existing employee (same work email) is linked to that employee,
so a real company's users get their projects and HR self-view, not only the demo's."""

from __future__ import annotations

from sqlalchemy import select

from domain.access import load_principal
from domain.people.actions import do_create_user
from domain.people.models import UserKind
from domain.records.org import Employee


async def _employee(db, email: str) -> int:
    async with db.transaction() as session:
        employee = Employee(number="E-900", name="Sanne Visser", email=email, job_title="Planner")
        session.add(employee)
        await session.flush()
        return employee.id


async def test_a_staff_login_is_linked_to_the_employee_with_its_email(db):
    employee_id = await _employee(db, "Sanne.Visser@example.com")
    async with db.transaction() as session:
        user = await do_create_user(
            session, email="sanne.visser@EXAMPLE.com", name="Sanne Visser", password=None
        )
    async with db.session() as session:
        principal = await load_principal(session, user)
        linked = await session.scalar(select(Employee.user_id).where(Employee.id == employee_id))
    assert linked == user.id
    assert principal.employee_id == employee_id


async def test_an_external_login_is_never_linked_to_an_employee(db):
    employee_id = await _employee(db, "shared@example.com")
    async with db.transaction() as session:
        await do_create_user(
            session,
            email="shared@example.com",
            name="Someone Else",
            password=None,
            kind=UserKind.CUSTOMER,
        )
    async with db.session() as session:
        linked = await session.scalar(select(Employee.user_id).where(Employee.id == employee_id))
    assert linked is None
