"""Smoke tests against a real ``atrium serve`` (uvicorn on loopback), not the ASGI transport.

Each backend gets one server for the module, set up the way an operator does it: ``atrium
migrate`` and ``atrium demo`` through the CLI, then ``atrium serve``. The PostgreSQL leg uses a
throwaway database and Redis pub/sub; like every PostgreSQL test it is skipped without those
services, except under ``CI=true`` where their absence fails the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from domain.demo.logins import DEMO_PASSWORD, EMPLOYEE
from tests.conftest import (
    CSRF_RE,
    POSTGRES_ADMIN_URL,
    REDIS_URL,
    _create_postgres_database,
    require_service,
)
from tests.server import Server, atrium_env, prepare, serve


@pytest.fixture(scope="module")
async def postgres_url() -> AsyncIterator[str]:
    require_service(POSTGRES_ADMIN_URL, 5432, "PostgreSQL")
    require_service(REDIS_URL, 6379, "Redis")
    url, drop = await _create_postgres_database()
    try:
        yield url
    finally:
        await drop()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp(f"serve-{request.param}")
    if request.param == "sqlite":
        env = atrium_env(data_dir)
    else:
        url = request.getfixturevalue("postgres_url")
        env = atrium_env(data_dir, ATRIUM_DATABASE_URL=url, ATRIUM_BROADCAST_URL=REDIS_URL)
    prepare(env)
    with serve(env) as running:
        yield running


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10.0) as c:
        yield c


def csrf_token(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no <meta name='csrf-token'> on the page"
    return match.group(1)


def sign_in(client: httpx.Client, email: str, password: str = DEMO_PASSWORD) -> httpx.Response:
    token = csrf_token(client.get("/login").text)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def test_healthz_reports_every_component_ok(client: httpx.Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["components"] == {
        "database": {"status": "ok"},
        "pubsub": {"status": "ok"},
        "search": {"status": "ok"},
    }
    assert response.headers["cache-control"] == "no-store"


def test_login_page_has_the_security_headers(client: httpx.Client) -> None:
    response = client.get("/login")
    assert response.status_code == 200
    headers = response.headers
    assert headers["content-type"].startswith("text/html")
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    nonce = csp.split("'nonce-", 1)[1].split("'", 1)[0]
    assert f'nonce="{nonce}"' in response.text, "the page's scripts carry the header's nonce"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    anon = headers["set-cookie"]
    assert anon.startswith("atrium_anon=")
    assert "HttpOnly" in anon
    assert "SameSite=Lax" in anon
    second = client.get("/login")
    assert csp != second.headers["content-security-policy"], "a fresh nonce per response"


def test_sign_in_home_and_sign_out(client: httpx.Client) -> None:
    first = client.get("/")
    assert first.status_code == 303
    assert first.headers["location"] == "/login?next=/"

    signed_in = sign_in(client, EMPLOYEE.email)
    assert signed_in.status_code == 303, signed_in.text
    assert signed_in.headers["location"] == "/"
    session_cookie = signed_in.headers["set-cookie"]
    assert session_cookie.startswith("atrium_session=")
    assert "HttpOnly" in session_cookie
    token = client.cookies["atrium_session"]

    home = client.get("/")
    assert home.status_code == 200
    assert EMPLOYEE.name in home.text
    assert "The company at a glance" in home.text
    assert home.headers["cache-control"] == "no-store"

    out = client.post("/logout", data={"csrf_token": csrf_token(home.text)})
    assert out.status_code == 303
    assert out.headers["location"] == "/login"
    assert "atrium_session" not in client.cookies
    assert client.get("/").status_code == 303

    # The session ended on the server too: its old cookie no longer signs anyone in.
    client.cookies.set("atrium_session", token)
    replay = client.get("/")
    assert replay.status_code == 303
    assert replay.headers["location"].startswith("/login")


def test_wrong_password_is_refused(client: httpx.Client) -> None:
    response = sign_in(client, EMPLOYEE.email, "not-the-password")
    assert response.status_code == 400
    assert 'role="alert"' in response.text
    assert "atrium_session" not in client.cookies


def _worker_pids(supervisor_pid: int) -> list[int]:
    """uvicorn's spawned workers among the children of its supervisor process."""
    children = Path(f"/proc/{supervisor_pid}/task/{supervisor_pid}/children").read_text().split()
    workers = []
    for pid in children:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"spawn_main" in cmdline:
            workers.append(int(pid))
    return workers


