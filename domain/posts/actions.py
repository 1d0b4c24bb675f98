"""Writing posts: create (with news, shares, linked records, polls and attachments), edit, delete
and pin.

Who may post where:

- in a group: its active members, while the group is not archived (``GroupAccess.may_post``);
- to people: staff, to any active users (at most ``RECIPIENTS_MAX``); customers and partners send
  nothing to people directly;
- on the company timeline (no group, no recipients): staff;
- company news (``kind=news``): admins and the communication role, never in a group or to
  people, shown until ``news_until`` (default: ``NEWS_DAYS`` days from now; it must lie ahead).

A post links at most ``RECORDS_MAX`` ERP records, each one the author may see (others are
refused as unknown). Mentions link the people the author may mention (``domain.posts.mentions``).
A share passes on a post the sharer may see, with their own words; it is seen by the audience of
where it is shared to, and a reader who may not see the original sees the share without it. A
share of a share passes on the original when the sharer may see it.

Only the author edits a post (the earlier text is kept as a ``Revision``); the author or a
moderator deletes it (``domain.posts.moderation``); deletion is soft — the row stays for the
record with ``deleted_by_id`` set when a moderator did it — and takes the post out of every
channel, so it vanishes from every timeline. Group owners, managers and admins pin group posts.

``client_key`` makes posting idempotent per author: the same key returns the first post, also
when two submits race (the unique constraint decides, inside a SAVEPOINT).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal
from domain.db import locked_row, utcnow
from domain.errors import Forbidden, ValidationFailed
from domain.events import PostChanged, PostCreated, PostDeleted, record_event
from domain.groups.models import Group
from domain.posts.attachments import do_attach
from domain.posts.audience import (
    audience_of,
    post_audience,
    post_channels,
    write_channels,
    write_index,
)
from domain.posts.checks import (
    AUTHOR_ONLY,
    EMPTY,
    MODERATORS_ONLY,
    PIN_GROUP_ONLY,
    PIN_LIMIT,
    PIN_MANAGERS,
    CheckedPost,
    PostInput,
    check_client_key,
    check_create_post,
    clean_body,
)
from domain.posts.mentions import RenderedText, render_text
from domain.posts.models import Post, PostRecipient, PostRecord
from domain.posts.moderation import check_group_open, managed_group_ids, moderates
from domain.posts.polls import do_create_poll
from domain.posts.queries import access_post
from domain.posts.revisions import replace_text
from domain.posts.walks import MAX_PINNED

__all__ = [
    "CheckedPost",
    "PostInput",
    "check_create_post",
    "check_delete_post",
    "check_edit_post",
    "check_pin_post",
    "do_create_post",
    "do_delete_post",
    "do_edit_post",
    "do_pin_post",
    "do_share_post",
]


async def _by_client_key(session: AsyncSession, author_id: int, client_key: str) -> Post | None:
    return await session.scalar(
        select(Post).where(Post.author_id == author_id, Post.client_key == client_key)
    )


async def do_create_post(session: AsyncSession, principal: Principal, data: PostInput) -> Post:
    """Make a post (see the module docstring); a repeated ``client_key`` returns the first."""
    client_key = check_client_key(data.client_key)
    if client_key is not None:
        existing = await _by_client_key(session, principal.user_id, client_key)
        if existing is not None:
            return existing
    checked = await check_create_post(session, principal, data)
    group_id = checked.group.id if checked.group is not None else None
    post = Post(
        kind=checked.kind,
        author_id=principal.user_id,
        group_id=group_id,
        shared_post_id=checked.shared_post_id,
        body=checked.body,
        body_html=checked.text.rendered.html,
        news_until=checked.news_until,
        comment_count=0,
        reaction_counts={},
        client_key=client_key,
        created_at=utcnow(),
    )
    if client_key is None:
        session.add(post)
        await session.flush()
    else:
        try:
            async with session.begin_nested():
                session.add(post)
                await session.flush()
        except IntegrityError:
            # Another request with the same key committed first (the unique constraint says so).
            existing = await _by_client_key(session, principal.user_id, client_key)
            if existing is None:
                raise
            return existing
    session.add_all(PostRecipient(post_id=post.id, user_id=r) for r in checked.recipient_ids)
    session.add_all(
        PostRecord(post_id=post.id, record_kind=k.value, record_id=i, position=n)
        for n, (k, i) in enumerate(checked.records)
    )
    audience = post_audience(checked.group, checked.recipient_ids, principal.user_id)
    channels = post_channels(
        author_id=principal.user_id,
        group_id=group_id,
        recipient_ids=checked.recipient_ids,
        kind=checked.kind,
        records=((k.value, i) for k, i in checked.records),
        hashtags=checked.text.rendered.hashtags,
        mention_ids=checked.text.mention_ids,
    )
    await session.flush()
    await write_index(session, post.id, audience, channels)
    if data.attachment_ids:
        await do_attach(session, principal, post, data.attachment_ids)
    if data.poll is not None:
        await do_create_poll(session, post, data.poll)
    await record_event(
        session, PostCreated(post.id, group_id), audience, actor_id=principal.user_id
    )
    return post


async def _lock(session: AsyncSession, post: Post) -> Post:
    """Lock the post's row and read it afresh, so two concurrent changes of one post apply one
    after the other (SQLite's write transactions already queue)."""
    return await locked_row(session, Post, post.id, Post.deleted_at.is_(None))


async def _channels_now(session: AsyncSession, post: Post, text: RenderedText) -> frozenset[str]:
    """The channels of an existing post with a new text."""
    recipients = (
        await session.scalars(select(PostRecipient.user_id).where(PostRecipient.post_id == post.id))
    ).all()
    records = (
        await session.execute(
            select(PostRecord.record_kind, PostRecord.record_id).where(
                PostRecord.post_id == post.id
            )
        )
    ).all()
    return post_channels(
        author_id=post.author_id or 0,
        group_id=post.group_id,
        recipient_ids=recipients,
        kind=post.kind,
        records=[(k, i) for k, i in records],
        hashtags=text.rendered.hashtags,
        mention_ids=text.mention_ids,
    )


async def check_edit_post(
    session: AsyncSession, principal: Principal, post_id: int, body: str
) -> tuple[Post, str, RenderedText]:
    post = await access_post(session, principal, post_id)
    if post.author_id != principal.user_id:
        raise Forbidden(AUTHOR_ONLY)
    await check_group_open(session, principal, post)
    body = clean_body(body)
    if not body and post.shared_post_id is None:
        raise ValidationFailed({"body": EMPTY})
    text = await render_text(session, principal, body, group_id=post.group_id)
    return post, body, text


async def do_edit_post(
    session: AsyncSession, principal: Principal, post_id: int, body: str
) -> Post:
    """Change a post's text; the earlier text is kept as a revision. The same text is a no-op."""
    post, body, text = await check_edit_post(session, principal, post_id, body)
    post = await _lock(session, post)
    if body == post.body:
        return post
    replace_text(session, post, body, text.rendered.html, principal.user_id)
    await session.flush()
    await write_channels(session, post.id, await _channels_now(session, post, text))
    await record_event(
        session,
        PostChanged(post.id, ("body",)),
        await audience_of(session, post.id),
        actor_id=principal.user_id,
    )
    return post


async def check_delete_post(session: AsyncSession, principal: Principal, post_id: int) -> Post:
    post = await access_post(session, principal, post_id)
    if post.author_id != principal.user_id and not await moderates(
        session, principal, post.group_id
    ):
        raise Forbidden(MODERATORS_ONLY)
    await check_group_open(session, principal, post)
    return post


async def do_delete_post(session: AsyncSession, principal: Principal, post_id: int) -> None:
    """Delete a post (softly: the row stays, out of every channel and every read)."""
    post = await _lock(session, await check_delete_post(session, principal, post_id))
    post.deleted_at = utcnow()
    if post.author_id != principal.user_id:
        post.deleted_by_id = principal.user_id
    post.pinned_at = None
    await session.flush()
    await write_channels(session, post.id, ())
    await record_event(
        session,
        PostDeleted(post.id),
        await audience_of(session, post.id),
        actor_id=principal.user_id,
    )


async def check_pin_post(session: AsyncSession, principal: Principal, post_id: int) -> Post:
    """Group owners and managers pin in their group, admins anywhere. (The communication role
    moderates everywhere but pins nowhere: what stays on top is the group's choice.)"""
    post = await access_post(session, principal, post_id)
    if post.group_id is None:
        raise ValidationFailed({"": PIN_GROUP_ONLY})
    if not principal.is_admin and not await managed_group_ids(session, principal, [post.group_id]):
        raise Forbidden(PIN_MANAGERS)
    await check_group_open(session, principal, post)
    return post


async def do_pin_post(
    session: AsyncSession, principal: Principal, post_id: int, pinned: bool
) -> Post:
    """Pin a group post above the group's timeline, or unpin it. No change records nothing."""
    post = await _lock(session, await check_pin_post(session, principal, post_id))
    if (post.pinned_at is not None) == pinned:
        return post
    if pinned:
        # The group's row is locked so that two pins at once cannot both pass the count.
        await session.scalar(select(Group.id).where(Group.id == post.group_id).with_for_update())
        count = await session.scalar(
            select(func.count())
            .select_from(Post)
            .where(
                Post.group_id == post.group_id,
                Post.pinned_at.is_not(None),
                Post.deleted_at.is_(None),
            )
        )
        # A group's timeline shows this many pinned posts on top and leaves pinned posts out of
        # its pages: one more would vanish from the group.
        if (count or 0) >= MAX_PINNED:
            raise ValidationFailed({"": PIN_LIMIT})
    post.pinned_at = utcnow() if pinned else None
    await session.flush()
    await record_event(
        session,
        PostChanged(post.id, ("pinned",)),
        await audience_of(session, post.id),
        actor_id=principal.user_id,
    )
    return post


async def do_share_post(
    session: AsyncSession,
    principal: Principal,
    post_id: int,
    body: str,
    *,
    group_id: int | None = None,
    recipient_ids: Sequence[int] = (),
    client_key: str | None = None,
) -> Post:
    """Share a post one may see to a group one may post in, or to people, with one's own words."""
    await access_post(session, principal, post_id)
    return await do_create_post(
        session,
        principal,
        PostInput(
            body=body,
            group_id=group_id,
            recipient_ids=tuple(recipient_ids),
            client_key=client_key,
            shared_post_id=post_id,
        ),
    )
