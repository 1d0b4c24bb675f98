"""The SQL of a timeline page, one statement per shape of page (``Shape``): which index is
walked newest first, what each walked post is probed for, and how branches are merged.
``domain.posts.timeline`` decides the shape for a reader and binds the values.

Every test of a walked post is a probe of an index per post (``domain.posts.probes.probe``),
never a join or a hash: a page needs a few dozen posts, and both planners would otherwise happily
read every post of a channel or every post a token sees first.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import Integer, Select, bindparam, exists, literal, or_, select, union_all
from sqlalchemy.orm import aliased

from domain.db import UTCDateTime
from domain.groups.models import Group, GroupVisibility
from domain.posts.models import Follow, Post, PostAudience, PostChannel, PostKind
from domain.posts.views import page_select, post_visible, probe

# A group shows at most this many pinned posts on top (the oldest pins beyond it are not shown).
MAX_PINNED = 20
MAX_NEWS = 10

Driver = Literal["posts", "channel", "tokens", "own"]


@dataclass(frozen=True)
class Shape:
    """Everything that changes the SQL text of a page. The values (the reader, the channel, the
    cursor…) are bound parameters, so each shape's statement is built once (``statement``)."""

    driver: Driver
    staff: bool  # the reader holds the all-staff token (``post_visible``'s two shapes)
    personal: bool  # the reader's channels and follows; mutes take posts out
    multi: bool  # several channels (the personal timeline unfiltered), else one: ``channel``
    kinds: bool  # only posts of ``kinds``
    mentions: bool  # only posts mentioning the reader (one-channel scopes)
    group: bool  # a group timeline: pinned posts are on top of its first page, not in pages
    pinned: bool  # …and this is that first page
    public_only: bool  # staff outside a group: its posts only if it is public, and their own
    tokens: int  # branches of a token walk
    limit: int


def _follows(*, muted: bool) -> Select[str]:
    return select(Follow.channel).where(Follow.user_id == bindparam("me"), Follow.muted.is_(muted))


# The channel tests are probes of the (post, channel) index per walked post, never joins: as a
# merge join PostgreSQL would scan that index from the newest post down to the cursor first.


def _in_channel(post_id: Any, name: str) -> Any:
    channel = aliased(PostChannel)
    return probe(channel.post_id == post_id, channel.channel == bindparam(name))


def _in_my_channels(post_id: Any) -> Any:
    channel = aliased(PostChannel)
    return probe(
        channel.post_id == post_id,
        or_(
            channel.channel.in_(bindparam("channels", expanding=True)),
            channel.channel.in_(_follows(muted=False)),
        ),
    )


def _not_muted(post_id: Any) -> Any:
    channel = aliased(PostChannel)
    return ~probe(channel.post_id == post_id, channel.channel.in_(_follows(muted=True)))


def _conditions(
    shape: Shape, post_id: Any, *, walked_channel: bool, walked_audience: bool
) -> list[Any]:
    """Everything a post of a walk must satisfy, except what the walk itself ensures."""
    conditions: list[Any] = [Post.deleted_at.is_(None), post_id <= bindparam("through")]
    if post_id is not Post.id:
        # Said of both sides of the join, so that a merge join on PostgreSQL starts at the
        # cursor on posts too, not at the newest post.
        conditions.append(Post.id <= bindparam("through"))
    if shape.kinds:
        conditions.append(Post.kind.in_(bindparam("kinds", expanding=True)))
    if shape.group:
        conditions.append(Post.pinned_at.is_(None))
    if not walked_channel:
        conditions.append(
            _in_my_channels(post_id) if shape.multi else _in_channel(post_id, "channel")
        )
    if shape.mentions:
        conditions.append(_in_channel(post_id, "mention"))
    if shape.personal:
        conditions.append(_not_muted(post_id))
    if not walked_audience:
        conditions.append(post_visible(shape.staff, post_id))
    return conditions


def _walk_posts(shape: Shape) -> Any:
    """Newest posts first, probing channels and audience: dense timelines (staff, personal)."""
    return (
        select(Post.id.label("id"))
        .where(*_conditions(shape, Post.id, walked_channel=False, walked_audience=False))
        .order_by(Post.id.desc())
        .limit(shape.limit + 1)
    )


