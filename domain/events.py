"""The event log and its catalogue of typed events.

A domain action appends an event in the same transaction as its change: the event names what
happened (kind), to what (a payload of ids, never content), who did it, and who may hear of it (an
audience of tokens, stored as rows indexed by token so a reader's replay is one indexed query).
Consumers — live delivery, search indexing, notifications — read the log after commit.

Each event kind is one frozen dataclass in ``CATALOGUE``; building one with unknown or missing
fields fails, so a payload never drifts from its declaration.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import Base, UTCDateTime, utcnow

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit id.
EventId = BigInteger().with_variant(Integer(), "sqlite")


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EventAudience(Base):
    __tablename__ = "event_audiences"
    # The primary key serves a reader's replay (by token); this serves reading an event's
    # audience with the event and deleting it with the event.
    __table_args__ = (Index("ix_event_audiences_event_id", "event_id"),)

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[int] = mapped_column(
        EventId, ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )


class ConsumerCheckpoint(Base):
    """The last event id a consumer of the log (search indexer, notifier…) has handled, and any
    small state it keeps beside it (ids it saw out of order, for instance)."""

    __tablename__ = "consumer_checkpoints"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(EventId, default=0)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@dataclass(frozen=True)
class Recheck:
    """Whose audience tokens an event may have taken away: live delivery reloads the principals
    of those sockets before it sends anything else, so nothing after the change reaches a reader
    by the old tokens. ``users``: these users' sockets; ``holders``: the sockets holding this
    token (only the externals', with ``externals_only``)."""

    users: frozenset[int] = frozenset()
    holders: str | None = None
    externals_only: bool = False


@dataclass(frozen=True)
class DomainEvent:
    kind: ClassVar[str]

    def payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def recheck(cls, payload: dict[str, Any]) -> Recheck | None:
        """Who may have lost access by the event with this payload (None: nobody)."""
        return None

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> DomainEvent:
        names = {f.name for f in fields(cls)}
        unknown = set(payload) - names
        if unknown:
            raise ValueError(f"{cls.kind}: unknown fields {sorted(unknown)}")
        return cls(**payload)


@dataclass(frozen=True)
class RecordUpdated(DomainEvent):
    """Fields of an ERP record changed (the Data Log has the values)."""

    kind: ClassVar[str] = "record.updated"
    record_kind: str
    record_id: int
    fields: tuple[str, ...]

    def payload(self) -> dict[str, Any]:
        return {
            "record_kind": self.record_kind,
            "record_id": self.record_id,
            "fields": list(self.fields),
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> RecordUpdated:
        return cls(payload["record_kind"], payload["record_id"], tuple(payload["fields"]))

    @classmethod
    def recheck(cls, payload: dict[str, Any]) -> Recheck | None:
        # A project's manager holds its token (``domain.access``): a new one takes it from the
        # former. The other editable fields of records carry no principal's token.
        if payload["record_kind"] == "project" and "manager_id" in payload["fields"]:
            return Recheck(holders=f"project:{int(payload['record_id'])}")
        return None


@dataclass(frozen=True)
class GroupChanged(DomainEvent):
    """A group was created, renamed, archived, shared… (``fields`` names what changed)."""

    kind: ClassVar[str] = "group.changed"
    group_id: int
    fields: tuple[str, ...]

    def payload(self) -> dict[str, Any]:
        return {"group_id": self.group_id, "fields": list(self.fields)}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> GroupChanged:
        return cls(payload["group_id"], tuple(payload["fields"]))

    @classmethod
    def recheck(cls, payload: dict[str, Any]) -> Recheck | None:
        # Unsharing a group from an account takes its token from that account's contacts (staff
        # tokens do not depend on it).
        return Recheck(holders=f"group:{int(payload['group_id'])}", externals_only=True)


@dataclass(frozen=True)
class GroupMembershipChanged(DomainEvent):
    """A user's membership of a group changed. ``state`` is "requested", "invited", "active" or
    "removed"; ``role`` is "owner", "manager" or "member" (the last role for "removed")."""

    kind: ClassVar[str] = "group.membership_changed"
    group_id: int
    user_id: int
    state: str
    role: str

    @classmethod
    def recheck(cls, payload: dict[str, Any]) -> Recheck | None:
        return Recheck(users=frozenset({int(payload["user_id"])}))


@dataclass(frozen=True)
class UserAccessChanged(DomainEvent):
    """What a user may see changed outside any group: their roles ("roles"), or their account
    was deactivated or activated again ("active"). Open sockets of theirs are re-checked before
    the next event goes out, instead of at the hub's periodic refresh."""

    kind: ClassVar[str] = "user.access_changed"
    user_id: int
    fields: tuple[str, ...]

    def payload(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "fields": list(self.fields)}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> UserAccessChanged:
        return cls(payload["user_id"], tuple(payload["fields"]))

    @classmethod
    def recheck(cls, payload: dict[str, Any]) -> Recheck | None:
        return Recheck(users=frozenset({int(payload["user_id"])}))


@dataclass(frozen=True)
class PostCreated(DomainEvent):
    """A post (or a share, or company news) was made."""

    kind: ClassVar[str] = "post.created"
    post_id: int
    group_id: int | None


@dataclass(frozen=True)
class PostChanged(DomainEvent):
    """A post's text, pin, news period or linked records changed (``fields`` names what)."""

    kind: ClassVar[str] = "post.changed"
    post_id: int
    fields: tuple[str, ...]

    def payload(self) -> dict[str, Any]:
        return {"post_id": self.post_id, "fields": list(self.fields)}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> PostChanged:
        return cls(payload["post_id"], tuple(payload["fields"]))


@dataclass(frozen=True)
class PostDeleted(DomainEvent):
    """A post was deleted by its author or removed by a moderator."""

    kind: ClassVar[str] = "post.deleted"
    post_id: int


@dataclass(frozen=True)
class CommentAdded(DomainEvent):
    kind: ClassVar[str] = "comment.added"
    post_id: int
    comment_id: int
    parent_id: int | None


@dataclass(frozen=True)
class CommentChanged(DomainEvent):
    """A comment was edited."""

    kind: ClassVar[str] = "comment.changed"
    post_id: int
    comment_id: int


@dataclass(frozen=True)
class CommentDeleted(DomainEvent):
    kind: ClassVar[str] = "comment.deleted"
    post_id: int
    comment_id: int


@dataclass(frozen=True)
class ReactionsChanged(DomainEvent):
    """Someone reacted to a post, changed or withdrew their reaction."""

    kind: ClassVar[str] = "post.reactions_changed"
    post_id: int


@dataclass(frozen=True)
class PollVoted(DomainEvent):
    """Someone voted in (or changed their vote in) a post's poll."""

    kind: ClassVar[str] = "poll.voted"
    post_id: int


CATALOGUE: dict[str, type[DomainEvent]] = {
    event.kind: event
    for event in (
        RecordUpdated,
        GroupChanged,
        GroupMembershipChanged,
        UserAccessChanged,
        PostCreated,
        PostChanged,
        PostDeleted,
        CommentAdded,
        CommentChanged,
        CommentDeleted,
        ReactionsChanged,
        PollVoted,
    )
}


async def record_event(
    session: AsyncSession,
    event: DomainEvent,
    audience: Iterable[str],
    *,
    actor_id: int | None,
    now: datetime | None = None,
) -> Event:
    """Append an event and its audience rows inside the caller's transaction."""
    if event.kind not in CATALOGUE:
        raise ValueError(f"event kind {event.kind!r} is not in the catalogue")
    row = Event(
        kind=event.kind, payload=event.payload(), actor_id=actor_id, created_at=now or utcnow()
    )
    session.add(row)
    await session.flush()
    session.add_all(EventAudience(token=t, event_id=row.id) for t in sorted(set(audience)))
    return row
