"""Reactions to posts: one kind per person and post, set, changed or withdrawn.

Whoever may see a post may react to it (not to a deleted post, nor in an archived group).
Setting the kind one already has, or withdrawing a reaction one does not have, changes nothing
and records nothing: toggling is idempotent, so a double click or a retried request is harmless.

``Post.reaction_counts`` (``{"like": 3, "thanks": 1}``, kinds with no reaction left out) is
recounted from the reactions table while the post's row is locked (``FOR UPDATE``; SQLite's write
transactions already queue), and the person's own reaction is read only once the lock is held —
so concurrent reactions, even two of one person, leave exact counts.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal
from domain.db import locked_row, utcnow
from domain.errors import ValidationFailed
from domain.events import ReactionsChanged, record_event
from domain.groups.checks import NOT_ALLOWED
from domain.posts.audience import audience_of
from domain.posts.models import Post, Reaction, ReactionKind
from domain.posts.moderation import check_group_open
from domain.posts.queries import access_post


def parse_reaction(value: ReactionKind | str | None) -> ReactionKind | None:
    """A reaction kind from a form or JSON value ("" or None withdraws)."""
    if value is None or value == "":
        return None
    try:
        return ReactionKind(value)
    except ValueError:
        raise ValidationFailed({"kind": NOT_ALLOWED}) from None


async def check_set_reaction(session: AsyncSession, principal: Principal, post_id: int) -> Post:
    post = await access_post(session, principal, post_id)
    await check_group_open(session, principal, post)
    return post


async def reaction_counts(session: AsyncSession, post_id: int) -> dict[str, int]:
    rows = await session.execute(
        select(Reaction.kind, func.count())
        .where(Reaction.post_id == post_id)
        .group_by(Reaction.kind)
    )
    counts = {ReactionKind(kind).value: int(n) for kind, n in rows}
    return {kind.value: counts[kind.value] for kind in ReactionKind if counts.get(kind.value)}


async def do_set_reaction(
    session: AsyncSession,
    principal: Principal,
    post_id: int,
    kind: ReactionKind | str | None,
) -> dict[str, int]:
    """Set one's reaction to ``kind`` (None withdraws it); returns the post's counts."""
    wanted = parse_reaction(kind)
    await check_set_reaction(session, principal, post_id)
    post = await locked_row(session, Post, post_id)
    mine = await session.get(Reaction, (post.id, principal.user_id), populate_existing=True)
    current = None if mine is None else mine.kind
    if current == wanted:
        return dict(post.reaction_counts or {})
    if wanted is None:
        assert mine is not None
        await session.delete(mine)
    elif mine is None:
        session.add(
            Reaction(post_id=post.id, user_id=principal.user_id, kind=wanted, created_at=utcnow())
        )
    else:
        mine.kind = wanted
    await session.flush()
    post.reaction_counts = await reaction_counts(session, post.id)
    await session.flush()
    await record_event(
        session,
        ReactionsChanged(post.id),
        await audience_of(session, post.id),
        actor_id=principal.user_id,
    )
    return dict(post.reaction_counts)
