"""Loading one record for a user: ``access_<kind>(session, principal, id)``.

These are the only way to load a record by id for a user. A record outside the principal's
audience raises ``NotFound`` — the same exception, message and query as a record that does not
exist, so guessing ids reveals nothing.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal
from domain.errors import NotFound
from domain.records.audience import RecordKind, visible
from domain.records.invoicing import Invoice, Item
from domain.records.org import Employee
from domain.records.projects import Project
from domain.records.relations import Account, Contact

MODELS: dict[RecordKind, type[Account | Contact | Project | Employee | Invoice | Item]] = {
    RecordKind.ACCOUNT: Account,
    RecordKind.CONTACT: Contact,
    RecordKind.PROJECT: Project,
    RecordKind.EMPLOYEE: Employee,
    RecordKind.INVOICE: Invoice,
    RecordKind.ITEM: Item,
}

M = TypeVar("M", Account, Contact, Project, Employee, Invoice, Item)


# Ids are 32-bit on every table; a larger number (from a URL) cannot name a record, and passing
# it on would overflow the database driver instead of answering "not found".
MAX_ID = 2**31 - 1


async def _access(
    session: AsyncSession, principal: Principal, kind: RecordKind, model: type[M], record_id: int
) -> M:
    if not 0 < record_id <= MAX_ID:
        raise NotFound(f"{kind.value} {record_id}")
    record = await session.scalar(
        select(model).where(model.id == record_id, visible(kind, principal.tokens, model.id))
    )
    if record is None:
        raise NotFound(f"{kind.value} {record_id}")
    return record


async def access_account(session: AsyncSession, principal: Principal, record_id: int) -> Account:
    return await _access(session, principal, RecordKind.ACCOUNT, Account, record_id)


async def access_contact(session: AsyncSession, principal: Principal, record_id: int) -> Contact:
    return await _access(session, principal, RecordKind.CONTACT, Contact, record_id)


async def access_project(session: AsyncSession, principal: Principal, record_id: int) -> Project:
    return await _access(session, principal, RecordKind.PROJECT, Project, record_id)


async def access_employee(session: AsyncSession, principal: Principal, record_id: int) -> Employee:
    return await _access(session, principal, RecordKind.EMPLOYEE, Employee, record_id)


async def access_invoice(session: AsyncSession, principal: Principal, record_id: int) -> Invoice:
    return await _access(session, principal, RecordKind.INVOICE, Invoice, record_id)


async def access_item(session: AsyncSession, principal: Principal, record_id: int) -> Item:
    return await _access(session, principal, RecordKind.ITEM, Item, record_id)


async def access_record(
    session: AsyncSession, principal: Principal, kind: RecordKind, record_id: int
) -> Account | Contact | Project | Employee | Invoice | Item:
    """Any kind by name, for routes shared by all kinds (card fragments)."""
    return await _access(session, principal, kind, MODELS[kind], record_id)  # type: ignore[type-var]
