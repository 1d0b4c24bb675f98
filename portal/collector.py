"""How a serving process uses Python's cyclic garbage collector.

A server keeps two kinds of objects the collector walks for nothing: what it loaded at start-up
(modules, the schema, templates, catalogues), and the state of thousands of open sockets. With
CPython's defaults (a young collection every 700 allocations, an older one every 10 of those)
the older passes walked the sockets' objects every few hundred milliseconds under a stream of
posts: at 1,000 sockets, generation-1 passes of 5–10 ms and full ones of 20–90 ms, each stalling
every request and live delivery behind it (bench/bench_fanout.py's CPU and p99).

So, while the app runs:

- what exists once start-up is done is frozen out of every pass (``gc.freeze``; nothing is
  collected first, which took a noticeable time per app in the tests);
- young collections run every 10,000 allocations instead of 700, generation 1 every 20 of them and
  full ones every 100: garbage cycles live a little longer (a MB or two), and the sockets' objects
  are walked far less often. (50,000 gave about the same CPU and p99 in the fan-out benchmark, and
  a few KiB more memory per idle socket.)

Both are undone when the last app of the process stops, so apps started one after another (the
tests) leave neither frozen objects nor changed thresholds behind.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

THRESHOLDS = (10_000, 20, 100)

_running = 0
_previous: tuple[int, int, int] = gc.get_threshold()


@contextmanager
def serving_collector() -> Iterator[None]:
    """The collector as a server wants it, for as long as the block runs (nestable)."""
    global _running, _previous
    if _running == 0:
        _previous = gc.get_threshold()
        gc.set_threshold(*THRESHOLDS)
    _running += 1
    gc.freeze()
    try:
        yield
    finally:
        _running -= 1
        if _running == 0:
            gc.unfreeze()
            gc.set_threshold(*_previous)
