"""Reactions: one kind per person and post, idempotent toggling, who reacted, and counts that
stay exact when many react at once.
"""

from __future__ import annotations

import asyncio

import pytest

from domain.db import Database
from domain.errors import NotFound, ValidationFailed
from domain.posts import actions, queries
from domain.posts.models import Post, ReactionKind
from domain.posts.reactions import do_set_reaction
from tests.conftest import UserFactory
from tests.domain.test_posts import act, events, post, read


async def counts_of(db: Database, post_id: int) -> dict[str, int]:
    async with db.session() as session:
        row = await session.get(Post, post_id)
        assert row is not None
        return row.reaction_counts


async def test_setting_changing_and_withdrawing_a_reaction(
    db: Database, make_user: UserFactory
) -> None:
    author = await make_user(name="Author")
    ann, bob = await make_user(name="Ann"), await make_user(name="Bob")
    made = await post(db, author, "We shipped")
    assert await act(db, ann, do_set_reaction, made.id, ReactionKind.LIKE) == {"like": 1}
    assert await act(db, bob, do_set_reaction, made.id, "celebrate") == {
        "like": 1,
        "celebrate": 1,
    }
    assert await read(db, author, queries.list_reactors, made.id) == [
        ("Ann", ReactionKind.LIKE),
        ("Bob", ReactionKind.CELEBRATE),
    ]
    assert await act(db, ann, do_set_reaction, made.id, ReactionKind.CELEBRATE) == {"celebrate": 2}
    assert await act(db, bob, do_set_reaction, made.id, None) == {"celebrate": 1}
    assert await counts_of(db, made.id) == {"celebrate": 1}
    assert (
        await events(db, "post.reactions_changed")
        == [({"post_id": made.id}, {"role:employee", f"user:{author.id}"})] * 4
    )


async def test_toggling_is_idempotent(db: Database, make_user: UserFactory) -> None:
    author, ann = await make_user(), await make_user()
    made = await post(db, author, "Again and again")
    for _ in range(3):
        assert await act(db, ann, do_set_reaction, made.id, "thanks") == {"thanks": 1}
    for _ in range(2):
        assert await act(db, ann, do_set_reaction, made.id, None) == {}
    # Only the two real changes were recorded.
    assert len(await events(db, "post.reactions_changed")) == 2


async def test_bad_kinds_and_deleted_posts_are_refused(
    db: Database, make_user: UserFactory
) -> None:
    author = await make_user()
    made = await post(db, author, "post")
    with pytest.raises(ValidationFailed) as error:
        await act(db, author, do_set_reaction, made.id, "angry")
    assert set(error.value.errors) == {"kind"}
    await act(db, author, actions.do_delete_post, made.id)
    with pytest.raises(NotFound):
        await act(db, author, do_set_reaction, made.id, "like")
    with pytest.raises(NotFound):
        await read(db, author, queries.list_reactors, made.id)


async def test_counts_stay_exact_under_concurrent_reactions(
    db: Database, make_user: UserFactory
) -> None:
    author = await make_user()
    users = [await make_user() for _ in range(8)]
    made = await post(db, author, "Popular")
    kinds = [ReactionKind.LIKE, ReactionKind.THANKS]
    await asyncio.gather(
        *(act(db, u, do_set_reaction, made.id, kinds[n % 2]) for n, u in enumerate(users))
    )
    assert await counts_of(db, made.id) == {"like": 4, "thanks": 4}
    # One person clicking several kinds at once ends with one reaction, counted once.
    await asyncio.gather(*(act(db, users[0], do_set_reaction, made.id, k) for k in ReactionKind))
    counts = await counts_of(db, made.id)
    assert sum(counts.values()) == 8
    assert len(await read(db, author, queries.list_reactors, made.id)) == 8
