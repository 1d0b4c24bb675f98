"""Following and muting channels: a group (``group:<id>``), a person (``author:<id>``) or a
record (``record:<kind>:<id>``).

A followed channel adds its posts to one's personal timeline; a muted one takes every post in it
out (``domain.posts.timeline``). One may follow or mute only a channel one may see
(``check_channel``, ``NotFound`` otherwise, like a channel that does not exist):

- a group whose content one may see (a public group, or one's own);
- a person: for staff any active user (as for sending a post to people), for customers and
  partners the people they may mention (``domain.posts.mentions``); and always oneself;
- a record one may see (``domain.records.queries.access_record``).

Going back to "none" needs no check, so a follow outlived by one's access can still be removed.
A follow is a private setting: it records no event (nobody else's screen changes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal
from domain.errors import NotFound, ValidationFailed
from domain.groups.checks import NOT_ALLOWED
from domain.groups.queries import access_group
from domain.people.models import User
from domain.posts.audience import author_channel, group_channel, record_channel
from domain.posts.mentions import mentionable
from domain.posts.models import Follow
from domain.records.audience import RecordKind
from domain.records.queries import access_record

FollowState = Literal["follow", "mute", "none"]
STATES: tuple[FollowState, ...] = ("follow", "mute", "none")
MAX_ID = 2**31 - 1


def _id(text: str, channel: str) -> int:
    if not text.isdigit() or not text.isascii() or not 0 < int(text) <= MAX_ID:
        raise NotFound(f"channel {channel}")
    return int(text)


def parse_channel(channel: str) -> tuple[str, str, int]:
    """``(prefix, record kind or "", id)`` of a followable channel; ``NotFound`` for anything
    else. The canonical spelling is rebuilt by ``canonical``."""
    parts = channel.split(":")
    if len(parts) == 2 and parts[0] in ("group", "author"):
        return parts[0], "", _id(parts[1], channel)
    if len(parts) == 3 and parts[0] == "record" and parts[1] in set(RecordKind):
        return "record", parts[1], _id(parts[2], channel)
    raise NotFound(f"channel {channel[:100]}")


def canonical(prefix: str, kind: str, object_id: int) -> str:
    if prefix == "group":
        return group_channel(object_id)
    if prefix == "author":
        return author_channel(object_id)
    return record_channel(kind, object_id)


async def check_channel(session: AsyncSession, principal: Principal, channel: str) -> str:
    """The channel, canonical, if the principal may see it; ``NotFound`` otherwise."""
    prefix, kind, object_id = parse_channel(channel)
    if prefix == "group":
        if not (await access_group(session, principal, object_id)).may_see_content:
            raise NotFound(f"channel {channel}")
    elif prefix == "author":
        if object_id != principal.user_id:
            found = await session.scalar(
                select(User.id).where(
                    User.id == object_id,
                    User.is_active if principal.is_staff else mentionable(principal),
                )
            )
            if found is None:
                raise NotFound(f"channel {channel}")
    else:
        await access_record(session, principal, RecordKind(kind), object_id)
    return canonical(prefix, kind, object_id)


async def do_follow(
    session: AsyncSession, principal: Principal, channel: str, state: FollowState | str
) -> None:
    """Follow, mute, or go back to neither; setting the state one has changes nothing."""
    if state not in STATES:
        raise ValidationFailed({"state": NOT_ALLOWED})
    if state == "none":
        name = canonical(*parse_channel(channel))
        await session.execute(
            delete(Follow).where(Follow.user_id == principal.user_id, Follow.channel == name)
        )
        return
    name = await check_channel(session, principal, channel)
    muted = state == "mute"
    row = await session.get(Follow, (principal.user_id, name))
    if row is None:
        try:
            async with session.begin_nested():
                session.add(Follow(user_id=principal.user_id, channel=name, muted=muted))
                await session.flush()
            return
        except IntegrityError:  # the same click twice, at once: the other one made the row
            row = await session.get(Follow, (principal.user_id, name))
            if row is None:
                raise
    row.muted = muted
    await session.flush()


async def follow_state(session: AsyncSession, principal: Principal, channel: str) -> FollowState:
    """The principal's state for a channel: "follow", "mute" or "none"."""
    row = await session.scalar(
        select(Follow).where(Follow.user_id == principal.user_id, Follow.channel == channel)
    )
    if row is None:
        return "none"
    return "mute" if row.muted else "follow"


@dataclass(frozen=True)
class ChannelFollowers:
    """Of the users who follow or mute any of a post's channels: who follows one, who mutes
    one (a mute wins: the post stays off their personal timeline)."""

    following: frozenset[int]
    muting: frozenset[int]

    def state(self, user_id: int) -> FollowState:
        if user_id in self.muting:
            return "mute"
        return "follow" if user_id in self.following else "none"


async def channel_followers(session: AsyncSession, channels: Iterable[str]) -> ChannelFollowers:
    """Who follows or mutes any of these channels, in one statement."""
    following: set[int] = set()
    muting: set[int] = set()
    names = sorted(set(channels))
    if names:
        for user_id, muted in await session.execute(
            select(Follow.user_id, Follow.muted).where(Follow.channel.in_(names))
        ):
            (muting if muted else following).add(user_id)
    return ChannelFollowers(frozenset(following), frozenset(muting))
