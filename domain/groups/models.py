"""Groups, memberships, the accounts a group is shared with, and mandatory-membership rules.

A membership row exists in one of three states: ``requested`` (a user asked to join a private
group), ``invited`` (a manager invited the user) or ``active``. Only an active membership gives the
``group:<id>`` token. ``via_rule`` marks a membership made by a mandatory group's rules: the sync
adds and removes those, and nobody else may remove them.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import Base, UTCDateTime, str_enum, utcnow

NAME_MAX = 120
DESCRIPTION_MAX = 5000


class GroupVisibility(enum.StrEnum):
    """Who can find a group: everyone on the staff (public, private) or only its members."""

    PUBLIC = "public"  # anyone on the staff may join; content visible to all staff
    PRIVATE = "private"  # join on request or invitation; content only for members
    HIDDEN = "hidden"  # invisible to non-members


class GroupRole(enum.StrEnum):
    OWNER = "owner"
    MANAGER = "manager"
    MEMBER = "member"


class MembershipState(enum.StrEnum):
    REQUESTED = "requested"
    INVITED = "invited"
    ACTIVE = "active"


class Group(Base):
    __tablename__ = "groups"
    __table_args__ = (Index("ix_groups_name_id", "name", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[GroupVisibility] = mapped_column(str_enum(GroupVisibility, 16))
    is_mandatory: Mapped[bool] = mapped_column(Boolean, default=False)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_archived(self) -> bool:
        """An archived group is read-only: no new content, no membership changes (admins
        excepted), but still visible and searchable."""
        return self.archived_at is not None


class GroupMembership(Base):
    __tablename__ = "group_memberships"
    # load_principal asks "the active groups of user U" on every request.
    __table_args__ = (Index("ix_group_memberships_user_state", "user_id", "state"),)

    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[GroupRole] = mapped_column(str_enum(GroupRole, 16), default=GroupRole.MEMBER)
    state: Mapped[MembershipState] = mapped_column(str_enum(MembershipState, 16))
    via_rule: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_active(self) -> bool:
        return self.state is MembershipState.ACTIVE

    @property
    def manages(self) -> bool:
        """An active owner or manager: may approve, invite, add and remove members."""
        return self.is_active and self.role in (GroupRole.OWNER, GroupRole.MANAGER)

    @property
    def owns(self) -> bool:
        return self.is_active and self.role is GroupRole.OWNER


class GroupShare(Base):
    """The group is shared with a customer or partner account: that account's contacts may be
    invited, and only then."""

    __tablename__ = "group_shares"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, index=True
    )


# Rules name a role of ``domain.people.models.Role`` or "employee": every active staff user.
EVERY_EMPLOYEE = "employee"


class GroupRule(Base):
    """One rule of a mandatory group: the employees of a department (and of its sub-departments),
    or the staff users holding a role."""

    __tablename__ = "group_rules"
    __table_args__ = (
        CheckConstraint("(department_id IS NULL) <> (role IS NULL)", name="department_or_role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str | None] = mapped_column(String(32))
