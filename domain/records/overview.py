"""What the home page shows each kind of user, read with the audience rules.

Staff see the company at a glance and their own projects; a customer contact sees their account,
its invoices and projects; a partner contact sees only the projects their account partners on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal
from domain.records.invoicing import Invoice, InvoiceStatus, invoice_status_sql
from domain.records.org import Employee
from domain.records.projects import Project, ProjectMember, ProjectPartner, ProjectStatus
from domain.records.relations import Account, AccountType

PROJECT_LIMIT = 12


@dataclass(frozen=True)
class ProjectLine:
    id: int
    code: str
    name: str
    status: ProjectStatus
    account_name: str
    end_date: date | None


@dataclass(frozen=True)
class InvoiceTotals:
    count: int = 0
    open_cents: int = 0


@dataclass
class Overview:
    account: Account | None = None
    account_manager: Employee | None = None
    projects: list[ProjectLine] = field(default_factory=list)
    invoices: dict[InvoiceStatus, InvoiceTotals] = field(default_factory=dict)
    customers: int = 0
    active_projects: int = 0
    employees: int = 0


async def _projects(session: AsyncSession, *conditions: object) -> list[ProjectLine]:
    rows = await session.execute(
        select(
            Project.id,
            Project.code,
            Project.name,
            Project.status,
            Account.name,
            Project.end_date,
        )
        .join(Account, Account.id == Project.account_id)
        .where(*conditions)  # type: ignore[arg-type]
        .order_by(Project.status, Project.end_date.desc(), Project.id.desc())
        .limit(PROJECT_LIMIT)
    )
    return [ProjectLine(*row) for row in rows]


async def _invoice_totals(
    session: AsyncSession, today: date, *conditions: object
) -> dict[InvoiceStatus, InvoiceTotals]:
    status = invoice_status_sql(today)
    rows = await session.execute(
        select(status, func.count(), func.sum(Invoice.total_cents - Invoice.paid_cents))
        .where(*conditions)  # type: ignore[arg-type]
        .group_by(status)
    )
    return {InvoiceStatus(s): InvoiceTotals(c, int(o or 0)) for s, c, o in rows}


async def overview_for(session: AsyncSession, principal: Principal, today: date) -> Overview:
    overview = Overview()
    if principal.is_staff:
        if principal.employee_id is not None:
            managed_or_member = or_(
                Project.manager_id == principal.employee_id,
                Project.id.in_(
                    select(ProjectMember.project_id).where(
                        ProjectMember.employee_id == principal.employee_id
                    )
                ),
            )
            overview.projects = await _projects(session, managed_or_member)
        overview.customers = (
            await session.scalar(select(func.count()).where(Account.type == AccountType.CUSTOMER))
        ) or 0
        overview.active_projects = (
            await session.scalar(select(func.count()).where(Project.status == ProjectStatus.ACTIVE))
        ) or 0
        overview.employees = (await session.scalar(select(func.count(Employee.id)))) or 0
        overview.invoices = await _invoice_totals(session, today)
        return overview

    if principal.account_id is None:
        return overview
    overview.account = await session.get(Account, principal.account_id)
    if overview.account is not None and overview.account.account_manager_id is not None:
        overview.account_manager = await session.get(Employee, overview.account.account_manager_id)
    if overview.account is not None and overview.account.type is AccountType.PARTNER:
        overview.projects = await _projects(
            session,
            Project.id.in_(
                select(ProjectPartner.project_id).where(
                    ProjectPartner.account_id == principal.account_id
                )
            ),
        )
    else:
        overview.projects = await _projects(session, Project.account_id == principal.account_id)
        overview.invoices = await _invoice_totals(
            session, today, Invoice.account_id == principal.account_id
        )
    return overview