def _walk_channel(shape: Shape) -> Any:
    """One channel's slice of the post_channels key, newest first, probing the audience."""
    channel = aliased(PostChannel)
    walk = (
        select(channel.post_id.label("id"))
        .join(Post, Post.id == channel.post_id)
        .where(
            channel.channel == bindparam("channel"),
            *_conditions(shape, channel.post_id, walked_channel=True, walked_audience=False),
        )
        .order_by(channel.post_id.desc())
        .limit(shape.limit + 1)
    )
    if shape.public_only:
        # Uncorrelated: both planners test it once, before the walk (a one-time filter).
        walk = walk.where(
            exists().where(
                Group.id == bindparam("group_id"), Group.visibility == GroupVisibility.PUBLIC
            )
        )
    return walk


def _walk_token(shape: Shape, token: str) -> Any:
    """One token's slice of the post_audiences index, newest first, probing the channels."""
    audience = aliased(PostAudience)
    return (
        select(audience.post_id.label("id"))
        .join(Post, Post.id == audience.post_id)
        .where(
            audience.token == bindparam(token),
            *_conditions(shape, audience.post_id, walked_channel=False, walked_audience=True),
        )
        .order_by(audience.post_id.desc())
        .limit(shape.limit + 1)
    )


def _merge(branches: list[Any], limit: int) -> Any:
    """The newest ``limit`` + 1 distinct ids of walks that are each newest first and limited."""
    if len(branches) == 1:
        return branches[0]
    # SQLite takes ORDER BY and LIMIT in a compound's branch only inside a subquery.
    merged = union_all(*(select(b.subquery().c.id) for b in branches)).subquery("merged")
    return select(merged.c.id.label("id")).distinct().order_by(merged.c.id.desc()).limit(limit + 1)


def _pinned(shape: Shape) -> Any:
    conditions = [
        Post.group_id == bindparam("group_id"),
        Post.pinned_at.is_not(None),
        Post.deleted_at.is_(None),
        post_visible(shape.staff, Post.id),
    ]
    if shape.kinds:
        conditions.append(Post.kind.in_(bindparam("kinds", expanding=True)))
    if shape.mentions:
        conditions.append(_in_channel(Post.id, "mention"))
    return (
        select(Post.id.label("id"), literal(0, Integer).label("rank"))
        .where(*conditions)
        .order_by(Post.pinned_at.desc())
        .limit(MAX_PINNED)
    )


def _walk(shape: Shape) -> Any:
    """The subquery of a page's post ids (``id``, and ``rank``: 0 for pinned posts)."""
    branches: list[Any] = []
    if shape.driver == "posts":
        branches.append(_walk_posts(shape))
    elif shape.driver == "channel":
        branches.append(_walk_channel(shape))
    elif shape.driver == "tokens":
        branches += [_walk_token(shape, f"t{n}") for n in range(shape.tokens)]
    if shape.public_only:
        # One's own posts in a group one is not (or no longer) in.
        branches.append(_walk_token(shape, "own"))
    keyset = _merge(branches, shape.limit).subquery("keyset")
    walk = select(keyset.c.id, literal(1, Integer).label("rank"))
    if shape.pinned:
        pinned = _pinned(shape).subquery("pinned")
        walk = union_all(select(pinned.c.id, pinned.c.rank), walk)  # type: ignore[assignment]
    return walk.subquery("walk")


@lru_cache(maxsize=256)
def statement(shape: Shape) -> Any:
    return page_select(shape.staff, _walk(shape))


@lru_cache(maxsize=4)
def news_statement(staff: bool) -> Any:
    walk = (
        select(Post.id.label("id"), literal(1, Integer).label("rank"))
        .where(
            Post.kind == PostKind.NEWS,
            Post.news_until > bindparam("now", type_=UTCDateTime),
            Post.deleted_at.is_(None),
            post_visible(staff, Post.id),
        )
        .order_by(Post.id.desc())
        .limit(MAX_NEWS)
        .subquery("walk")
    )
    return page_select(staff, walk)
