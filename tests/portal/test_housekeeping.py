"""The housekeeping job prunes uploads nobody attached within a day, expired sessions and failed
sign-ins past the throttling window, and leaves everything still in use."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from domain.db import utcnow
from domain.people.models import AuthSession, LoginFailure
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

    assert (await keep_house_once(db, data_dir)).uploads == 1

    assert not store.path(stale.storage_key).exists()
    assert store.path(fresh.storage_key).exists()
    async with db.session() as session:
        assert await session.get(Attachment, stale.id) is None
        assert await session.get(Attachment, fresh.id) is not None
    assert not await keep_house_once(db, data_dir)


async def test_expired_sessions_and_old_failed_sign_ins_are_pruned(db, make_user, tmp_path):
    user = await make_user()
    now = utcnow()
    async with db.transaction() as session:
        session.add_all(
            [
                AuthSession(id="a" * 64, user_id=user.id, expires_at=now - timedelta(minutes=1)),
                AuthSession(id="b" * 64, user_id=user.id, expires_at=now + timedelta(days=1)),
                LoginFailure(email="x@example.com", ip="10.0.0.1", at=now - timedelta(hours=1)),
                LoginFailure(email="x@example.com", ip="10.0.0.1", at=now - timedelta(minutes=5)),
            ]
        )
    pruned = await keep_house_once(db, Path(tmp_path))
    assert (pruned.sessions, pruned.sign_in_failures) == (1, 1)
    async with db.session() as session:
        assert await session.get(AuthSession, "a" * 64) is None
        assert await session.get(AuthSession, "b" * 64) is not None, "a live session stays"
        left = (await session.scalars(select(LoginFailure.at))).all()
        assert len(left) == 1, "a failure inside the throttling window still counts"
