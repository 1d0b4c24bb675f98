"""What makes one reader's rendering of a post differ from another's — so live delivery can render
a post once per *class* of readers instead of once per socket.

A rendered post depends on the reader through a few things only (see ``domain.posts.views`` and
``domain.posts.queries``): whether they wrote it, moderate it (admins, the communication role,
owners and managers of its group), reacted to it, voted in its poll, wrote one of its comments —
and which of its linked records (and, for a share, whether its original) their tokens reach.
``post_viewers`` reads those facts in one round of small queries; a reader none of the personal
facts name is then rendered like every other reader who reaches the same cards.

A reader these facts do not single out must truly render like the others: a new per-reader
decoration on a post must be added here too (the live tests compare class renders with
per-reader renders).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BindParameter,
    CompoundSelect,
    Integer,
    String,
    bindparam,
    cast,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from domain.groups.models import GroupMembership, GroupRole, MembershipState
from domain.posts.models import (
    Comment,
    PollVote,
    Post,
    PostAudience,
    PostChannel,
    PostRecord,
    Reaction,
)
from domain.records.audience import RecordAudience

_PERSON, _CHANNEL, _RECORD = 0, 1, 2


def _row(tag: int, number: Any, text: Any = None) -> Any:
    return select(
        literal(tag, Integer).label("tag"),
        cast(null() if number is None else number, Integer).label("number"),
        cast(null() if text is None else text, String).label("text"),
    )


@functools.cache
def _facts() -> CompoundSelect[Any]:
    """A post's personal readers, channels and linked records (and its shared original's) as
    ``(tag, number, text)`` rows; bound: ``posts``, ``groups`` and ``post_id``. Built once: it runs
    for every live event about a post, and building this union cost more than running it."""
    posts: BindParameter[list[int]] = bindparam("posts", expanding=True)
    return union_all(
        _row(_PERSON, Reaction.user_id).where(Reaction.post_id.in_(posts)),
        _row(_PERSON, PollVote.user_id).where(PollVote.post_id.in_(posts)),
        _row(_PERSON, Comment.author_id).where(
            Comment.post_id.in_(posts), Comment.author_id.is_not(None)
        ),
        _row(_PERSON, GroupMembership.user_id).where(
            GroupMembership.group_id.in_(bindparam("groups", expanding=True)),
            GroupMembership.state == MembershipState.ACTIVE,
            GroupMembership.role.in_((GroupRole.OWNER, GroupRole.MANAGER)),
        ),
        _row(_CHANNEL, None, PostChannel.channel).where(
            PostChannel.post_id == bindparam("post_id")
        ),
        _row(_RECORD, PostRecord.record_id, PostRecord.record_kind).where(
            PostRecord.post_id.in_(posts)
        ),
    )


@dataclass(frozen=True)
class PostViewers:
    post_id: int
    # Readers whose rendering is their own: author, group owners/managers, reactors, voters,
    # commenters (of this post and, for a share, of its original).
    personal: frozenset[int]
    # Audiences whose reach changes what is shown: each linked record's, and a shared original's.
    audiences: tuple[frozenset[str], ...]
    # Where the post appears (``post_channels``): group:G, company, news, author:A, to:R,
    # mention:M, record:kind:id, tag:t.
    channels: frozenset[str] = frozenset()

    @property
    def groups(self) -> frozenset[str]:
        """The post's group channels, which are also the group tokens of its members."""
        return frozenset(c for c in self.channels if c.startswith("group:"))


async def post_viewers(session: AsyncSession, post_id: int) -> PostViewers | None:
    post = await session.get(Post, post_id)
    if post is None:
        return None
    posts = [post_id]
    shared: Post | None = None
    if post.shared_post_id is not None:
        shared = await session.get(Post, post.shared_post_id)
        if shared is not None:
            posts.append(shared.id)
    groups = {p.group_id for p in (post, shared) if p is not None and p.group_id is not None}
    authors = {p.author_id for p in (post, shared) if p is not None and p.author_id is not None}
    # One statement for the rest: (tag, number, text) rows of the personal readers, the post's
    # channels and its linked records.
    params = {"posts": posts, "groups": sorted(groups) or [-1], "post_id": post_id}
    rows = await session.execute(_facts(), params)
    personal: set[int] = set()
    channel_set: set[str] = set()
    records: list[tuple[str, int]] = []
    for tag, number, text in rows:
        if tag == _PERSON:
            personal.add(int(number))
        elif tag == _CHANNEL:
            channel_set.add(text)
        else:
            records.append((text, int(number)))
    channels = frozenset(channel_set)
    # Addressees and mentioned people find the post in their own timeline: theirs is personal.
    for channel in channels:
        prefix, _, rest = channel.partition(":")
        if prefix in ("to", "mention") and rest.isdigit():
            personal.add(int(rest))

    audiences: dict[tuple[str, int], set[str]] = {}
    if records:
        linked = {(k, i) for k, i in records}
        for kind, record_id, token in await session.execute(
            select(RecordAudience.kind, RecordAudience.record_id, RecordAudience.token).where(
                RecordAudience.kind.in_({k for k, _ in records}),
                RecordAudience.record_id.in_({i for _, i in records}),
            )
        ):
            if (kind, record_id) in linked:
                audiences.setdefault((kind, record_id), set()).add(token)
        for key in linked:
            audiences.setdefault(key, set())
    reach = [frozenset(tokens) for _, tokens in sorted(audiences.items())]
    if shared is not None:
        reach.append(
            frozenset(
                (
                    await session.scalars(
                        select(PostAudience.token).where(PostAudience.post_id == shared.id)
                    )
                ).all()
            )
        )
    return PostViewers(post_id, frozenset(personal | authors), tuple(reach), channels)
