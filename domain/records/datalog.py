"""The Data Log: every change to a record's fields, kept with who, when, old and new value.

Written by the record actions in the same transaction as the change; read on the record's card,
by staff only (externals never see it).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import Base, UTCDateTime, utcnow
from domain.people.models import User

VALUE_MAX = 2000


class RecordChange(Base):
    __tablename__ = "record_changes"
    __table_args__ = (Index("ix_record_changes_record", "kind", "record_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _text(value: object) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))[:VALUE_MAX]


def log_changes(
    session: AsyncSession,
    kind: str,
    record_id: int,
    changes: dict[str, tuple[object, object]],
    actor_id: int | None,
    now: datetime,
) -> None:
    """Add one Data Log row per changed field; unchanged fields leave no trace."""
    for field, (old, new) in sorted(changes.items()):
        if _text(old) == _text(new):
            continue
        session.add(
            RecordChange(
                kind=kind,
                record_id=record_id,
                field=field,
                old_value=_text(old),
                new_value=_text(new),
                actor_id=actor_id,
                at=now,
            )
        )


async def changes_of(
    session: AsyncSession, kind: str, record_id: int, limit: int = 100
) -> list[tuple[RecordChange, str | None]]:
    """The newest changes of a record with the name of who made each."""
    rows = await session.execute(
        select(RecordChange, User.name)
        .outerjoin(User, User.id == RecordChange.actor_id)
        .where(RecordChange.kind == kind, RecordChange.record_id == record_id)
        .order_by(RecordChange.id.desc())
        .limit(limit)
    )
    return [(change, name) for change, name in rows]
