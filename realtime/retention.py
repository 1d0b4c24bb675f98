"""Event retention: a background job that prunes the log to its configured window.

Runs inside every ``atrium serve`` worker (a few minutes apart, jittered): deleting old rows is
idempotent, so two workers pruning at once only do the same small work twice. A browser whose
cursor falls below what was pruned is told to reload (see ``relay.pruned_through``).
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta

from domain.db import Database, finish_before_cancel, utcnow
from realtime.relay import prune_events

log = logging.getLogger(__name__)
_jitter = random.SystemRandom()  # jitter only; SystemRandom keeps the linter's S311 quiet

INTERVAL = 3600.0


async def prune_once(db: Database, retention_days: int) -> int:
    async with db.transaction() as session:
        return await prune_events(session, utcnow() - timedelta(days=retention_days))


async def prune_forever(db: Database, retention_days: int, interval: float = INTERVAL) -> None:
    await asyncio.sleep(_jitter.uniform(5.0, 60.0))
    while True:
        try:
            deleted = await finish_before_cancel(prune_once(db, retention_days))
            if deleted:
                log.info("pruned %d events older than %d days", deleted, retention_days)
        except Exception:
            log.exception("pruning the event log failed")
        await asyncio.sleep(interval * _jitter.uniform(0.9, 1.1))
