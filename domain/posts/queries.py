"""Reading posts and what hangs off them for a principal: ``access_post``, ``access_comment``,
the comments of a post, who reacted, the edit history — and (from ``domain.posts.mentions``) the
mention autocomplete and handles.

Every read is filtered in SQL by the post's audience rows (``post_visible``): a post the
principal may not see, or a deleted one, answers ``NotFound`` exactly like a missing one, and so
does everything hanging off it. Deleted comments vanish from every read (a deleted top-level
comment takes its replies with it, see ``domain.posts.comments``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from domain.access import Principal
from domain.errors import NotFound
from domain.groups.models import Group
from domain.people.models import User
from domain.posts.mentions import (
    MentionCandidate,
    handle_of,
    mention_candidates,
    resolve_mentions,
)
from domain.posts.models import Comment, Post, PostAudience, Reaction, ReactionKind, Revision
from domain.posts.moderation import moderates

__all__ = [
    "CommentView",
    "MentionCandidate",
    "access_comment",
    "access_post",
    "handle_of",
    "list_comments",
    "list_reactors",
    "list_revisions",
    "mention_candidates",
    "post_visible",
    "resolve_mentions",
]

# Ids are 32-bit; a larger number from a URL cannot name a post (and would overflow a driver).
MAX_ID = 2**31 - 1


def post_visible(
    principal: Principal, post_id: ColumnElement[Any] | QueryableAttribute[Any] | None = None
) -> ColumnElement[bool]:
    """The SQL condition "the principal's tokens meet the audience of this post" (``Post.id``
    unless another column is given)."""
    return exists().where(
        PostAudience.post_id == (Post.id if post_id is None else post_id),
        PostAudience.token.in_(sorted(principal.tokens)),
    )


async def access_post(
    session: AsyncSession, principal: Principal, post_id: int, *, include_deleted: bool = False
) -> Post:
    """A post the principal may see, or ``NotFound``. ``include_deleted`` is for actions that
    explain a refusal ("this post was deleted") to someone who could see it."""
    if not 0 < post_id <= MAX_ID:
        raise NotFound(f"post {post_id}")
    stmt = select(Post).where(Post.id == post_id, post_visible(principal))
    if not include_deleted:
        stmt = stmt.where(Post.deleted_at.is_(None))
    post = await session.scalar(stmt)
    if post is None:
        raise NotFound(f"post {post_id}")
    return post


async def access_comment(session: AsyncSession, principal: Principal, comment_id: int) -> Comment:
    """A comment (not deleted) on a post the principal may see, or ``NotFound``."""
    if not 0 < comment_id <= MAX_ID:
        raise NotFound(f"comment {comment_id}")
    comment = await session.scalar(
        select(Comment)
        .join(Post, Post.id == Comment.post_id)
        .where(
            Comment.id == comment_id,
            Comment.deleted_at.is_(None),
            Post.deleted_at.is_(None),
            post_visible(principal),
        )
    )
    if comment is None:
        raise NotFound(f"comment {comment_id}")
    return comment


@dataclass
class CommentView:
    comment: Comment
    author_name: str
    replies: list[CommentView] = field(default_factory=list)
    may_edit: bool = False
    may_delete: bool = False


async def list_comments(
    session: AsyncSession, principal: Principal, post_id: int
) -> list[CommentView]:
    """The comments of a post, oldest first, each top-level one with its replies."""
    post = await access_post(session, principal, post_id)
    rows = await session.execute(
        select(Comment, User.name)
        .outerjoin(User, User.id == Comment.author_id)
        .where(
            Comment.post_id == post.id,
            Comment.deleted_at.is_(None),
            post_visible(principal, Comment.post_id),
        )
        .order_by(Comment.id)
    )
    archived = False
    if post.group_id is not None:
        group = await session.get(Group, post.group_id)
        archived = group is not None and group.is_archived and not principal.is_admin
    moderator = await moderates(session, principal, post.group_id)
    top: list[CommentView] = []
    by_id: dict[int, CommentView] = {}
    for comment, name in rows:
        mine = comment.author_id == principal.user_id
        view = CommentView(
            comment=comment,
            author_name=name or "",
            may_edit=mine and not archived,
            may_delete=(mine or moderator) and not archived,
        )
        if comment.parent_id is None:
            top.append(view)
            by_id[comment.id] = view
        elif (parent := by_id.get(comment.parent_id)) is not None:
            parent.replies.append(view)
    return top


async def list_reactors(
    session: AsyncSession, principal: Principal, post_id: int
) -> list[tuple[str, ReactionKind]]:
    """Who reacted to a post, and how, in the order they reacted."""
    post = await access_post(session, principal, post_id)
    rows = await session.execute(
        select(User.name, Reaction.kind)
        .join(User, User.id == Reaction.user_id)
        .where(Reaction.post_id == post.id, post_visible(principal, Reaction.post_id))
        .order_by(Reaction.created_at, Reaction.user_id)
    )
    return [(name, kind) for name, kind in rows]


async def list_revisions(
    session: AsyncSession,
    principal: Principal,
    *,
    post_id: int | None = None,
    comment_id: int | None = None,
) -> list[Revision]:
    """The earlier versions of a post's or a comment's text, oldest first, for those who may see
    the post. Give exactly one of the two ids."""
    if (post_id is None) == (comment_id is None):
        raise TypeError("list_revisions needs exactly one of post_id and comment_id")
    if post_id is not None:
        post = await access_post(session, principal, post_id)
        which = Revision.post_id == post.id
        visible = post_visible(principal, Revision.post_id)
    else:
        assert comment_id is not None
        comment = await access_comment(session, principal, comment_id)
        which = Revision.comment_id == comment.id
        visible = post_visible(
            principal,
            select(Comment.post_id).where(Comment.id == Revision.comment_id).scalar_subquery(),
        )
    rows = await session.scalars(select(Revision).where(which, visible).order_by(Revision.id))
    return list(rows.all())
