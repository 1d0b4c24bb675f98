"""Database engine, sessions and the declarative base shared by every area's models.

Two kinds of session exist because SQLite needs them: reads start a deferred transaction (WAL lets
them run beside a writer), writes start with ``BEGIN IMMEDIATE`` so that two writers queue on the
busy timeout instead of both holding a read lock and deadlocking when they upgrade. PostgreSQL
treats both the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, DateTime, Enum, MetaData, Select, event, select
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from domain.errors import NotFound

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_SECONDS = 30
T = TypeVar("T")
R = TypeVar("R", bound="Base")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def str_enum(cls: type[enum.StrEnum], length: int) -> Enum:
    """A column of a ``StrEnum``, stored as its values in a VARCHAR (no native enum type, so a new
    member needs no ALTER TYPE on PostgreSQL)."""
    return Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time, always aware and in UTC in Python, on every database.

    SQLite has no time-zone type: it stores the naive UTC value and gets UTC attached on the way
    back, so comparisons with ``utcnow()`` work the same as on PostgreSQL's timestamptz.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def finish_before_cancel(work: Awaitable[T]) -> T:
    """Await database work in a background loop so that cancelling the loop (at shutdown) lets
    the work finish first: a task cancelled in the middle of a statement can leave its
    connection checked out, holding SQLite's write lock until the garbage collector finds it —
    long after ``dispose()``, and long enough to lock out whoever writes next."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await task
        raise


async def locked_row(
    session: AsyncSession, model: type[R], row_id: int, *where: ColumnElement[bool]
) -> R:
    """The row ``row_id`` of ``model`` (meeting ``where``), read afresh and locked until the
    transaction ends, so that two writers to it take turns (``SELECT … FOR UPDATE`` on
    PostgreSQL; SQLite's writers queue anyway). ``NotFound`` if there is no such row."""
    statement: Select[R] = (
        select(model)
        .where(model.id == row_id, *where)  # type: ignore[attr-defined]
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    row: R | None = (await session.execute(statement)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"{model.__name__.lower()} {row_id}")
    return row


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Create the async engine, with SQLite tuned for a multi-request web server."""
    if not is_sqlite(url):
        # asyncpg prepares every statement, and after five runs PostgreSQL may switch one to a
        # generic plan that ignores the bound values: measured on the timeline's page query at
        # 1M posts, 1.1–3 s instead of 1.3 ms. Planning each run costs far less than that risk.
        return create_async_engine(
            url,
            echo=echo,
            pool_pre_ping=True,
            pool_size=10,
            connect_args={"server_settings": {"plan_cache_mode": "force_custom_plan"}},
        )
    engine = create_async_engine(
        url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
    )
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so "begin" below decides how each
        # transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = "IMMEDIATE" if connection.get_execution_options().get("atrium_write") else ""
        connection.exec_driver_sql(f"BEGIN {mode}".strip())

    return engine


class Database:
    """The engine plus the two session factories; owned by the app's lifespan or a CLI command."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = create_engine(url, echo=echo)
        self._reads = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writes = async_sessionmaker(
            self.engine.execution_options(atrium_write=True), expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session for reads. It must not write: use ``transaction()`` for that."""
        async with self._reads() as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: commits when the block ends, rolls back on any exception."""
        async with self._writes() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
