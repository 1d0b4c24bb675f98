"""The checks that every group write shares: parsing choices, "is the group open", "does the
principal manage it", "may this user belong to it" (a customer or partner contact only while the
group is shared with their account), "is this the last owner" — and the one way to record a
membership change in the event log (audience: the group's token and the user's).
"""

from __future__ import annotations

import enum
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import group_token, user_token
from domain.errors import Forbidden, ValidationFailed
from domain.events import GroupMembershipChanged, record_event
from domain.groups.models import GroupMembership, GroupRole, GroupShare, MembershipState
from domain.groups.queries import GroupAccess
from domain.people.models import User, UserKind
from domain.records.models import Contact
from domain.text import N_

ARCHIVED = N_("This group is archived: it can no longer be changed.")
MANAGERS_ONLY = N_("Only the group's owners and managers may do this.")
OWNERS_ONLY = N_("Only the group's owners may do this.")
MANDATORY = N_("Membership of this group is mandatory.")
LAST_OWNER = N_("A group needs at least one owner. Make someone else an owner first.")
BY_INVITATION = N_("This group can only be joined by invitation.")
UNKNOWN_USER = N_("There is no active user with this id.")
NOT_SHARED = N_("This group is not shared with this person's company.")
EXTERNALS_ARE_MEMBERS = N_("People from outside the company can only be plain members.")
NOT_ALLOWED = N_("This value is not allowed.")

E = TypeVar("E", bound=enum.StrEnum)


def parse_choice(cls: type[E], value: E | str, field: str) -> E:
    """An enum member from a form or JSON value; anything else is a ``ValidationFailed``."""
    try:
        return cls(value)
    except ValueError:
        raise ValidationFailed({field: NOT_ALLOWED}) from None


def check_open(access: GroupAccess) -> None:
    if access.group.is_archived and not access.principal.is_admin:
        raise Forbidden(ARCHIVED)


def check_manages(access: GroupAccess) -> None:
    if not access.may_manage:
        raise Forbidden(MANAGERS_ONLY)


async def check_may_belong(session: AsyncSession, group_id: int, user: User) -> None:
    """Staff may belong to any group; a contact only to a group shared with their account."""
    if user.kind is UserKind.STAFF:
        return
    shared = await session.scalar(
        select(GroupShare.account_id)
        .join(Contact, Contact.account_id == GroupShare.account_id)
        .where(GroupShare.group_id == group_id, Contact.user_id == user.id)
    )
    if shared is None:
        raise ValidationFailed({"user_id": NOT_SHARED})


async def active_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        raise ValidationFailed({"user_id": UNKNOWN_USER})
    return user


async def record_membership(
    session: AsyncSession,
    membership: GroupMembership,
    actor_id: int | None,
    *,
    removed: bool = False,
) -> None:
    state = "removed" if removed else membership.state.value
    await record_event(
        session,
        GroupMembershipChanged(
            membership.group_id, membership.user_id, state, membership.role.value
        ),
        {group_token(membership.group_id), user_token(membership.user_id)},
        actor_id=actor_id,
    )


async def check_not_last_owner(session: AsyncSession, membership: GroupMembership) -> None:
    if not membership.owns:
        return
    owners = await session.scalar(
        select(func.count()).where(
            GroupMembership.group_id == membership.group_id,
            GroupMembership.role == GroupRole.OWNER,
            GroupMembership.state == MembershipState.ACTIVE,
        )
    )
    if (owners or 0) <= 1:
        raise Forbidden(LAST_OWNER)