def test_two_workers_with_redis_pubsub(tmp_path: Path) -> None:
    require_service(REDIS_URL, 6379, "Redis")
    env = atrium_env(tmp_path / "data", ATRIUM_BROADCAST_URL=REDIS_URL)
    prepare(env)
    with serve(env, workers=2) as running:
        # /healthz answered once one worker was up; wait for the other's lifespan as well.
        deadline = time.monotonic() + 20
        while running.log().count("Application startup complete") < 2:
            assert time.monotonic() < deadline, "the second worker never started"
            time.sleep(0.1)
        assert len(_worker_pids(running.process.pid)) == 2

        with httpx.Client(base_url=running.base_url, timeout=10.0) as browser:
            assert sign_in(browser, EMPLOYEE.email).status_code == 303
            cookies = dict(browser.cookies)
        # A fresh connection per request, so the kernel spreads them over both workers; the
        # session lives in the database, so every worker knows it.
        for _ in range(6):
            with httpx.Client(base_url=running.base_url, cookies=cookies, timeout=10.0) as c:
                assert c.get("/healthz").json()["components"]["pubsub"] == {"status": "ok"}
                home = c.get("/")
                assert home.status_code == 200
                assert EMPLOYEE.name in home.text
        asyncio.run(_posts_reach_sockets_on_every_worker(running, cookies))


def _connections_to(pid: int, port: int) -> int:
    """Established TCP connections on ``port`` held by process ``pid`` (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].rsplit(":", 1)[1], 16)
        if local_port == port and fields[3] == "01" and fields[9] in inodes:
            count += 1
    return count


async def _posts_reach_sockets_on_every_worker(server: Server, cookies: dict[str, str]) -> None:
    """Sockets on both workers get every post, whichever worker took the post: the hubs of one
    server's workers are woken through Redis like those of separate servers."""
    workers = _worker_pids(server.process.pid)
    port = int(server.base_url.rsplit(":", 1)[1])
    async with httpx.AsyncClient(base_url=server.base_url, cookies=cookies, timeout=10) as c:
        home = (await c.get("/")).text
    csrf, cursor = CSRF_RE.search(home), re.search(r'data-live-after="(\d+)"', home)
    assert csrf and cursor
    headers = {"Origin": server.base_url, "Cookie": f"atrium_session={cookies['atrium_session']}"}
    url = f"{server.base_url.replace('http://', 'ws://')}/ws?after={cursor[1]}"
    sockets: list[websockets.ClientConnection] = []
    try:
        # Each connection goes to whichever worker accepts it first: open them until both hold
        # some (a socket's handshake is done once connect returns, so /proc shows it).
        while len(sockets) < 4 or not all(_connections_to(pid, port) for pid in workers):
            assert len(sockets) < 60, "every socket landed on the same worker"
            sockets.append(
                await websockets.connect(url, additional_headers=headers, open_timeout=10)
            )
        posted = []
        for n in range(4):  # a fresh connection each: the posts, too, go to either worker
            async with httpx.AsyncClient(
                base_url=server.base_url,
                cookies=cookies,
                headers={"X-CSRF-Token": csrf[1]},
                timeout=10,
            ) as poster:
                made = await poster.post("/api/v1/posts", json={"body": f"to all workers {n}"})
                assert made.status_code == 201, made.text
                posted.append(f"post-{made.json()['id']}")
        for socket in sockets:
            seen: list[str] = []
            async with asyncio.timeout(10):
                while seen != posted:
                    frame = json.loads(await socket.recv())
                    if frame["kind"] == "post.created":
                        seen.append(frame["target"])
    finally:
        for socket in sockets:
            await socket.close()
