"""The cross-worker hop over Redis: Atrium's pub/sub (broadcaster on the supervised Redis backend,
``realtime.pubsub.PubSub``) against a raw redis-py publish/subscribe, both between two processes.

This is the path a wake-up takes from the worker that committed an event to every other worker's
hub. The publisher sends a timestamp every 2 ms; the subscriber, in its own process, notes when
each arrives (one machine, one clock). Printed: p50 and p99 of the hop for both, and the ratio.

    .venv/bin/python bench/bench_hop.py [redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import secrets
import statistics
import sys
import time
from multiprocessing.connection import Connection as Pipe
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

import redis.asyncio as aioredis

from realtime.pubsub import PubSub

MESSAGES = 2000
RUNS = 3
INTERVAL = 0.002


def subscriber(pipe: Pipe, url: str, channel: str, ours: bool) -> None:
    asyncio.run(_subscribe(pipe, url, channel, ours))


async def _subscribe(pipe: Pipe, url: str, channel: str, ours: bool) -> None:
    hops: list[float] = []
    done = asyncio.Event()

    def got(message: str) -> None:
        if message.startswith("t:"):
            hops.append(time.time() - float(message[2:]))
            if len(hops) >= MESSAGES:
                done.set()

    if ours:
        pubsub = PubSub(url)
        await pubsub.connect()
        pubsub.listen(channel, got)
        assert pubsub.backend is not None
        await pubsub.backend.connected.wait()
        pipe.send("ready")
        await done.wait()
        await pubsub.disconnect()
    else:
        client = aioredis.Redis.from_url(url)
        raw = client.pubsub()
        await raw.subscribe(channel)
        pipe.send("ready")
        while not done.is_set():
            message = await raw.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None:
                got(message["data"].decode())
        await raw.aclose()  # type: ignore[no-untyped-call]
        await client.aclose()
    pipe.send(hops)


async def publish(url: str, channel: str, ours: bool) -> None:
    if ours:
        pubsub = PubSub(url)
        await pubsub.connect()
        for _ in range(MESSAGES):
            await pubsub.publish(channel, f"t:{time.time()!r}")
            await asyncio.sleep(INTERVAL)
        await pubsub.disconnect()
    else:
        client = aioredis.Redis.from_url(url)
        for _ in range(MESSAGES):
            await client.publish(channel, f"t:{time.time()!r}")
            await asyncio.sleep(INTERVAL)
        await client.aclose()


def hop(url: str, ours: bool) -> list[float]:
    channel = f"bench-hop-{os.getpid()}-{secrets.token_hex(4)}"
    ctx = mp.get_context("spawn")
    mine, theirs = ctx.Pipe()
    process = ctx.Process(target=subscriber, args=(theirs, url, channel, ours))
    process.start()
    if not mine.poll(30) or mine.recv() != "ready":
        raise RuntimeError("the subscriber did not start")
    asyncio.run(publish(url, channel, ours))
    if not mine.poll(60):
        raise RuntimeError("the subscriber did not get every message")
    hops: list[float] = sorted(mine.recv())
    process.join(10)
    return hops


def percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(len(values) * q))]


def main(url: str) -> None:
    # Alternating runs, the median of each figure: a busy machine's hiccups land on either side.
    runs = [(hop(url, ours=False), hop(url, ours=True)) for _ in range(RUNS)]
    print(
        f"Cross-worker hop over Redis ({RUNS} alternating runs of {MESSAGES} messages, one every "
        f"{INTERVAL * 1e3:.0f} ms; medians of the runs)"
    )
    for label, q in (("p50", 0.5), ("p99", 0.99)):
        a = statistics.median(percentile(ours, q) for _, ours in runs)
        b = statistics.median(percentile(raw, q) for raw, _ in runs)
        target = "  (target ≤ 2x)" if label == "p99" else ""
        print(
            f"  {label}: atrium pub/sub {a * 1e3:7.3f} ms   raw redis-py {b * 1e3:7.3f} ms   "
            f"ratio {a / b:5.2f}x{target}"
        )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "redis://127.0.0.1:6379/0")
