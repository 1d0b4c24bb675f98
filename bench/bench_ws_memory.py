"""Memory per idle live connection: the full app against a bare ``websockets`` server.

N clients (no compression) connect and stay idle; the server's resident memory grows by what
each connection costs it. The app's connections are signed-in staff readers on ``/ws`` — each
holds its principal, its hub entry and its socket; the baseline holds a bare ``websockets``
connection and its handler.

Two figures per server: the growth over all N connections divided by N, and the growth over the
second half alone divided by N/2. The first includes what fills once and then stays (the
database's page cache after reading thousands of sessions, the hub's index tables); the second is
what one more connection costs. Targets: ≤ 32 KiB and ≤ 1.5x the bare server's.

    .venv/bin/python bench/bench_ws_memory.py [N]      # default 2,000
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

from bench.bench_fanout import (
    Clients,
    free_port,
    prepare_app,
    rss_bytes,
    start_app,
    start_raw,
    stop,
)


def settle(pid: int) -> int:
    """RSS once it has stopped moving (the last connections' handshakes are done)."""
    last = rss_bytes(pid)
    for _ in range(20):
        time.sleep(0.5)
        now = rss_bytes(pid)
        if abs(now - last) < 64 * 1024:
            return now
        last = now
    return last


@dataclass
class Growth:
    overall: float  # bytes per connection, all N
    marginal: float  # bytes per connection, the second half


def grow(url: str, origin: str, cookies: list[str | None], pid: int) -> Growth:
    """Connect ``cookies`` in two halves; the server's RSS growth per connection."""
    half = len(cookies) // 2
    before = settle(pid)
    first = Clients.start(url, origin, cookies[:half])
    try:
        middle = settle(pid)
        second = Clients.start(url, origin, cookies[half:])
        try:
            after = settle(pid)
        finally:
            second.stop()
    finally:
        first.stop()
    return Growth((after - before) / len(cookies), (after - middle) / (len(cookies) - half))


def app_growth(n: int) -> Growth:
    with tempfile.TemporaryDirectory(prefix="atrium-wsmem-") as tmp:
        data_dir = Path(tmp)
        _, readers = asyncio.run(prepare_app(data_dir, n + 20))
        port = free_port()
        server = start_app(data_dir, port)
        base = f"http://127.0.0.1:{port}"
        url = f"ws://127.0.0.1:{port}/ws?after=0"
        try:
            # Warm up with a few connections first, so one-off imports and caches are not counted.
            Clients.start(url, base, list(readers[:20])).stop()
            return grow(url, base, list(readers[20:]), server.pid)
        finally:
            stop(server)


def raw_growth(n: int) -> Growth:
    port = free_port()
    server = start_raw(port)
    url = f"ws://127.0.0.1:{port}/"
    origin = f"http://127.0.0.1:{port}"
    try:
        Clients.start(url, origin, [None] * 20).stop()
        return grow(url, origin, [None] * n, server.pid)
    finally:
        stop(server)


def main(n: int) -> None:
    app = app_growth(n)
    raw = raw_growth(n)
    print(f"Memory per idle connection, N = {n:,}, no compression (targets: ≤ 32 KiB, ≤ 1.5x)")
    for label, name in (("all N", "overall"), ("second half", "marginal")):
        a, b = getattr(app, name), getattr(raw, name)
        print(
            f"  {label:<12} app {a / 1024:6.1f} KiB   bare websockets {b / 1024:6.1f} KiB   "
            f"ratio {a / b:4.2f}x"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
