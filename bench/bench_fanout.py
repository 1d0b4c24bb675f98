"""Fan-out of one post to N connected clients through the full app, against a bare ``websockets``
server broadcasting the same frame with ``websockets.broadcast``.

The app is ``atrium serve`` (one uvicorn process, SQLite) with N signed-in staff readers, each on
its own session; an author posts through ``POST /api/v1/posts``. The baseline is a bare
``websockets`` server with N clients, told by a control connection to broadcast a frame of the
same size. Clients live in a few separate processes (so the server's CPU is measured alone, from
``/proc/<pid>/stat``) and connect without compression.

With ``ATRIUM_BENCH_POSTGRES_URL`` (an admin URL, like the tests' ``ATRIUM_TEST_POSTGRES_URL``)
the app runs a second time on a fresh PostgreSQL database of its own, as a deployment at this
scale would; SQLite's driver hands every statement to a thread, which the per-post cost shows.

Printed, per N: server CPU per delivery (CPU seconds of the server process from the trigger until
every client has the frame, divided by N) and p50/p99 delivery latency (trigger to receipt, on
one clock), each as a ratio to the baseline from the same run. The whole post is in the app's
figure — HTTP request, transaction, render — not only the sends.

    .venv/bin/python bench/bench_fanout.py            # N = 1,000 and 5,000
    .venv/bin/python bench/bench_fanout.py 1000       # one size
    ATRIUM_BENCH_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test \
        .venv/bin/python bench/bench_fanout.py
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

from domain.db import Database, utcnow
from domain.people.models import AuthSession, User, UserKind
from domain.people.queries import session_id_for
from portal.auth.csrf import csrf_token_for
from portal.migrate import upgrade_async

CLIENT_PROCESSES = 4
ROUNDS = 3
SECRET = "bench-secret-key-" + "x" * 32
ATRIUM = Path(sys.executable).with_name("atrium")
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


# -- clients, in their own processes --------------------------------------------------------------


def client_process(pipe: Pipe, url: str, origin: str, cookies: list[str | None]) -> None:
    asyncio.run(_clients(pipe, url, origin, cookies))


async def _clients(pipe: Pipe, url: str, origin: str, cookies: list[str | None]) -> None:
    received: list[float] = []
    sample = [""]
    opened = 0
    gate = asyncio.Semaphore(50)
    done = asyncio.Event()

    async def one(cookie: str | None) -> None:
        nonlocal opened
        headers = {"Origin": origin}
        if cookie:
            headers["Cookie"] = f"atrium_session={cookie}"
        async with gate:
            ws = await websockets.connect(
                url,
                additional_headers=headers,
                compression=None,
                max_size=None,
                open_timeout=120,
                ping_interval=None,
            )
        opened += 1
        async with ws:
            while not done.is_set():
                message = await ws.recv(decode=True)
                assert isinstance(message, str)
                if '"heartbeat"' not in message[:60]:
                    received.append(time.time())
                    sample[0] = message

    tasks = [asyncio.create_task(one(c)) for c in cookies]
    loop = asyncio.get_running_loop()
    while opened < len(cookies):
        failed = [t for t in tasks if t.done() and t.exception()]
        if failed:
            raise RuntimeError(f"a client failed to connect: {failed[0].exception()}")
        await asyncio.sleep(0.05)
    pipe.send("ready")
    while True:
        command = await loop.run_in_executor(None, pipe.recv)
        if command == "report":
            pipe.send(list(received))
            received.clear()
        elif command == "sample":
            pipe.send(sample[0])
        elif command == "stop":
            done.set()
            for task in tasks:
                task.cancel()
            return


@dataclass
class Clients:
    pipes: list[Pipe]
    processes: list[Any]

    @classmethod
    def start(cls, url: str, origin: str, cookies: list[str | None]) -> Clients:
        ctx = mp.get_context("spawn")
        pipes, processes = [], []
        for part in range(CLIENT_PROCESSES):
            mine, theirs = ctx.Pipe()
            share = cookies[part::CLIENT_PROCESSES]
            process = ctx.Process(target=client_process, args=(theirs, url, origin, share))
            process.start()
            pipes.append(mine)
            processes.append(process)
        for pipe in pipes:
            if not pipe.poll(600) or pipe.recv() != "ready":
                raise RuntimeError("clients did not connect")
        return cls(pipes, processes)

    def collect(self, expected: int, timeout: float = 60) -> list[float]:
        """Receipt times of the next ``expected`` frames, all clients together."""
        times: list[float] = []
        deadline = time.monotonic() + timeout
        while len(times) < expected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(times)} of {expected} frames arrived")
            time.sleep(0.02)
            for pipe in self.pipes:
                pipe.send("report")
                times.extend(pipe.recv())
        return times

    def sample(self) -> str:
        """The last frame a client received (the raw server sends the very same)."""
        self.pipes[0].send("sample")
        text: str = self.pipes[0].recv()
        return text

    def stop(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send("stop")
        for process in self.processes:
            process.join(10)
            if process.is_alive():
                process.kill()


# -- the servers -----------------------------------------------------------------------------------


@dataclass
class Result:
    cpu_per_delivery: float
    p50: float
    p99: float


def measure(clients: Clients, pid: int, n: int, trigger: Any) -> Result:
    """``ROUNDS`` rounds of ``per_round`` posts, one after the other (each waits until every
    client has it): CPU per delivery from the best round, latencies from all."""
    per_round = max(3, 20_000 // n)  # enough deliveries per round for the 10 ms CPU clock
    cpu, latencies = [], []
    trigger()  # warm up
    clients.collect(n)
    for _ in range(ROUNDS):
        time.sleep(0.3)
        before = cpu_seconds(pid)
        for _ in range(per_round):
            started = time.time()
            trigger()
            latencies += [t - started for t in clients.collect(n)]
        cpu.append((cpu_seconds(pid) - before) / (n * per_round))
    latencies.sort()
    return Result(
        min(cpu),
        latencies[len(latencies) // 2],
        latencies[int(len(latencies) * 0.99) - 1],
    )


POSTGRES_DATABASE = "atrium_bench_fanout"


async def fresh_postgres(admin_url: str) -> str:
    """An empty PostgreSQL database for one run of the app; its URL."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{POSTGRES_DATABASE}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{POSTGRES_DATABASE}"'))
    finally:
        await admin.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + POSTGRES_DATABASE


