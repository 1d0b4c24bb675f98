"""Comments: one level of replies, the comment count, editing with history, deleting by the
author or a moderator (on record), commenting twice with one ``client_key``, and the refusals
for deleted posts and archived groups.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from domain.db import Database
from domain.errors import Forbidden, NotFound, ValidationFailed
from domain.groups import actions as group_actions
from domain.people.models import Role
from domain.posts import actions, queries
from domain.posts.comments import do_add_comment, do_delete_comment, do_edit_comment
from domain.posts.models import Comment, Post
from tests.conftest import UserFactory
from tests.domain.test_posts import act, events, make_group, post, read


async def comment_count(db: Database, post_id: int) -> int:
    async with db.session() as session:
        row = await session.get(Post, post_id)
        assert row is not None
        return row.comment_count


async def test_comments_and_replies_one_level_deep(db: Database, make_user: UserFactory) -> None:
    author, ann, bob = (
        await make_user(name="Ann"),
        await make_user(name="Ann A"),
        await make_user(name="Bob"),
    )
    made = await post(db, author, "Lunch?")
    first = await act(db, ann, do_add_comment, made.id, "Yes **please**")
    assert first.body_html == "<p>Yes <strong>please</strong></p>\n"
    reply = await act(db, bob, do_add_comment, made.id, "me too", parent_id=first.id)
    deeper = await act(db, author, do_add_comment, made.id, "ok", parent_id=reply.id)
    assert reply.parent_id == first.id and deeper.parent_id == first.id
    second = await act(db, bob, do_add_comment, made.id, "later")
    assert await comment_count(db, made.id) == 4
    views = await read(db, bob, queries.list_comments, made.id)
    assert [(v.comment.id, [r.comment.id for r in v.replies]) for v in views] == [
        (first.id, [reply.id, deeper.id]),
        (second.id, []),
    ]
    assert [v.author_name for v in views] == ["Ann A", "Bob"]
    assert (views[0].may_edit, views[0].may_delete) == (False, False)
    assert (views[1].may_edit, views[1].may_delete) == (True, True)
    assert await events(db, "comment.added") == [
        (
            {"post_id": made.id, "comment_id": c.id, "parent_id": p},
            {"role:employee", f"user:{author.id}"},
        )
        for c, p in ((first, None), (reply, first.id), (deeper, first.id), (second, None))
    ]


async def test_bad_comments_are_refused(db: Database, make_user: UserFactory) -> None:
    author = await make_user()
    made, other = await post(db, author, "one"), await post(db, author, "two")
    elsewhere = await act(db, author, do_add_comment, other.id, "there")
    with pytest.raises(ValidationFailed) as error:
        await act(db, author, do_add_comment, made.id, " \x00 ")
    assert set(error.value.errors) == {"body"}
    for parent_id in (elsewhere.id, 999_999, 2**40):
        with pytest.raises(ValidationFailed) as error:
            await act(db, author, do_add_comment, made.id, "hi", parent_id=parent_id)
        assert set(error.value.errors) == {"parent_id"}
    with pytest.raises(NotFound):
        await act(db, author, do_add_comment, 999_999, "hi")


async def test_deleted_posts_and_archived_groups_take_no_comments(
    db: Database, make_user: UserFactory
) -> None:
    owner = await make_user()
    made = await post(db, owner, "soon gone")
    await act(db, owner, actions.do_delete_post, made.id)
    with pytest.raises(Forbidden, match="deleted"):
        await act(db, owner, do_add_comment, made.id, "wait")
    group_id = await make_group(db, owner)
    in_group = await post(db, owner, "archive me", group_id=group_id)
    kept = await act(db, owner, do_add_comment, in_group.id, "before")
    await act(db, owner, group_actions.do_archive_group, group_id)
    with pytest.raises(Forbidden, match="archived"):
        await act(db, owner, do_add_comment, in_group.id, "after")
    with pytest.raises(Forbidden, match="archived"):
        await act(db, owner, do_edit_comment, kept.id, "changed")
    views = await read(db, owner, queries.list_comments, in_group.id)
    assert (views[0].may_edit, views[0].may_delete) == (False, False)


async def test_the_author_edits_a_comment_and_its_history_is_kept(
    db: Database, make_user: UserFactory
) -> None:
    author, other = await make_user(), await make_user()
    made = await post(db, author, "post")
    comment = await act(db, other, do_add_comment, made.id, "frist")
    edited = await act(db, other, do_edit_comment, comment.id, "first")
    assert edited.body == "first" and edited.edited_at is not None
    with pytest.raises(Forbidden):
        await act(db, author, do_edit_comment, comment.id, "mine")
    revisions = await read(db, author, queries.list_revisions, comment_id=comment.id)
    assert [(r.body, r.written_at) for r in revisions] == [("frist", comment.created_at)]
    assert await events(db, "comment.changed") == [
        ({"post_id": made.id, "comment_id": comment.id}, {"role:employee", f"user:{author.id}"})
    ]


async def test_deleting_comments_by_author_and_moderator(
    db: Database, make_user: UserFactory
) -> None:
    author, writer, bystander = await make_user(), await make_user(), await make_user()
    comms = await make_user(roles=frozenset({Role.COMMUNICATION}))
    made = await post(db, author, "post")
    top = await act(db, writer, do_add_comment, made.id, "top")
    reply = await act(db, bystander, do_add_comment, made.id, "reply", parent_id=top.id)
    own = await act(db, bystander, do_add_comment, made.id, "own")
    assert await comment_count(db, made.id) == 3
    with pytest.raises(Forbidden):
        await act(db, bystander, do_delete_comment, top.id)
    views = await read(db, comms, queries.list_comments, made.id)
    assert [(v.may_edit, v.may_delete) for v in views] == [(False, True), (False, True)]
    await act(db, bystander, do_delete_comment, own.id)
    # A moderator removes the top comment, and its reply goes with it.
    await act(db, comms, do_delete_comment, top.id)
    assert await comment_count(db, made.id) == 0
    assert await read(db, author, queries.list_comments, made.id) == []
    async with db.session() as session:
        rows = {
            c.id: c
            for c in (await session.scalars(select(Comment).where(Comment.post_id == made.id)))
        }
    assert rows[own.id].is_deleted and rows[own.id].deleted_by_id is None
    assert rows[top.id].deleted_by_id == comms.id and rows[reply.id].deleted_by_id == comms.id
    for comment_id in (top.id, reply.id):
        with pytest.raises(NotFound):
            await read(db, author, queries.access_comment, comment_id)
    assert [p["comment_id"] for p, _ in await events(db, "comment.deleted")] == [own.id, top.id]


async def test_one_client_key_makes_one_comment(db: Database, make_user: UserFactory) -> None:
    author = await make_user()
    made = await post(db, author, "post")
    first = await act(db, author, do_add_comment, made.id, "hi", client_key="c1")
    assert (await act(db, author, do_add_comment, made.id, "hi", client_key="c1")).id == first.id
    raced = await asyncio.gather(
        *(act(db, author, do_add_comment, made.id, "race", client_key="c2") for _ in range(4))
    )
    assert len({c.id for c in raced}) == 1
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Comment)) == 2
    assert await comment_count(db, made.id) == 2


async def test_concurrent_comments_keep_the_count_exact(
    db: Database, make_user: UserFactory
) -> None:
    author = await make_user()
    users = [await make_user() for _ in range(6)]
    made = await post(db, author, "post")
    await asyncio.gather(*(act(db, u, do_add_comment, made.id, "hello") for u in users))
    assert await comment_count(db, made.id) == 6
