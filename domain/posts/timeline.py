"""Timelines: the personal one, and the one-channel ones (a group, a record's wall, a person's
posts, a hashtag) — keyset pages of ``PostView`` in at most three SQL statements.

A post is on a timeline when one of its channels is the timeline's AND its audience meets the
reader's tokens (see ``domain.posts.models``); deleted posts never are. The personal timeline's
channels are ``company``, ``news``, ``to:ME``, ``mention:ME``, ``author:ME``, the reader's groups
and what they follow, minus every post having a channel they muted. Follows and mutes are read by
subqueries inside the page query, so they cost no statement of their own.

Pages are keyset pages on the post id, newest first; the cursor is opaque (the last id shown),
and a cursor that is not one of ours is refused as a bad value.

Which post is walked first decides the cost, and neither planner can choose it (the selectivity
of "one of my channels and my audience" is not in any statistics), so the query is shaped per
reader, as ``domain.records.audience.visible`` does:

- staff on the personal timeline: walk ``posts`` by primary key, newest first, probing each
  post's channels and audience; the company channel alone is on a large share of all posts, so a
  page is found after a few hundred probes at most;
- staff on one channel (a group, a wall, a person, a hashtag, or the news and mentions filters):
  walk that channel's slice of the ``post_channels`` key, probing the audience;
- customers and partners (no all-staff token) see few posts: walk each of their tokens' slice of
  the ``post_audiences`` index, newest first, ``LIMIT`` page size each, probing the channels, and
  merge — bounded by the posts they may see, however large the company's timeline is; on one
  channel that is small by nature (mentions, posts to them, a record's wall, news, a group they
  are in) they walk the channel instead;
- anyone on a group they are not in: its posts show only if it is public (to staff), which is
  tested once before the walk, plus their own posts from before they left — never a walk through
  a private group's every post to find none.

Measured at 1,000,000 posts (``bench/bench_timeline.py``, SQLite): the page query of a personal
timeline takes about 1 ms for staff and for a customer, first page or deep. Statements are built
once per shape (``domain.posts.walks.Shape``, where the SQL of each shape lives) with every value
bound, and cached: building and hashing them afresh cost more than running them.

Pinned posts of a group come first on its first page, the most recently pinned on top, and are
left out of the pages that follow them.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import EMPLOYEES, Principal, user_token
from domain.errors import ValidationFailed
from domain.posts.audience import (
    COMPANY,
    NEWS,
    author_channel,
    group_channel,
    mention_channel,
    record_channel,
    tag_channel,
    to_channel,
)
from domain.posts.models import CHANNEL_MAX, PostKind
from domain.posts.views import (
    PostView,
    audience_params,
    is_staff_shape,
    views_of_rows,
)
from domain.posts.walks import Driver, Shape, news_statement, statement
from domain.records.audience import RecordKind
from domain.text import N_

ScopeKind = Literal["personal", "group", "record", "person", "hashtag"]
Only = Literal["all", "posts", "news", "mentions"]

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_ID = 2**31 - 1
BAD_CURSOR = N_("This page link is no longer valid. Start from the first page.")
BAD_SCOPE = N_("This timeline does not exist.")


@dataclass(frozen=True)
class TimelineScope:
    """Which timeline: ``personal`` (no key), ``group`` (group id), ``record`` ("account:31"),
    ``person`` (user id) or ``hashtag`` (the tag, without "#")."""

    kind: ScopeKind
    key: int | str | None = None

    def channel(self) -> str | None:
        """The one channel of a one-channel timeline (None for the personal timeline)."""
        if self.kind == "personal":
            return None
        if self.kind == "hashtag":
            tag = str(self.key or "").strip().lstrip("#")
            # No hashtag holds NUL (and PostgreSQL refuses it in text).
            if not tag or "\x00" in tag or len(tag_channel(tag)) > CHANNEL_MAX:
                raise ValidationFailed({"scope": BAD_SCOPE})
            return tag_channel(tag)
        if self.kind == "record":
            kind, _, raw_id = str(self.key or "").partition(":")
            if kind not in {k.value for k in RecordKind}:
                raise ValidationFailed({"scope": BAD_SCOPE})
            return record_channel(kind, _int_key(raw_id))
        number = _int_key(self.key)
        if self.kind == "group":
            return group_channel(number)
        if self.kind == "person":
            return author_channel(number)
        raise ValidationFailed({"scope": BAD_SCOPE})


def _int_key(raw: object) -> int:
    try:
        number = raw if type(raw) is int else int(str(raw), 10)
    except ValueError:
        raise ValidationFailed({"scope": BAD_SCOPE}) from None
    if not 0 < number <= MAX_ID:
        raise ValidationFailed({"scope": BAD_SCOPE})
    return number


@dataclass(frozen=True)
class TimelinePage:
    items: list[PostView]
    next: str | None  # the cursor of the next (older) page, None on the last page


def encode_cursor(post_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps(["p", post_id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The last post id of the page before, from a cursor made by ``encode_cursor``."""
    try:
        if len(cursor) > 256:
            raise ValueError(cursor)
        tag, post_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if tag != "p" or type(post_id) is not int or not 0 < post_id <= MAX_ID:
            raise ValueError(cursor)
        return int(post_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed({"cursor": BAD_CURSOR}) from None


# -- the shape of a page ------------------------------------------------------------------------

# Channels with few posts by nature, walked whole even by a reader who sees few posts.
_SMALL_CHANNELS = ("mention:", "to:", "record:", NEWS)


def _shape(
    principal: Principal, scope: TimelineScope, only: Only, limit: int, first_page: bool
) -> tuple[Shape, dict[str, Any]]:
    if only not in ("all", "posts", "news", "mentions"):
        raise ValidationFailed({"only": N_("This is not one of the allowed values.")})
    me = principal.user_id
    staff = EMPLOYEES in principal.tokens
    params: dict[str, Any] = {
        "me": me,
        "mention": mention_channel(me),
        **audience_params(principal),
    }
    kinds = {"posts": [PostKind.POST.value], "news": [PostKind.NEWS.value]}.get(only)
    if kinds is not None:
        params["kinds"] = kinds
    channel = scope.channel()
    personal = channel is None
    if personal:
        # The personal timeline's news and mentions are one channel each: walk just that one.
        channel = {"news": NEWS, "mentions": mention_channel(me)}.get(only)
    multi = channel is None
    if multi:
        params["channels"] = _personal_channels(principal)
    else:
        params["channel"] = channel
    group = scope.kind == "group"
    public_only = False
    tokens = 0
    driver: Driver
    if multi:
        driver = "posts" if staff else "tokens"
    elif group and channel not in principal.tokens:
        # Not a member: the group's posts are visible only if it is public (to staff), and one's
        # own posts from before one left. Walking the channel to find that out could read a
        # private group's every post.
        driver = "channel" if staff else "own"
        public_only = True
        params["group_id"] = int(str(channel).split(":")[1])
        params["own"] = user_token(me)
    elif staff or group or str(channel).startswith(_SMALL_CHANNELS):
        driver = "channel"
    else:
        driver = "tokens"
    if driver == "tokens":
        ordered = sorted(principal.tokens)
        tokens = len(ordered)
        params.update({f"t{n}": token for n, token in enumerate(ordered)})
    pinned = group and first_page
    if group:
        params["group_id"] = int(str(scope.channel()).split(":")[1])
    shape = Shape(
        driver=driver,
        staff=staff,
        personal=personal,
        multi=multi,
        kinds=kinds is not None,
        mentions=only == "mentions" and not personal,
        group=group,
        pinned=pinned,
        public_only=public_only,
        tokens=tokens,
        limit=limit,
    )
    return shape, params


def _personal_channels(principal: Principal) -> list[str]:
    me = principal.user_id
    channels = {to_channel(me), mention_channel(me), author_channel(me)}
    channels |= {t for t in principal.tokens if t.startswith("group:")}
    if EMPLOYEES in principal.tokens:
        channels |= {COMPANY, NEWS}
    return sorted(channels)


def page_statement(
    principal: Principal,
    scope: TimelineScope,
    *,
    only: Only = "all",
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> tuple[Any, dict[str, Any]]:
    """The page query of ``timeline`` (statement 1 of 3) and its bound values, shaped for this
    reader (see the module docstring). Public for the benchmark, which times the same SQL raw."""
    limit = max(1, min(limit, MAX_LIMIT))
    # Bound as "up to and including", so the first page's bound fits a 32-bit integer.
    through = decode_cursor(cursor) - 1 if cursor else MAX_ID
    shape, params = _shape(principal, scope, only, limit, first_page=not cursor)
    return statement(shape), {**params, "through": through}


async def timeline(
    session: AsyncSession,
    principal: Principal,
    scope: TimelineScope,
    *,
    only: Only = "all",
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> TimelinePage:
    """One page of a timeline for a reader; ``cursor`` is the ``next`` of the page before.
    At most three SQL statements: the page, its decorations, and its polls if any."""
    limit = max(1, min(limit, MAX_LIMIT))
    query, params = page_statement(principal, scope, only=only, cursor=cursor, limit=limit)
    rows = (await session.execute(query, params)).all()
    keyset = [row for row in rows if row.rank == 1]
    next_cursor = None
    if len(keyset) > limit:
        dropped = keyset[limit]
        rows = [row for row in rows if row is not dropped]
        next_cursor = encode_cursor(keyset[limit - 1][0].id)
    return TimelinePage(items=await views_of_rows(session, principal, rows), next=next_cursor)


async def current_news(
    session: AsyncSession, principal: Principal, now: datetime
) -> list[PostView]:
    """Company news still running (``news_until`` after ``now``) that the reader may see, newest
    first: shown above the timeline."""
    query = news_statement(is_staff_shape(principal))
    params = {"now": now, **audience_params(principal)}
    rows = (await session.execute(query, params)).all()
    return await views_of_rows(session, principal, rows)
