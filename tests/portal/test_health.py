"""``GET /healthz`` on both backends: 200 when every component works, 503 naming the one that
does not — while the rest of the portal keeps serving."""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from portal.app import create_app
from portal.migrate import upgrade_async
from portal.settings import Settings
from tests.conftest import POSTGRES_ADMIN_URL, Backend, require_service
from tests.portal.apps import running

COMPONENTS = {"database", "pubsub", "search"}
NOWHERE = "redis://127.0.0.1:1/0"  # port 1: nothing listens there


def assert_failing(response: httpx.Response, component: str) -> None:
    assert response.status_code == 503
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["status"] == "error"
    assert body["failing"] == [component]
    assert body["components"][component]["status"] == "error"
    for other in COMPONENTS - {component}:
        assert body["components"][other]["status"] == "ok"


async def test_all_components_ok(client: httpx.AsyncClient, backend: Backend) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body == {
        "status": "ok",
        "components": {name: {"status": "ok"} for name in COMPONENTS},
    }


async def test_pubsub_down_is_named_and_pages_still_work(settings: Settings) -> None:
    app = create_app(dataclasses.replace(settings, broadcast_url=NOWHERE))
    async with running(app) as client:
        response = await client.get("/healthz")
        assert_failing(response, "pubsub")
        # the details (host, port, driver message) stay in the log
        assert "127.0.0.1" not in response.text
        assert (await client.get("/login")).status_code == 200


async def test_search_index_removed_while_running(settings: Settings) -> None:
    async with running(create_app(settings)) as client:
        assert (await client.get("/healthz")).status_code == 200
        shutil.rmtree(settings.data_dir / "search")
        assert_failing(await client.get("/healthz"), "search")
        assert (await client.get("/login")).status_code == 200


async def test_search_index_damaged_while_running(settings: Settings) -> None:
    async with running(create_app(settings)) as client:
        assert (await client.get("/healthz")).status_code == 200
        (settings.data_dir / "search" / "meta.json").write_text("not json")
        assert_failing(await client.get("/healthz"), "search")


# --- the database going away ----------------------------------------------------------------


@pytest.fixture
async def sqlite_settings(tmp_path: Path) -> Settings:
    settings = Settings.from_env(
        {
            "ATRIUM_DATA_DIR": str(tmp_path / "data"),
            "ATRIUM_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'own.sqlite3'}",
            "ATRIUM_SECRET_KEY": "s" * 40,
        }
    )
    await upgrade_async(settings.database_url)
    return settings


async def test_sqlite_file_deleted_while_running(sqlite_settings: Settings) -> None:
    """Open connections keep using a deleted file, whose data vanishes at the next restart:
    an operator must hear of it now."""
    async with running(create_app(sqlite_settings)) as client:
        assert (await client.get("/healthz")).status_code == 200
        database = Path(sqlite_settings.database_url.split(":///", 1)[1])
        for path in database.parent.glob(database.name + "*"):  # with -wal and -shm
            path.unlink()
        assert_failing(await client.get("/healthz"), "database")
        assert (await client.get("/login")).status_code == 200


@pytest.fixture
async def postgres_settings(tmp_path: Path) -> AsyncIterator[tuple[Settings, str]]:
    """A PostgreSQL database of this test's own, dropped at the end whatever happens."""
    require_service(POSTGRES_ADMIN_URL, 5432, "PostgreSQL")
    name = f"atrium_health_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        await upgrade_async(url)
        settings = Settings.from_env(
            {
                "ATRIUM_DATA_DIR": str(tmp_path / "data"),
                "ATRIUM_DATABASE_URL": url,
                "ATRIUM_SECRET_KEY": "s" * 40,
            }
        )
        yield settings, name
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def test_postgres_database_dropped_while_running(
    postgres_settings: tuple[Settings, str],
) -> None:
    settings, name = postgres_settings
    async with running(create_app(settings)) as client:
        assert (await client.get("/healthz")).status_code == 200
        admin = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        finally:
            await admin.dispose()
        response = await client.get("/healthz")
        assert_failing(response, "database")
        assert name not in response.text
        assert (await client.get("/login")).status_code == 200
