"""Periodic clean-up that belongs to no request: uploads that were never attached to a post,
sessions that have expired, and failed sign-ins older than the throttling window.

Runs inside every ``atrium serve`` worker, an hour apart with jitter; the work is idempotent, so
two workers doing it at once only repeat a small delete. (Event retention has its own job in
``realtime.retention``, next to the log it prunes.)
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from pathlib import Path

from domain.db import Database, finish_before_cancel, utcnow
from domain.people.actions import prune_sign_ins
from domain.posts.attachments import prune_uploads
from domain.posts.storage import AttachmentStore

log = logging.getLogger(__name__)
_jitter = random.SystemRandom()  # jitter only, nothing secret

INTERVAL = 3600.0


@dataclass(frozen=True)
class Pruned:
    uploads: int = 0
    sessions: int = 0
    sign_in_failures: int = 0

    def __bool__(self) -> bool:
        return bool(self.uploads or self.sessions or self.sign_in_failures)


async def keep_house_once(db: Database, data_dir: Path) -> Pruned:
    """One round of clean-up; what went."""
    async with db.transaction() as session:
        uploads = await prune_uploads(session, AttachmentStore(data_dir))
    async with db.transaction() as session:
        sessions, failures = await prune_sign_ins(session, utcnow())
    return Pruned(uploads, sessions, failures)


async def keep_house_forever(db: Database, data_dir: Path, interval: float = INTERVAL) -> None:
    await asyncio.sleep(_jitter.uniform(30.0, 120.0))
    while True:
        try:
            pruned = await finish_before_cancel(keep_house_once(db, data_dir))
            if pruned:
                log.info("housekeeping pruned %s", pruned)
        except Exception:
            log.exception("housekeeping failed")
        await asyncio.sleep(interval * _jitter.uniform(0.9, 1.1))
