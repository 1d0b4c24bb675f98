"""Crash test: the indexer, in a process of its own, is killed with SIGKILL in the middle of
5,000 changes. After a restart it catches up from its checkpoint, and reconciliation then finds
nothing to repair: the index equals the database — nothing missing, nothing stale, nothing deleted
still findable."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from pathlib import Path

from domain.db import Database, utcnow
from domain.events import CommentAdded, PostChanged, PostCreated, PostDeleted, record_event
from domain.posts.audience import post_audience, write_audience
from domain.posts.models import Comment, Post
from search.backends.embedded import EmbeddedIndex
from search.index import SearchQuery
from search.indexer import Indexer
from search.reconcile import all_documents, reconcile
from tests.conftest import UserFactory

CHANGES = 5000
PER_TRANSACTION = 25
ROOT = Path(__file__).resolve().parents[2]


async def _change(session, rng: random.Random, author: int, live: list[int], n: int) -> None:
    """One change: a new post, an edit, a deletion or a comment (posts are the most churned)."""
    roll = rng.random()
    audience = post_audience(None, (), author)
    if roll < 0.4 or not live:
        post = Post(
            author_id=author,
            body=f"crashword post{n}",
            body_html=f"<p>crashword post{n}</p>",
            created_at=utcnow(),
        )
        session.add(post)
        await session.flush()
        await write_audience(session, post.id, audience)
        await record_event(session, PostCreated(post.id, None), audience, actor_id=author)
        live.append(post.id)
    elif roll < 0.7:
        post = await session.get(Post, rng.choice(live))
        post.body = post.body_html = f"crashword edited{n}"
        await record_event(session, PostChanged(post.id, ("body",)), audience, actor_id=author)
    elif roll < 0.85:
        post = await session.get(Post, live.pop(rng.randrange(len(live))))
        post.deleted_at = utcnow()
        await record_event(session, PostDeleted(post.id), audience, actor_id=author)
    else:
        post_id = rng.choice(live)
        comment = Comment(
            post_id=post_id,
            author_id=author,
            body=f"crashword comment{n}",
            body_html=f"<p>crashword comment{n}</p>",
            created_at=utcnow(),
        )
        session.add(comment)
        await session.flush()
        await record_event(
            session, CommentAdded(post_id, comment.id, None), audience, actor_id=author
        )


async def test_a_killed_indexer_loses_nothing(
    db: Database, make_user: UserFactory, tmp_path: Path
) -> None:
    author = (await make_user()).id
    path = tmp_path / "index"
    EmbeddedIndex(path)  # created here, so the child only opens it
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = (tmp_path / "indexer.log").open("wb")
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.search.indexer_process",
        db.url,
        str(path),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    rng = random.Random(6)
    live: list[int] = []
    killed_at = None
    try:
        for n in range(0, CHANGES, PER_TRANSACTION):
            async with db.transaction() as session:
                for k in range(PER_TRANSACTION):
                    await _change(session, rng, author, live, n + k)
            if killed_at is None and n >= CHANGES // 2:
                child.send_signal(signal.SIGKILL)  # in the middle of its work
                killed_at = n
            await asyncio.sleep(0)
    finally:
        if child.returncode is None and killed_at is None:
            child.kill()
        await asyncio.wait_for(child.wait(), 30)
        log.close()
    assert child.returncode == -signal.SIGKILL, (tmp_path / "indexer.log").read_text()
    # The killed indexer had written part of the changes: the index is behind, not empty.
    index = EmbeddedIndex(path)
    try:
        behind = await reconcile(db, index, repair=False)
        assert behind.changed > 0
        assert (await index.stats()).documents > 0
        # Restart: catch up from the checkpoint, then reconcile.
        await Indexer(db, index).catch_up()
        assert (await reconcile(db, index, repair=False)).changed == 0
        drift = await reconcile(db, index)
        assert drift.changed == 0
        expected = {d.id: d.fingerprint() async for batch in all_documents(db) for d in batch}
        assert await index.fingerprints() == expected
        found = await index.search(SearchQuery("crashword", frozenset({"role:employee"}), limit=1))
        assert found.total == len(expected)
    finally:
        await index.close()
