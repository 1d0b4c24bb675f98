"""Periodic clean-up that belongs to no request: uploads that were never attached to a post.

Runs inside every ``atrium serve`` worker, an hour apart with jitter; the work is idempotent, so
two workers doing it at once only repeat a small delete. (Event retention has its own job in
``realtime.retention``, next to the log it prunes.)
"""

from __future__ import annotations

import asyncio
import logging
import random
from pathlib import Path

from domain.db import Database, finish_before_cancel
from domain.posts.attachments import prune_uploads
from domain.posts.storage import AttachmentStore

log = logging.getLogger(__name__)
_jitter = random.SystemRandom()  # jitter only, nothing secret

INTERVAL = 3600.0


async def keep_house_once(db: Database, data_dir: Path) -> int:
    """Delete stale unattached uploads; returns how many files went."""
    async with db.transaction() as session:
        return await prune_uploads(session, AttachmentStore(data_dir))


async def keep_house_forever(db: Database, data_dir: Path, interval: float = INTERVAL) -> None:
    await asyncio.sleep(_jitter.uniform(30.0, 120.0))
    while True:
        try:
            deleted = await finish_before_cancel(keep_house_once(db, data_dir))
            if deleted:
                log.info("pruned %d unattached uploads", deleted)
        except Exception:
            log.exception("housekeeping failed")
        await asyncio.sleep(interval * _jitter.uniform(0.9, 1.1))
