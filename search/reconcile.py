"""Reconciliation: find and repair drift between the search index and the database.

Every object's document is built from the database as it is now and compared, by fingerprint,
with the index's copy: a document the index lacks is *missing*, one whose copy differs is *stale*
(content or audience), and an indexed document with no object behind it any more (deleted, or
hidden from everyone) is *extra*. Missing and stale ones are written, extra ones deleted. After a
run the index equals the database as read, and the indexer's checkpoint takes care of anything
that changed meanwhile.

It walks every table in id order, ``BATCH`` objects at a time, so its memory is bounded by the
fingerprints of the index (an id and 32 hex digits per document).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from domain.db import Database
from domain.posts.storage import AttachmentStore
from search.documents import KINDS, ids_after, load_documents
from search.index import SearchDocument, SearchIndex

BATCH = 2000


@dataclass
class Drift:
    missing: int = 0
    stale: int = 0
    extra: int = 0
    checked: int = 0

    @property
    def changed(self) -> int:
        return self.missing + self.stale + self.extra

    def __str__(self) -> str:
        return (
            f"{self.checked} documents checked: {self.missing} missing, {self.stale} stale, "
            f"{self.extra} deleted but still indexed"
        )


async def all_documents(
    db: Database, *, files: AttachmentStore | None = None, batch: int = BATCH
) -> AsyncIterator[list[SearchDocument]]:
    """Every document the database holds now, in batches, kind by kind."""
    for kind in KINDS:
        after = 0
        while True:
            async with db.session() as session:
                ids = await ids_after(session, kind, after, batch)
                if not ids:
                    break
                docs = await load_documents(session, kind, ids, files=files)
            after = ids[-1]
            if docs:
                yield docs


async def reconcile(
    db: Database,
    index: SearchIndex,
    *,
    files: AttachmentStore | None = None,
    repair: bool = True,
    progress: Callable[[Drift], None] | None = None,
) -> Drift:
    """Compare the index with the database; with ``repair``, make them equal."""
    indexed = await index.fingerprints()
    drift = Drift()
    async for docs in all_documents(db, files=files):
        changed = []
        for doc in docs:
            drift.checked += 1
            copy = indexed.pop(doc.id, None)
            if copy is None:
                drift.missing += 1
                changed.append(doc)
            elif copy != doc.fingerprint():
                drift.stale += 1
                changed.append(doc)
        if repair and changed:
            await index.upsert(changed)
        if progress is not None:
            progress(drift)
    drift.extra = len(indexed)
    if repair and indexed:
        extra = sorted(indexed)
        for start in range(0, len(extra), BATCH):
            await index.delete(extra[start : start + BATCH])
    return drift
