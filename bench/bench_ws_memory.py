"""Memory per idle live connection: the full app against a bare ``websockets`` server.

N clients (no compression) connect and stay idle; the server's resident memory grows by what
each connection costs it. The app's connections are signed-in staff readers on ``/ws`` — each
holds its principal, its hub entry and outbox, and two small tasks; the baseline holds a bare
``websockets`` connection and its handler. Printed: KiB per connection for both, and the ratio.

    .venv/bin/python bench/bench_ws_memory.py [N]      # default 2,000
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
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


def app_per_connection(n: int) -> float:
    with tempfile.TemporaryDirectory(prefix="atrium-wsmem-") as tmp:
        data_dir = Path(tmp)
        _, readers = asyncio.run(prepare_app(data_dir, n))
        port = free_port()
        server = start_app(data_dir, port)
        base = f"http://127.0.0.1:{port}"
        try:
            # Warm up with a few connections first, so one-off imports and caches are not counted.
            warm = Clients.start(f"ws://127.0.0.1:{port}/ws?after=0", base, list(readers[:20]))
            warm.stop()
            before = settle(server.pid)
            clients = Clients.start(f"ws://127.0.0.1:{port}/ws?after=0", base, list(readers))
            try:
                return (settle(server.pid) - before) / n
            finally:
                clients.stop()
        finally:
            stop(server)


def raw_per_connection(n: int) -> float:
    port = free_port()
    server = start_raw(port)
    url = f"ws://127.0.0.1:{port}/"
    origin = f"http://127.0.0.1:{port}"
    try:
        Clients.start(url, origin, [None] * 20).stop()
        before = settle(server.pid)
        clients = Clients.start(url, origin, [None] * n)
        try:
            return (settle(server.pid) - before) / n
        finally:
            clients.stop()
    finally:
        stop(server)


def main(n: int) -> None:
    app = app_per_connection(n)
    raw = raw_per_connection(n)
    print(f"Memory per idle connection, N = {n:,}, no compression")
    print(
        f"  app {app / 1024:6.1f} KiB   bare websockets {raw / 1024:6.1f} KiB   "
        f"ratio {app / raw:4.2f}x   (targets: ≤ 32 KiB, ≤ 1.5x)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
