"""The housekeeping job prunes uploads nobody attached within a day, and leaves fresh ones."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from domain.db import utcnow
from domain.posts.attachments import do_upload
from domain.posts.models import Attachment
from domain.posts.storage import AttachmentStore
from portal.housekeeping import keep_house_once
from tests.domain.post_rows import principal_of


async def test_stale_unattached_uploads_are_pruned_and_fresh_ones_kept(db, make_user, tmp_path):
    data_dir = Path(tmp_path)
    store = AttachmentStore(data_dir)
    author = await principal_of(db, await make_user())
    async with db.transaction() as session:
        stale = await do_upload(session, author, store, "old.txt", "text/plain", b"old notes")
        fresh = await do_upload(session, author, store, "new.txt", "text/plain", b"new notes")
        await session.execute(
            update(Attachment)
            .where(Attachment.id == stale.id)
            .values(created_at=utcnow() - timedelta(days=2))
        )
    assert store.path(stale.storage_key).exists()

    assert await keep_house_once(db, data_dir) == 1

    assert not store.path(stale.storage_key).exists()
    assert store.path(fresh.storage_key).exists()
    async with db.session() as session:
        assert await session.get(Attachment, stale.id) is None
        assert await session.get(Attachment, fresh.id) is not None
    assert await keep_house_once(db, data_dir) == 0
