"""Cancelling a background loop lets the database work it is awaiting finish first, so no
connection is left checked out (and SQLite's write lock held) after shutdown."""

from __future__ import annotations

import asyncio

import pytest

from domain.db import finish_before_cancel


async def test_cancelling_waits_for_the_work_then_cancels() -> None:
    finished = asyncio.Event()

    async def work() -> int:
        await asyncio.sleep(0.05)
        finished.set()
        return 7

    async def loop() -> int:
        return await finish_before_cancel(work())

    task = asyncio.create_task(loop())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert finished.is_set(), "the work ran to its end before the loop gave up"


async def test_without_cancelling_it_is_the_work_itself() -> None:
    async def work() -> str:
        return "done"

    assert await finish_before_cancel(work()) == "done"

    async def failing() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await finish_before_cancel(failing())
