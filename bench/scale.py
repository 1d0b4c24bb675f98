"""Grow the demo company N-fold, in SQL, for benchmarks at scale.

Each copy k of the accounts and everything that hangs off them (contacts, projects, members,
partners, invoices, lines, payments) gets ids shifted by k × (max id) and codes/numbers suffixed
with ``-k``, so the copies are new records with the same shape as the demo's. Employees, items and
users are shared. Audiences are rebuilt afterwards. 20× the demo is about 48,000 invoices.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Integer, String, cast, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.db import Database
from domain.models import metadata
from domain.records.audience import rebuild_all

# table -> {foreign-key column: table it points into} among the copied tables
COPIED: dict[str, dict[str, str]] = {
    "accounts": {},
    "contacts": {"account_id": "accounts"},
    "projects": {"account_id": "accounts"},
    "project_members": {"project_id": "projects"},
    "project_partners": {"project_id": "projects", "account_id": "accounts"},
    "invoices": {"account_id": "accounts", "project_id": "projects"},
    "invoice_lines": {"invoice_id": "invoices"},
    "payments": {"invoice_id": "invoices"},
}
SUFFIXED = {"accounts": "code", "projects": "code", "invoices": "number"}
NULLED = {"contacts": "user_id"}


async def _max_ids(session: AsyncSession) -> dict[str, int]:
    result: dict[str, int] = {}
    for name in COPIED:
        table = metadata.tables[name]
        if "id" in table.c:
            result[name] = int(await session.scalar(select(func.max(table.c.id))) or 0)
    return result


async def grow(db: Database, factor: int) -> None:
    """Make the demo ``factor`` times as large (``factor`` 1 changes nothing)."""
    async with db.transaction() as session:
        offsets = await _max_ids(session)
        for k in range(1, factor):
            for name, foreign in COPIED.items():
                table = metadata.tables[name]
                columns = []
                for column in table.c:
                    expr: ColumnElement[Any] = column
                    if column.name == "id":
                        expr = column + k * offsets[name]
                    elif column.name in foreign:
                        expr = column + k * offsets[foreign[column.name]]
                    elif SUFFIXED.get(name) == column.name:
                        expr = column + literal(f"-{k}", String)
                    elif NULLED.get(name) == column.name:
                        expr = cast(literal(None), Integer)
                    columns.append(expr.label(column.name))
                # Copy only the original rows, not earlier copies: tables without an id are
                # limited by their first foreign key instead.
                if "id" in table.c:
                    original = table.c.id <= offsets[name]
                else:
                    fk_column, target = next(iter(foreign.items()))
                    original = table.c[fk_column] <= offsets[target]
                source = select(*columns).where(original)
                await session.execute(insert(table).from_select([c.name for c in table.c], source))
        await rebuild_all(session)
    if db.dialect == "postgresql":
        async with db.transaction() as session:
            for name in offsets:
                await session.execute(
                    select(
                        func.setval(
                            func.pg_get_serial_sequence(name, "id"),
                            select(func.max(metadata.tables[name].c.id)).scalar_subquery(),
                        )
                    )
                )
