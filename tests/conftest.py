"""Shared fixtures: every test that touches data runs once per backend.

- ``sqlite``: SQLite file in a temp dir + in-process pub/sub (``memory://``);
- ``postgres``: a database of its own on the local PostgreSQL + Redis pub/sub.

The PostgreSQL leg needs a server at ``ATRIUM_TEST_POSTGRES_URL`` (default
``postgresql+asyncpg://postgres@127.0.0.1:5432/test``, used only to create and drop a database of
the run's own) and Redis at ``ATRIUM_TEST_REDIS_URL``. Without them it is skipped with a reason —
except under ``CI=true``, where a missing service fails the run.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from argon2 import profiles as argon2_profiles
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.types import ASGIApp, Receive, Scope, Send

from domain.db import Database
from domain.models import metadata
from domain.people import passwords
from domain.people.actions import do_create_user
from domain.people.models import Role, User, UserKind
from portal.app import create_app
from portal.migrate import upgrade_async
from portal.settings import Settings

IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_ADMIN_URL = os.environ.get(
    "ATRIUM_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("ATRIUM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "correct horse battery"


def pytest_configure(config: pytest.Config) -> None:
    # Real argon2id, at its cheapest profile: key stretching took a quarter of the suite's time.
    # Servers the tests start as processes keep the recommended parameters, and
    # test_login checks the upgrade to them.
    passwords.use_parameters(argon2_profiles.CHEAPEST)


def reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 1
        ):
            return True
    except OSError:
        return False


def require_service(url: str, port: int, what: str) -> None:
    if reachable(url, port):
        return
    message = f"{what} is not reachable at {url}"
    if IN_CI:
        pytest.fail(f"CI=true: {message}; the PostgreSQL + Redis leg must run", pytrace=False)
    pytest.skip(message)


@dataclass(frozen=True)
class Backend:
    name: str
    database_url: str
    broadcast_url: str


async def _create_postgres_database() -> tuple[str, Callable[[], Awaitable[None]]]:
    name = f"atrium_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name

    async def drop() -> None:
        engine = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await engine.dispose()

    return url, drop


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "atrium.sqlite3"
        url = f"sqlite+aiosqlite:///{path}"
        await upgrade_async(url)
        yield Backend("sqlite", url, "memory://")
        return
    require_service(POSTGRES_ADMIN_URL, 5432, "PostgreSQL")
    require_service(REDIS_URL, 6379, "Redis")
    url, drop = await _create_postgres_database()
    try:
        await upgrade_async(url)
        yield Backend("postgres", url, REDIS_URL)
    finally:
        await drop()


async def empty_all_tables(db: Database) -> None:
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    async with db.transaction() as session:
        if db.dialect == "postgresql":
            await session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            return
        await session.execute(text("UPDATE departments SET manager_id = NULL"))
        for table in tables:
            await session.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
async def db(backend: Backend) -> AsyncIterator[Database]:
    """A migrated database of the current backend, emptied before the test."""
    database = Database(backend.database_url)
    await empty_all_tables(database)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def settings(backend: Backend, tmp_path: Path, db: Database) -> Settings:
    return Settings.from_env(
        {
            "ATRIUM_DATA_DIR": str(tmp_path / "data"),
            "ATRIUM_DATABASE_URL": backend.database_url,
            "ATRIUM_BROADCAST_URL": backend.broadcast_url,
            "ATRIUM_SECRET_KEY": "test-secret-key-" + "x" * 32,
        }
    )


AsgiApp = ASGIApp


SHUTDOWN_LIMIT = 60.0


def _innermost(coro: object) -> str:
    """Where a suspended coroutine really waits: the end of its chain of awaits (a task's own
    stack shows only its outermost frame)."""
    where = "not started"
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "ag_frame", None)
        if frame is not None:
            where = f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
        coro = getattr(coro, "cr_await", None) or getattr(coro, "ag_await", None)
    return where


def _stuck(stopping: asyncio.Task[bool | None]) -> str:
    """Every task's stack, then one line per task naming where it waits, ending with the
    shutdown's own: the end is what a CI log that shows only its tail keeps."""
    stacks, summary = io.StringIO(), []
    tasks = sorted(asyncio.all_tasks(), key=lambda task: task is stopping)
    for task in tasks:
        task.print_stack(file=stacks)
        summary.append(f"  {task.get_name()}: waiting at {_innermost(task.get_coro())}")
    stopping.cancel()
    return f"{stacks.getvalue()}\nwhere each task waits (the shutdown last):\n" + "\n".join(summary)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[AsgiApp]:
    """The real app with its lifespan run, as an ASGI callable that hands each request the
    lifespan state — what uvicorn does.

    A shutdown that takes longer than ``SHUTDOWN_LIMIT`` fails the test and prints what every
    task was waiting on, rather than hanging the whole run."""
    starlette_app = create_app(settings)
    lifespan = starlette_app.router.lifespan_context(starlette_app)
    state = await lifespan.__aenter__()
    if state is None:
        raise RuntimeError("Atrium's lifespan yielded no state")

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        scope["state"] = dict(state)
        await starlette_app(scope, receive, send)

    try:
        yield asgi
    finally:
        stopping = asyncio.ensure_future(lifespan.__aexit__(None, None, None))
        done, _pending = await asyncio.wait({stopping}, timeout=SHUTDOWN_LIMIT)
        if not done:
            pytest.fail(f"the app did not stop within {SHUTDOWN_LIMIT} s:\n{_stuck(stopping)}")
        stopping.result()


@pytest.fixture
async def client(app: AsgiApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def make_client(app: AsgiApp) -> AsyncIterator[Callable[[], httpx.AsyncClient]]:
    """More browsers on the same app, each with its own cookies."""
    clients: list[httpx.AsyncClient] = []

    def factory() -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        c = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        clients.append(c)
        return c

    yield factory
    await asyncio.gather(*(c.aclose() for c in clients))


UserFactory = Callable[..., Awaitable[User]]


@pytest.fixture
def make_user(db: Database) -> UserFactory:
    counter = iter(range(1, 1_000_000))

    async def factory(
        *,
        email: str | None = None,
        name: str = "Test User",
        password: str = PASSWORD,
        kind: UserKind = UserKind.STAFF,
        roles: frozenset[Role] = frozenset(),
        language: str | None = None,
    ) -> User:
        async with db.transaction() as session:
            return await do_create_user(
                session,
                email=email or f"user{next(counter)}@example.com",
                name=name,
                password=password,
                kind=kind,
                roles=roles,
                language=language,
            )

    return factory


CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')


async def csrf_from(client: httpx.AsyncClient, path: str = "/login") -> str:
    response = await client.get(path)
    match = CSRF_RE.search(response.text)
    assert match, f"no csrf meta tag on {path}"
    return match.group(1)


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    token = await csrf_from(client)
    return await client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}
    )
