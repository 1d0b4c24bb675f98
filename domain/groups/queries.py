"""Reading groups for a principal: ``access_group``, the group list and the members list.

Who finds a group:

- admins: every group;
- staff: public and private groups, and hidden groups where they are a member or invited;
- customers and partners: only groups shared with their account where they are a member or
  invited (an invitation must be visible to be accepted).

A group nobody may find answers ``NotFound``, exactly like a missing one. Archived groups stay
visible (read-only, still searchable). A private or hidden group's *content* is for its active
members only (``content_audience``); a public group's content is for all staff as well.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, func, literal, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from domain.access import ADMINS, EMPLOYEES, Principal, group_token
from domain.errors import NotFound, ValidationFailed
from domain.groups.models import (
    Group,
    GroupMembership,
    GroupRole,
    GroupShare,
    GroupVisibility,
    MembershipState,
)
from domain.matching import contains
from domain.people.models import User, UserKind
from domain.records.models import Account, Contact
from domain.text import N_

PAGE_SIZE = 50
SEARCH_MAX = 200
BAD_CURSOR = N_("This page link is no longer valid. Start from the first page.")
SEEN_STATES = (MembershipState.ACTIVE, MembershipState.INVITED)


def group_audience(group: Group) -> frozenset[str]:
    """Who may hear that the group itself changed: everyone who may find it (see module doc)."""
    tokens = {group_token(group.id), ADMINS}
    if group.visibility is not GroupVisibility.HIDDEN:
        tokens.add(EMPLOYEES)
    return frozenset(tokens)


def content_audience(group: Group) -> frozenset[str]:
    """The audience of what is posted in the group."""
    if group.visibility is GroupVisibility.PUBLIC:
        return frozenset({group_token(group.id), EMPLOYEES})
    return frozenset({group_token(group.id)})


@dataclass(frozen=True)
class GroupAccess:
    """A group as one principal may see it, with their own membership (if any)."""

    group: Group
    membership: GroupMembership | None
    principal: Principal

    @property
    def is_member(self) -> bool:
        return self.membership is not None and self.membership.is_active

    @property
    def may_manage(self) -> bool:
        """Approve, invite, add and remove members; edit the name and description."""
        return self.principal.is_admin or (self.membership is not None and self.membership.manages)

    @property
    def may_own(self) -> bool:
        """Set roles, archive, share with accounts."""
        return self.principal.is_admin or (self.membership is not None and self.membership.owns)

    @property
    def may_see_content(self) -> bool:
        return self.principal.can_see(content_audience(self.group))

    @property
    def may_post(self) -> bool:
        return self.is_member and not self.group.is_archived


def visible_groups(principal: Principal) -> ColumnElement[bool]:
    """The SQL condition "the principal may find this group"."""
    if principal.is_admin:
        return true()
    # An alias, so that a query which joins the reader's own membership does not correlate it.
    mine = aliased(GroupMembership)
    seen = exists().where(
        mine.group_id == Group.id,
        mine.user_id == principal.user_id,
        mine.state.in_(SEEN_STATES),
    )
    if principal.is_staff:
        return or_(Group.visibility != GroupVisibility.HIDDEN, seen)
    if principal.account_id is None:
        return literal(False)
    shared = exists().where(
        GroupShare.group_id == Group.id, GroupShare.account_id == principal.account_id
    )
    return and_(shared, seen)


async def access_group(session: AsyncSession, principal: Principal, group_id: int) -> GroupAccess:
    """Load a group for a principal, or ``NotFound`` if it is missing or they may not find it."""
    group = await session.scalar(
        select(Group).where(Group.id == group_id, visible_groups(principal))
    )
    if group is None:
        raise NotFound(f"group {group_id}")
    membership = await session.get(GroupMembership, (group_id, principal.user_id))
    return GroupAccess(group=group, membership=membership, principal=principal)


@dataclass(frozen=True)
class GroupRow:
    group: Group
    state: MembershipState | None  # the reader's own membership
    role: GroupRole | None


@dataclass(frozen=True)
class GroupPage:
    rows: list[GroupRow]
    next: str | None


def _encode_cursor(name: str, group_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([name, group_id]).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, int]:
    # A small codec of its own: domain.records.lists has a general one, but that module is being
    # reshaped; move both to one shared module once it settles.
    try:
        if len(cursor) > 1024:
            raise ValueError(cursor)
        name, group_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(name, str) or type(group_id) is not int or not 0 <= group_id < 2**31:
            raise ValueError(cursor)
        return name, group_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed({"cursor": BAD_CURSOR}) from None


async def list_groups(
    session: AsyncSession,
    principal: Principal,
    *,
    mine: bool = False,
    q: str = "",
    cursor: str = "",
    limit: int = PAGE_SIZE,
) -> GroupPage:
    """One page of the groups a principal may find, by name; ``mine`` keeps only those they are
    an active member of, ``q`` those whose name contains it. ``cursor`` is the ``next`` of the
    page before (with the same ``mine`` and ``q``)."""
    mine_ = GroupMembership.user_id == principal.user_id
    stmt = (
        select(Group, GroupMembership.state, GroupMembership.role)
        .outerjoin(GroupMembership, and_(GroupMembership.group_id == Group.id, mine_))
        .where(visible_groups(principal))
    )
    named = contains(q, Group.name, limit=SEARCH_MAX)
    if named is not None:
        stmt = stmt.where(named)
    if mine:
        stmt = stmt.where(GroupMembership.state == MembershipState.ACTIVE)
    if cursor:
        name, after_id = _decode_cursor(cursor)
        stmt = stmt.where(or_(Group.name > name, and_(Group.name == name, Group.id > after_id)))
    rows = (await session.execute(stmt.order_by(Group.name, Group.id).limit(limit + 1))).all()
    page = [GroupRow(group=g, state=s, role=r) for g, s, r in rows[:limit]]
    more = len(rows) > limit
    return GroupPage(
        rows=page,
        next=_encode_cursor(page[-1].group.name, page[-1].group.id) if more and page else None,
    )


@dataclass(frozen=True)
class MemberRow:
    user_id: int
    name: str
    role: GroupRole
    state: MembershipState
    via_rule: bool
    kind: UserKind
    account_name: str | None  # for externals: the company they belong to, shown as their label

    @property
    def is_external(self) -> bool:
        return self.kind is not UserKind.STAFF


async def list_members(
    session: AsyncSession, principal: Principal, group_id: int
) -> list[MemberRow]:
    """The members of a group, by name, externals labelled with their account. Those who may not
    see the group's content get ``NotFound``; pending requests and invitations are listed only
    for those who manage the group."""
    access = await access_group(session, principal, group_id)
    if not (access.may_see_content or access.may_manage):
        raise NotFound(f"group {group_id}")
    states = list(MembershipState) if access.may_manage else [MembershipState.ACTIVE]
    rows = await session.execute(
        select(GroupMembership, User.name, User.kind, Account.name)
        .join(User, User.id == GroupMembership.user_id)
        .outerjoin(Contact, Contact.user_id == User.id)
        .outerjoin(Account, Account.id == Contact.account_id)
        .where(GroupMembership.group_id == group_id, GroupMembership.state.in_(states))
        .order_by(User.name, User.id)
    )
    return [
        MemberRow(
            user_id=m.user_id,
            name=name,
            role=m.role,
            state=m.state,
            via_rule=m.via_rule,
            kind=kind,
            account_name=account_name if kind is not UserKind.STAFF else None,
        )
        for m, name, kind, account_name in rows
    ]


@dataclass(frozen=True)
class MemberCounts:
    """How many active members a group has, and — for those who manage it — how many asked to
    join or were invited (0 for everyone else)."""

    active: int
    requested: int
    invited: int


async def member_counts(session: AsyncSession, access: GroupAccess) -> MemberCounts:
    """The counts shown in a group's header; anyone who may find the group sees ``active``."""
    rows = await session.execute(
        select(GroupMembership.state, func.count())
        .where(GroupMembership.group_id == access.group.id)
        .group_by(GroupMembership.state)
    )
    counts = {state: n for state, n in rows}
    pending = access.may_manage
    return MemberCounts(
        active=counts.get(MembershipState.ACTIVE, 0),
        requested=counts.get(MembershipState.REQUESTED, 0) if pending else 0,
        invited=counts.get(MembershipState.INVITED, 0) if pending else 0,
    )
