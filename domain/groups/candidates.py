"""Who can be brought into a group: the people a manager may invite or add, and the customer and
partner accounts an owner may share the group with (and those it is shared with now).

A group's members page searches these by a typed text, so no page ever lists every user or
account of the company. The rules are the membership rules of ``domain.groups.checks``: active
staff users, and active logins of contacts whose account the group is shared with — minus anyone
who already holds a membership, a request or an invitation. Only those who manage the group get
people; only those who own it get accounts (``Forbidden`` otherwise, after the ``NotFound`` of a
group they may not find).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal
from domain.errors import Forbidden
from domain.groups.checks import MANAGERS_ONLY, OWNERS_ONLY
from domain.groups.models import GroupMembership, GroupShare
from domain.groups.queries import GroupAccess, access_group
from domain.matching import contains
from domain.people.models import User, UserKind
from domain.records.models import Account, AccountType, Contact

LIMIT = 10


@dataclass(frozen=True)
class Candidate:
    """A person who may be invited: externals carry their account's name as their label."""

    user_id: int
    name: str
    email: str
    kind: UserKind
    account_name: str | None

    @property
    def is_external(self) -> bool:
        return self.kind is not UserKind.STAFF


@dataclass(frozen=True)
class SharedAccount:
    account_id: int
    name: str
    type: AccountType


async def invite_candidates(
    session: AsyncSession, principal: Principal, group_id: int, q: str, *, limit: int = LIMIT
) -> list[Candidate]:
    """People whose name or email contains ``q`` and who may join the group, by name; nothing
    for a blank ``q``."""
    access = await access_group(session, principal, group_id)
    if not access.may_manage:
        raise Forbidden(MANAGERS_ONLY)
    matches = contains(q, User.name, User.email)
    if matches is None:
        return []
    taken = exists().where(GroupMembership.group_id == group_id, GroupMembership.user_id == User.id)
    shared = exists().where(
        GroupShare.group_id == group_id, GroupShare.account_id == Contact.account_id
    )
    rows = await session.execute(
        select(User.id, User.name, User.email, User.kind, Account.name)
        .outerjoin(Contact, Contact.user_id == User.id)
        .outerjoin(Account, Account.id == Contact.account_id)
        .where(
            User.is_active.is_(True),
            matches,
            ~taken,
            or_(User.kind == UserKind.STAFF, and_(Contact.id.is_not(None), shared)),
        )
        .order_by(User.name, User.id)
        .limit(limit)
    )
    return [
        Candidate(
            user_id=user_id,
            name=name,
            email=email,
            kind=kind,
            account_name=account if kind is not UserKind.STAFF else None,
        )
        for user_id, name, email, kind, account in rows
    ]


async def list_shares(session: AsyncSession, access: GroupAccess) -> list[SharedAccount]:
    """The accounts the group is shared with, by name — for those who manage it (others get an
    empty list: which customers a group includes is the owners' business)."""
    if not access.may_manage:
        return []
    rows = await session.execute(
        select(Account.id, Account.name, Account.type)
        .join(GroupShare, GroupShare.account_id == Account.id)
        .where(GroupShare.group_id == access.group.id)
        .order_by(Account.name, Account.id)
    )
    return [SharedAccount(account_id=i, name=n, type=t) for i, n, t in rows]


async def share_candidates(
    session: AsyncSession, principal: Principal, group_id: int, q: str, *, limit: int = LIMIT
) -> list[SharedAccount]:
    """Accounts whose name or code contains ``q`` and that the group is not shared with yet."""
    access = await access_group(session, principal, group_id)
    if not access.may_own:
        raise Forbidden(OWNERS_ONLY)
    matches = contains(q, Account.name, Account.code)
    if matches is None:
        return []
    already = exists().where(GroupShare.group_id == group_id, GroupShare.account_id == Account.id)
    rows = await session.execute(
        select(Account.id, Account.name, Account.type)
        .where(matches, ~already)
        .order_by(Account.name, Account.id)
        .limit(limit)
    )
    return [SharedAccount(account_id=i, name=n, type=t) for i, n, t in rows]
