"""Writing the demo company: emptying the database on request, bulk inserts in foreign-key order,
and PostgreSQL's id sequences moved past the ids the builders chose.

Every statement runs on the caller's session, inside the caller's one write transaction, so a
failure half-way leaves the database as it was.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.db import Base
from domain.demo.rows import DemoData, Row
from domain.models import metadata
from domain.people.models import User, UserRole
from domain.records.models import (
    Account,
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
)

# Tables whose rows mean "this database already holds a company".
_COMPANY_TABLES: tuple[Any, ...] = (Department, Employee, Account, Item, Project, Invoice)


async def holds_users(session: AsyncSession) -> bool:
    return await session.scalar(select(User.id).limit(1)) is not None


async def holds_company_data(session: AsyncSession) -> bool:
    for model in _COMPANY_TABLES:
        if await session.scalar(select(model.id).limit(1)) is not None:
            return True
    return False


async def wipe(session: AsyncSession) -> None:
    """Delete every row of every table Atrium knows, children before parents.

    Departments and employees refer to each other (a department's manager is an employee), which
    no table order satisfies; clearing the managers first breaks the cycle.
    """
    await session.execute(update(Department).values(manager_id=None))
    for table in reversed(metadata.sorted_tables):
        await session.execute(table.delete())


async def write(session: AsyncSession, data: DemoData, *, dialect: str) -> None:
    """Insert every row of ``data``; on PostgreSQL, then move the id sequences on."""
    batches: list[tuple[type[Base], list[Row]]] = [
        (User, data.users),
        (UserRole, data.user_roles),
        (Department, data.departments),
        (Employee, data.employees),
        (EmployeeSkill, data.employee_skills),
        (Account, data.accounts),
        (Contact, data.contacts),
        (Item, data.items),
        (Project, data.projects),
        (ProjectMember, data.project_members),
        (ProjectPartner, data.project_partners),
        (Invoice, data.invoices),
        (InvoiceLine, data.invoice_lines),
        (Payment, data.payments),
    ]
    for model, rows in batches:
        if rows:
            await session.execute(insert(model), rows)
        if model is Employee and data.department_managers:
            await session.execute(update(Department), data.department_managers)
    if dialect == "postgresql":
        for model, rows in batches:
            if rows and "id" in rows[0]:
                await _move_sequence(session, model.__tablename__, max(r["id"] for r in rows))


async def _move_sequence(session: AsyncSession, table: str, last_id: int) -> None:
    """Make the table's next generated id ``last_id + 1``: the ids were given explicitly, so the
    sequence behind the column has not moved, and the next ordinary insert would collide."""
    await session.execute(
        text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :last_id)"),
        {"table": table, "last_id": last_id},
    )
