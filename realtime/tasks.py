"""Stopping background tasks without swallowing the stopper's own cancellation.

The usual ``task.cancel()`` then ``with suppress(CancelledError): await task`` cannot tell the
task's cancellation from the caller's: a shutdown that is itself cancelled (a timeout around it)
carries on as if nothing happened. Gathering keeps the two apart, and a task that had failed with
an error is logged rather than lost or raised into the shutdown.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)


async def cancel_and_wait(*tasks: asyncio.Task[object] | None) -> None:
    """Cancel the tasks and wait until every one has ended."""
    running = [task for task in tasks if task is not None]
    for task in running:
        task.cancel()
    outcomes = await asyncio.gather(*running, return_exceptions=True)
    for task, outcome in zip(running, outcomes, strict=True):
        if isinstance(outcome, Exception):
            log.error("background task %s had failed", task.get_name(), exc_info=outcome)
