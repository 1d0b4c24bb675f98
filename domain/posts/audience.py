"""Who may see a post (its audience) and where it appears (its channels), and the one function
that writes both into the index tables every timeline reads.

Audience (tokens of ``domain.access``):

- in a group: ``domain.groups.queries.content_audience`` — ``group:G`` (+ ``role:employee`` for a
  public group);
- sent to people: ``user:R`` for each recipient;
- otherwise (a company post, company news): ``role:employee``;
- always the author's ``user:A``, so one sees one's own post wherever it went.

A share's audience is that of where it is shared to, never the original's. Comments, reactions,
votes and every event about a post use the post's audience (``audience_of``).

Channels (see the docstring of ``domain.posts.models``): ``group:G`` or ``to:R`` per recipient or
``company``; ``news`` for news; ``author:A``; ``record:<kind>:<id>`` per linked record;
``tag:<tag>`` per hashtag; ``mention:<user id>`` per resolved mention. A hashtag too long for a
channel (over ``TAG_MAX`` characters) is linked in the text but not indexed.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import EMPLOYEES, group_token, user_token
from domain.groups.models import Group
from domain.groups.queries import content_audience
from domain.posts.models import CHANNEL_MAX, PostAudience, PostChannel, PostKind

COMPANY = "company"
NEWS = "news"
TAG_PREFIX = "tag:"
TAG_MAX = CHANNEL_MAX - len(TAG_PREFIX)


def group_channel(group_id: int) -> str:
    return group_token(group_id)


def author_channel(user_id: int) -> str:
    return f"author:{user_id}"


def to_channel(user_id: int) -> str:
    return f"to:{user_id}"


def mention_channel(user_id: int) -> str:
    return f"mention:{user_id}"


def tag_channel(tag: str) -> str:
    return TAG_PREFIX + tag.lower()


def record_channel(kind: str, record_id: int) -> str:
    return f"record:{kind}:{record_id}"


def post_audience(
    group: Group | None, recipient_ids: Iterable[int], author_id: int
) -> frozenset[str]:
    """The tokens that may see a post made by ``author_id`` in ``group`` or to the recipients."""
    tokens = {user_token(author_id)}
    recipients = set(recipient_ids)
    if group is not None:
        tokens |= content_audience(group)
    elif recipients:
        tokens |= {user_token(r) for r in recipients}
    else:
        tokens.add(EMPLOYEES)
    return frozenset(tokens)


def post_channels(
    *,
    author_id: int,
    group_id: int | None = None,
    recipient_ids: Iterable[int] = (),
    kind: PostKind = PostKind.POST,
    records: Iterable[tuple[str, int]] = (),
    hashtags: Iterable[str] = (),
    mention_ids: Iterable[int] = (),
) -> frozenset[str]:
    """The channels a post appears in (see the module docstring)."""
    channels = {author_channel(author_id)}
    recipients = set(recipient_ids)
    if group_id is not None:
        channels.add(group_channel(group_id))
    elif recipients:
        channels |= {to_channel(r) for r in recipients}
    else:
        channels.add(COMPANY)
    if kind is PostKind.NEWS:
        channels.add(NEWS)
    channels |= {record_channel(k, i) for k, i in records}
    channels |= {tag_channel(t) for t in hashtags if len(t) <= TAG_MAX}
    channels |= {mention_channel(u) for u in mention_ids}
    return frozenset(channels)


async def write_index(
    session: AsyncSession, post_id: int, audience: Iterable[str], channels: Iterable[str]
) -> None:
    """The audience and channel rows of a post just made (it has none yet)."""
    await write_audience(session, post_id, audience, new=True)
    await write_channels(session, post_id, channels, new=True)


async def write_audience(
    session: AsyncSession, post_id: int, audience: Iterable[str], *, new: bool = False
) -> None:
    """Replace the post's audience rows (``new``: it has none, nothing to delete)."""
    if not new:
        await session.execute(delete(PostAudience).where(PostAudience.post_id == post_id))
    rows = [{"post_id": post_id, "token": t} for t in sorted(set(audience))]
    if rows:
        await session.execute(insert(PostAudience), rows)


async def write_channels(
    session: AsyncSession, post_id: int, channels: Iterable[str], *, new: bool = False
) -> None:
    """Replace the post's channel rows (``new``: it has none, nothing to delete)."""
    if not new:
        await session.execute(delete(PostChannel).where(PostChannel.post_id == post_id))
    rows = [{"post_id": post_id, "channel": c} for c in sorted(set(channels))]
    if rows:
        await session.execute(insert(PostChannel), rows)


async def audience_of(session: AsyncSession, post_id: int) -> frozenset[str]:
    """The stored audience of a post, for the events about it and everything hanging off it."""
    rows = await session.scalars(select(PostAudience.token).where(PostAudience.post_id == post_id))
    return frozenset(rows.all())
