"""Changing posts: editing (with its history), deleting (by the author, or by a moderator, on
record), pinning, and sharing — and a private group's post staying invisible to non-members
through every read of ``domain.posts.queries``.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from domain.db import Database
from domain.errors import Forbidden, NotFound, ValidationFailed
from domain.groups import actions as group_actions
from domain.groups import membership
from domain.people.models import Role
from domain.posts import actions, queries
from domain.posts.comments import do_add_comment
from domain.posts.models import Comment, Post, ReactionKind
from domain.posts.reactions import do_set_reaction
from tests.conftest import UserFactory
from tests.domain.test_posts import act, events, index_of, make_group, post, read, sees

# --- editing ----------------------------------------------------------------------------------


async def test_the_author_edits_and_the_earlier_text_is_kept(
    db: Database, make_user: UserFactory
) -> None:
    author, other = await make_user(), await make_user()
    mentioned = await make_user(email="mia@example.com")
    made = await post(db, author, "first #old")
    edited = await act(db, author, actions.do_edit_post, made.id, "second #new")
    assert edited.body == "second #new" and edited.edited_at is not None
    assert "/hashtags/new" in edited.body_html
    _, channels = await index_of(db, made.id)
    assert "tag:new" in channels and "tag:old" not in channels and "company" in channels
    await act(db, author, actions.do_edit_post, made.id, "third @mia")
    assert f"mention:{mentioned.id}" in (await index_of(db, made.id))[1]
    revisions = await read(db, other, queries.list_revisions, post_id=made.id)
    assert [r.body for r in revisions] == ["first #old", "second #new"]
    assert revisions[0].written_at == made.created_at
    assert revisions[1].written_at == edited.edited_at
    assert all(r.editor_id == author.id for r in revisions)
    with pytest.raises(Forbidden):
        await act(db, other, actions.do_edit_post, made.id, "mine now")
    with pytest.raises(ValidationFailed):
        await act(db, author, actions.do_edit_post, made.id, "  ")
    # The same text again changes nothing.
    await act(db, author, actions.do_edit_post, made.id, "third @mia")
    assert len(await read(db, other, queries.list_revisions, post_id=made.id)) == 2
    changed = await events(db, "post.changed")
    assert [payload for payload, _ in changed] == [{"post_id": made.id, "fields": ["body"]}] * 2
    assert changed[0][1] == {"role:employee", f"user:{author.id}"}


# --- deleting ---------------------------------------------------------------------------------


async def test_the_author_deletes_and_the_post_vanishes(
    db: Database, make_user: UserFactory
) -> None:
    author, other = await make_user(), await make_user()
    made = await post(db, author, "oops #typo")
    with pytest.raises(Forbidden):
        await act(db, other, actions.do_delete_post, made.id)
    await act(db, author, actions.do_delete_post, made.id)
    assert not await sees(db, author, made.id) and not await sees(db, other, made.id)
    assert (await index_of(db, made.id))[1] == set()
    async with db.session() as session:
        row = await session.get(Post, made.id)
        assert row is not None and row.is_deleted and row.deleted_by_id is None
    assert await events(db, "post.deleted") == [
        ({"post_id": made.id}, {"role:employee", f"user:{author.id}"})
    ]
    with pytest.raises(NotFound):
        await act(db, author, actions.do_delete_post, made.id)
    with pytest.raises(NotFound):
        await act(db, author, actions.do_edit_post, made.id, "back")


async def test_moderators_delete_others_posts_on_record(
    db: Database, make_user: UserFactory
) -> None:
    owner, manager, member, author = [await make_user() for _ in range(4)]
    comms = await make_user(roles=frozenset({Role.COMMUNICATION}))
    group_id = await make_group(db, owner, "public", (manager, member, author))
    await act(db, owner, membership.do_set_member_role, group_id, manager.id, "manager")
    posts = [await post(db, author, f"post {n}", group_id=group_id) for n in range(3)]
    company = await post(db, author, "company")
    with pytest.raises(Forbidden):
        await act(db, member, actions.do_delete_post, posts[0].id)
    with pytest.raises(Forbidden):  # managing a group moderates that group only
        await act(db, manager, actions.do_delete_post, company.id)
    for moderator, made in zip((owner, manager, comms), posts, strict=True):
        await act(db, moderator, actions.do_delete_post, made.id)
        async with db.session() as session:
            row = await session.get(Post, made.id)
            assert row is not None and row.deleted_by_id == moderator.id
    await act(db, comms, actions.do_delete_post, company.id)


async def test_concurrent_deletes_delete_once(db: Database, make_user: UserFactory) -> None:
    author = await make_user()
    comms = await make_user(roles=frozenset({Role.COMMUNICATION}))
    made = await post(db, author, "twice")
    results = await asyncio.gather(
        act(db, author, actions.do_delete_post, made.id),
        act(db, comms, actions.do_delete_post, made.id),
        return_exceptions=True,
    )
    assert sum(isinstance(r, NotFound) for r in results) == 1
    assert all(r is None or isinstance(r, NotFound) for r in results)
    assert len(await events(db, "post.deleted")) == 1


async def test_an_archived_group_is_read_only(db: Database, make_user: UserFactory) -> None:
    owner, member = await make_user(), await make_user()
    admin = await make_user(roles=frozenset({Role.ADMIN}))
    group_id = await make_group(db, owner, "public", (member,))
    made = await post(db, member, "before", group_id=group_id)
    await act(db, owner, group_actions.do_archive_group, group_id)
    with pytest.raises(Forbidden, match="archived"):
        await act(db, member, actions.do_edit_post, made.id, "after")
    with pytest.raises(Forbidden, match="archived"):
        await act(db, owner, actions.do_pin_post, made.id, True)
    with pytest.raises(Forbidden, match="archived"):
        await act(db, member, actions.do_delete_post, made.id)
    with pytest.raises(Forbidden, match="archived"):
        await act(db, member, do_set_reaction, made.id, "like")
    assert await sees(db, member, made.id)
    await act(db, admin, actions.do_delete_post, made.id)


# --- pinning ----------------------------------------------------------------------------------


async def test_group_managers_pin_group_posts(db: Database, make_user: UserFactory) -> None:
    owner, member = await make_user(), await make_user()
    admin = await make_user(roles=frozenset({Role.ADMIN}))
    comms = await make_user(roles=frozenset({Role.COMMUNICATION}))
    group_id = await make_group(db, owner, "public", (member,))
    made = await post(db, member, "read me", group_id=group_id)
    for user in (member, comms):
        with pytest.raises(Forbidden):
            await act(db, user, actions.do_pin_post, made.id, True)
    pinned = await act(db, owner, actions.do_pin_post, made.id, True)
    assert pinned.pinned_at is not None
    await act(db, owner, actions.do_pin_post, made.id, True)  # no change, no event
    assert (await act(db, admin, actions.do_pin_post, made.id, False)).pinned_at is None
    assert [p for p, _ in await events(db, "post.changed")] == [
        {"post_id": made.id, "fields": ["pinned"]}
    ] * 2
    company = await post(db, owner, "everyone")
    with pytest.raises(ValidationFailed):
        await act(db, admin, actions.do_pin_post, company.id, True)


async def test_a_group_holds_at_most_twenty_pinned_posts(
    db: Database, make_user: UserFactory
) -> None:
    """The group's timeline shows 20 pinned posts on top and leaves pinned posts out of its
    pages: a 21st pin would make one vanish, so it is refused until one is unpinned."""
    owner = await make_user()
    group_id = await make_group(db, owner, "public", ())
    made = [await post(db, owner, f"notice {n}", group_id=group_id) for n in range(21)]
    for one in made[:20]:
        await act(db, owner, actions.do_pin_post, one.id, True)
    with pytest.raises(ValidationFailed) as refused:
        await act(db, owner, actions.do_pin_post, made[20].id, True)
    assert "at most 20 pinned posts" in refused.value.errors[""]
    await act(db, owner, actions.do_pin_post, made[0].id, False)
    assert (await act(db, owner, actions.do_pin_post, made[20].id, True)).pinned_at is not None


# --- sharing ----------------------------------------------------------------------------------


async def test_a_share_is_seen_where_it_goes_never_carrying_the_original(
    db: Database, make_user: UserFactory
) -> None:
    owner, member, staff, friend = [await make_user() for _ in range(4)]
    private = await make_group(db, owner, "private", (member,))
    open_group = await make_group(db, staff, "public")
    original = await post(db, member, "inside news", group_id=private)
    share = await act(
        db, member, actions.do_share_post, original.id, "look at this", client_key="s1"
    )
    assert share.shared_post_id == original.id and share.group_id is None
    assert await index_of(db, share.id) == (
        {"role:employee", f"user:{member.id}"},
        {"company", f"author:{member.id}"},
    )
    # A reader who may not see the original sees the share, and the original stays private.
    assert await sees(db, staff, share.id) and not await sees(db, staff, original.id)
    assert (await act(db, member, actions.do_share_post, original.id, "x", client_key="s1")).id == (
        share.id
    )
    # Sharing needs a post one may see, and a place one may post in.
    with pytest.raises(NotFound):
        await act(db, staff, actions.do_share_post, original.id, "leak")
    with pytest.raises(Forbidden):
        await act(db, member, actions.do_share_post, original.id, "", group_id=open_group)
    to_friend = await act(db, staff, actions.do_share_post, share.id, "", recipient_ids=[friend.id])
    # A share of a share passes on the original when the sharer may see it, else the share.
    assert to_friend.shared_post_id == share.id
    again = await act(db, member, actions.do_share_post, share.id, "", recipient_ids=[friend.id])
    assert again.shared_post_id == original.id
    assert await index_of(db, to_friend.id) == (
        {f"user:{staff.id}", f"user:{friend.id}"},
        {f"author:{staff.id}", f"to:{friend.id}"},
    )


# --- a private group's post stays private ----------------------------------------------------


async def test_a_private_groups_post_is_invisible_to_non_members_everywhere(
    db: Database, make_user: UserFactory
) -> None:
    owner, member, outsider = await make_user(), await make_user(), await make_user()
    admin = await make_user(roles=frozenset({Role.ADMIN}))
    group_id = await make_group(db, owner, "private", (member,))
    made = await post(db, member, "secret plan", group_id=group_id)
    await act(db, owner, do_add_comment, made.id, "agreed")
    await act(db, owner, do_set_reaction, made.id, ReactionKind.LIKE)
    await act(db, member, actions.do_edit_post, made.id, "secret plan v2")
    assert len(await read(db, owner, queries.list_comments, made.id)) == 1
    assert await read(db, owner, queries.list_reactors, made.id) == [
        (owner.name, ReactionKind.LIKE)
    ]
    assert len(await read(db, owner, queries.list_revisions, post_id=made.id)) == 1
    async with db.session() as session:
        comment_id = await session.scalar(select(Comment.id))
    assert comment_id is not None
    for user in (outsider, admin):  # content of a private group is for its members only
        with pytest.raises(NotFound):
            await read(db, user, queries.access_post, made.id)
        with pytest.raises(NotFound):
            await read(db, user, queries.access_comment, comment_id)
        with pytest.raises(NotFound):
            await read(db, user, queries.list_comments, made.id)
        with pytest.raises(NotFound):
            await read(db, user, queries.list_reactors, made.id)
        with pytest.raises(NotFound):
            await read(db, user, queries.list_revisions, post_id=made.id)
        with pytest.raises(NotFound):
            await read(db, user, queries.list_revisions, comment_id=comment_id)
        with pytest.raises(NotFound):
            await act(db, user, do_add_comment, made.id, "me too")
        with pytest.raises(NotFound):
            await act(db, user, do_set_reaction, made.id, ReactionKind.LIKE)
    with pytest.raises(NotFound):
        await read(db, outsider, queries.mention_candidates, "a", group_id=group_id)
    # Everything recorded about the post went to the group alone (and the post's author).
    private_audience = {f"group:{group_id}", f"user:{member.id}"}
    for kind in ("post.created", "comment.added", "post.reactions_changed", "post.changed"):
        assert [audience for _, audience in await events(db, kind)] == [private_audience]
