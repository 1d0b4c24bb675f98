"""Comments on posts: add (one level of replies), edit (keeping the earlier text), delete.

Whoever may see a post may comment on it, unless the post was deleted or its group archived
(both refused with a message saying so). A reply to a reply is attached to the top-level comment
it answers, so threads stay one level deep. Only the author edits a comment; the author or a
moderator (``domain.posts.moderation``) deletes it — softly, with ``deleted_by_id`` set when a
moderator did it — and a deleted top-level comment takes its replies with it.

``Post.comment_count`` counts the live comments; it is recounted from the table while the post's
row is locked (``FOR UPDATE``; SQLite's write transactions already queue), so concurrent comments
never lose a count. ``client_key`` makes commenting idempotent per author, as for posts.
"""

from __future__ import annotations

from sqlalchemy import case, func, null, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal
from domain.db import locked_row, utcnow
from domain.errors import Forbidden, ValidationFailed
from domain.events import CommentAdded, CommentChanged, CommentDeleted, record_event
from domain.posts.audience import audience_of
from domain.posts.checks import AUTHOR_ONLY, EMPTY, MODERATORS_ONLY, check_client_key, clean_body
from domain.posts.mentions import RenderedText, render_text
from domain.posts.models import Comment, Post
from domain.posts.moderation import check_group_open, moderates
from domain.posts.queries import access_comment, access_post
from domain.posts.revisions import replace_text
from domain.text import N_

POST_DELETED = N_("This post was deleted: it can no longer be commented on.")
UNKNOWN_PARENT = N_("There is no such comment on this post.")


async def _lock_post(session: AsyncSession, post_id: int) -> Post:
    post = await locked_row(session, Post, post_id)
    return post


async def _recount(session: AsyncSession, post: Post) -> None:
    """Recount the post's live comments; the caller holds the post's row lock."""
    count = await session.scalar(
        select(func.count())
        .select_from(Comment)
        .where(Comment.post_id == post.id, Comment.deleted_at.is_(None))
    )
    post.comment_count = int(count or 0)
    await session.flush()


async def check_add_comment(
    session: AsyncSession, principal: Principal, post_id: int, body: str, parent_id: int | None
) -> tuple[Post, int | None, str, RenderedText]:
    post = await access_post(session, principal, post_id, include_deleted=True)
    if post.is_deleted:
        raise Forbidden(POST_DELETED)
    await check_group_open(session, principal, post)
    parent: int | None = None
    if parent_id is not None:
        row = (
            await session.scalar(
                select(Comment).where(
                    Comment.id == parent_id,
                    Comment.post_id == post.id,
                    Comment.deleted_at.is_(None),
                )
            )
            if 0 < parent_id < 2**31
            else None
        )
        if row is None:
            raise ValidationFailed({"parent_id": UNKNOWN_PARENT})
        parent = row.parent_id or row.id
    body = clean_body(body)
    if not body:
        raise ValidationFailed({"body": EMPTY})
    text = await render_text(session, principal, body, group_id=post.group_id)
    return post, parent, body, text


async def _by_client_key(session: AsyncSession, author_id: int, client_key: str) -> Comment | None:
    return await session.scalar(
        select(Comment).where(Comment.author_id == author_id, Comment.client_key == client_key)
    )


async def do_add_comment(
    session: AsyncSession,
    principal: Principal,
    post_id: int,
    body: str,
    *,
    parent_id: int | None = None,
    client_key: str | None = None,
) -> Comment:
    """Comment on a post, or reply to a comment; a repeated ``client_key`` returns the first."""
    key = check_client_key(client_key)
    if key is not None:
        existing = await _by_client_key(session, principal.user_id, key)
        if existing is not None:
            return existing
    post, parent, body, text = await check_add_comment(session, principal, post_id, body, parent_id)
    post = await _lock_post(session, post.id)
    comment = Comment(
        post_id=post.id,
        parent_id=parent,
        author_id=principal.user_id,
        body=body,
        body_html=text.rendered.html,
        client_key=key,
        created_at=utcnow(),
    )
    try:
        async with session.begin_nested():
            session.add(comment)
            await session.flush()
    except IntegrityError:
        existing = await _by_client_key(session, principal.user_id, key) if key else None
        if existing is None:
            raise
        return existing
    await _recount(session, post)
    await record_event(
        session,
        CommentAdded(post.id, comment.id, parent),
        await audience_of(session, post.id),
        actor_id=principal.user_id,
    )
    return comment


async def check_edit_comment(
    session: AsyncSession, principal: Principal, comment_id: int, body: str
) -> tuple[Comment, str, RenderedText]:
    comment = await access_comment(session, principal, comment_id)
    if comment.author_id != principal.user_id:
        raise Forbidden(AUTHOR_ONLY)
    post = await session.get(Post, comment.post_id)
    assert post is not None
    await check_group_open(session, principal, post)
    body = clean_body(body)
    if not body:
        raise ValidationFailed({"body": EMPTY})
    return comment, body, await render_text(session, principal, body, group_id=post.group_id)


async def do_edit_comment(
    session: AsyncSession, principal: Principal, comment_id: int, body: str
) -> Comment:
    """Change a comment's text, keeping the earlier one; the same text is a no-op."""
    comment, body, text = await check_edit_comment(session, principal, comment_id, body)
    if body == comment.body:
        return comment
    replace_text(session, comment, body, text.rendered.html, principal.user_id)
    await session.flush()
    await record_event(
        session,
        CommentChanged(comment.post_id, comment.id),
        await audience_of(session, comment.post_id),
        actor_id=principal.user_id,
    )
    return comment


async def check_delete_comment(
    session: AsyncSession, principal: Principal, comment_id: int
) -> Comment:
    comment = await access_comment(session, principal, comment_id)
    post = await session.get(Post, comment.post_id)
    assert post is not None
    if comment.author_id != principal.user_id and not await moderates(
        session, principal, post.group_id
    ):
        raise Forbidden(MODERATORS_ONLY)
    await check_group_open(session, principal, post)
    return comment


async def do_delete_comment(
    session: AsyncSession, principal: Principal, comment_id: int
) -> Comment:
    """Delete a comment (and, for a top-level one, its replies); the rows stay for the record."""
    comment = await check_delete_comment(session, principal, comment_id)
    post = await _lock_post(session, comment.post_id)
    now = utcnow()
    by = None if comment.author_id == principal.user_id else principal.user_id
    comment.deleted_at, comment.deleted_by_id = now, by
    await session.flush()
    # The replies go with their comment; the deleter is on record for those of others.
    await session.execute(
        update(Comment)
        .where(Comment.parent_id == comment.id, Comment.deleted_at.is_(None))
        .values(
            deleted_at=now,
            deleted_by_id=case(
                (Comment.author_id == principal.user_id, null()), else_=principal.user_id
            ),
        )
        .execution_options(synchronize_session=False)
    )
    await _recount(session, post)
    await record_event(
        session,
        CommentDeleted(post.id, comment.id),
        await audience_of(session, post.id),
        actor_id=principal.user_id,
    )
    return comment