async def prepare_app(
    data_dir: Path, readers: int, url: str | None = None
) -> tuple[str, list[str]]:
    """A migrated database (SQLite in ``data_dir`` unless ``url`` is given) with an author and
    ``readers`` staff users, each signed in; the author's session token and the readers'."""
    url = url or f"sqlite+aiosqlite:///{data_dir / 'atrium.sqlite3'}"
    await upgrade_async(url)
    db = Database(url)
    now = utcnow()
    tokens = [secrets.token_urlsafe(32) for _ in range(readers + 1)]
    try:
        async with db.transaction() as session:
            users = [
                User(email=f"u{i}@bench.example", name=f"Reader {i}", kind=UserKind.STAFF)
                for i in range(readers + 1)
            ]
            session.add_all(users)
            await session.flush()
            session.add_all(
                AuthSession(
                    id=session_id_for(token),
                    user_id=user.id,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + timedelta(days=1),
                )
                for user, token in zip(users, tokens, strict=True)
            )
    finally:
        await db.dispose()
    return tokens[0], tokens[1:]


def start_app(
    data_dir: Path, port: int, database_url: str | None = None
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATRIUM_")}
    env.update({"ATRIUM_DATA_DIR": str(data_dir), "ATRIUM_SECRET_KEY": SECRET})
    if database_url:
        env["ATRIUM_DATABASE_URL"] = database_url
    process = subprocess.Popen(  # noqa: S603 - our own console script
        [str(ATRIUM), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(data_dir / "serve.log").open("wb"),
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz")
    except RuntimeError:
        process.kill()
        log = (data_dir / "serve.log").read_text(errors="replace")[-4000:]
        raise RuntimeError(f"atrium serve did not start; the end of its log:\n{log}") from None
    return process


def wait_healthy(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} never answered")


RAW_SERVER = """
import asyncio, sys, websockets
clients = set()
async def handler(ws):
    clients.add(ws)
    try:
        async for message in ws:
            if message.startswith("go:"):
                websockets.broadcast(clients - {ws}, message[3:])
    finally:
        clients.discard(ws)
async def main():
    async with websockets.serve(handler, "127.0.0.1", int(sys.argv[1]), compression=None,
                                max_size=None, ping_interval=None):
        await asyncio.Future()
asyncio.run(main())
"""


# The same stack as the app without Atrium: uvicorn + a Starlette websocket route, one task and
# one queue per connection. Its figures split the app's cost into "the ASGI stack" and "ours".
STARLETTE_SERVER = """
import asyncio, sys, uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
queues = set()
async def endpoint(ws):
    await ws.accept()
    queue = asyncio.Queue()
    queues.add(queue)
    async def listen():
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                await queue.put(None)
                return
            text = message.get("text") or ""
            if text.startswith("go:"):
                for other in queues:
                    if other is not queue:
                        other.put_nowait(text[3:])
    task = asyncio.create_task(listen())
    try:
        while (frame := await queue.get()) is not None:
            await ws.send_text(frame)
    finally:
        queues.discard(queue)
        task.cancel()
app = Starlette(routes=[WebSocketRoute("/", endpoint)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def start_raw(port: int, script: str = RAW_SERVER) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script, str(port)], stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return process
        time.sleep(0.05)
    raise RuntimeError("the raw server did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()


# -- one size ------------------------------------------------------------------------------------


def run_app(n: int, postgres: str | None = None) -> tuple[Result, str, int]:
    """The app's result, the frame its clients got, and its RSS growth per idle connection; on
    SQLite, or on a fresh database made from the PostgreSQL admin URL ``postgres``."""
    with tempfile.TemporaryDirectory(prefix="atrium-fanout-") as tmp:
        data_dir = Path(tmp)
        url = asyncio.run(fresh_postgres(postgres)) if postgres else None
        author, readers = asyncio.run(prepare_app(data_dir, n, url))
        port = free_port()
        server = start_app(data_dir, port, url)
        base = f"http://127.0.0.1:{port}"
        http = httpx.Client(
            base_url=base,
            cookies={"atrium_session": author},
            headers={"X-CSRF-Token": csrf_token_for(SECRET, author)},
            timeout=30,
        )
        try:
            rss_before = rss_bytes(server.pid)
            clients = Clients.start(f"ws://127.0.0.1:{port}/ws?after=0", base, list(readers))
            time.sleep(1)
            per_connection = (rss_bytes(server.pid) - rss_before) // n

            def post() -> None:
                response = http.post("/api/v1/posts", json={"body": "Fan-out " * 40})
                response.raise_for_status()

            try:
                result = measure(clients, server.pid, n, post)
                frame = clients.sample()
            finally:
                clients.stop()
            return result, frame, per_connection
        finally:
            http.close()
            stop(server)


def run_raw(n: int, frame: str, script: str = RAW_SERVER) -> tuple[Result, int]:
    port = free_port()
    server = start_raw(port, script)
    url = f"ws://127.0.0.1:{port}/"
    try:
        rss_before = rss_bytes(server.pid)
        clients = Clients.start(url, f"http://127.0.0.1:{port}", [None] * n)
        time.sleep(1)
        per_connection = (rss_bytes(server.pid) - rss_before) // n
        control = asyncio.new_event_loop()
        conn = control.run_until_complete(websockets.connect(url, compression=None))

        def go() -> None:
            control.run_until_complete(conn.send("go:" + frame))

        try:
            result = measure(clients, server.pid, n, go)
        finally:
            control.run_until_complete(conn.close())
            control.close()
            clients.stop()
        return result, per_connection
    finally:
        stop(server)


def main(sizes: list[int]) -> None:
    postgres = os.environ.get("ATRIUM_BENCH_POSTGRES_URL")
    print("Fan-out of one post to N clients: full app vs bare websockets.broadcast (raw)")
    print("  (stack: uvicorn + a bare Starlette websocket route, for where the cost lies)")
    for n in sizes:
        apps = {"SQLite": run_app(n)}
        if postgres:
            apps["PostgreSQL"] = run_app(n, postgres)
        frame = apps["SQLite"][1]
        raw, raw_memory = run_raw(n, frame)
        stack, stack_memory = run_raw(n, frame, STARLETTE_SERVER)
        print(f"  N = {n:,} (frame of {len(frame.encode()):,} bytes)")
        rows: list[tuple[str, str, float, str, str]] = [
            ("server CPU per delivery", "µs", 1e6, "cpu_per_delivery", "≤ 2x"),
            ("delivery latency p50", "ms", 1e3, "p50", ""),
            ("delivery latency p99", "ms", 1e3, "p99", "≤ 50 ms" if n == 1000 else ""),
        ]
        for label, unit, scale, name, target in rows:
            b, c = (float(getattr(r, name)) for r in (raw, stack))
            print(
                f"    {label:<24} raw {b * scale:8.1f} {unit}  stack {c * scale:8.1f} {unit} "
                f"(stack/raw {c / b:5.2f}x)" + (f"  target {target}" if target else "")
            )
            for backend, (result, _, _) in apps.items():
                a = float(getattr(result, name))
                print(f"      app on {backend:<11} {a * scale:8.1f} {unit}  app/raw {a / b:5.2f}x")
        for backend, (_, _, memory) in apps.items():
            print(
                f"    RSS per idle connection, app on {backend}: {memory / 1024:.1f} KiB, raw "
                f"{raw_memory / 1024:.1f} KiB, stack {stack_memory / 1024:.1f} KiB "
                "(careful figure: bench_ws_memory.py)"
            )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 5000])
