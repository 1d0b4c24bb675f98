"""Audiences: who may see what.

Every principal holds a set of tokens (``user:42``, ``role:employee``, ``account:31``,
``project:12``, ``hr``, …) and every visible thing carries an audience, a set of tokens. A
principal may see a thing exactly when the two sets meet. ``load_principal`` is the one place that
computes a principal's tokens; every other layer (SQL, search, realtime, push) uses them.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CompoundSelect,
    bindparam,
    case,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from domain.groups.models import GroupMembership, GroupShare, MembershipState
from domain.people.models import Role, User, UserKind, UserRole
from domain.records.models import Contact, Employee, Project, ProjectMember, ProjectPartner

EMPLOYEES = "role:employee"
ADMINS = "role:admin"
HR = "hr"


def user_token(user_id: int) -> str:
    return f"user:{user_id}"


def account_token(account_id: int) -> str:
    return f"account:{account_id}"


def project_token(project_id: int) -> str:
    return f"project:{project_id}"


def group_token(group_id: int) -> str:
    return f"group:{group_id}"


@dataclass(frozen=True)
class Principal:
    """A signed-in user as the rules see them."""

    user_id: int
    name: str
    kind: UserKind
    roles: frozenset[Role] = frozenset()
    tokens: frozenset[str] = field(default_factory=frozenset)
    employee_id: int | None = None
    account_id: int | None = None

    @property
    def is_staff(self) -> bool:
        return self.kind is UserKind.STAFF

    @property
    def is_external(self) -> bool:
        return self.kind is not UserKind.STAFF

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    @property
    def is_hr(self) -> bool:
        return Role.HR in self.roles

    def can_see(self, audience: Iterable[str]) -> bool:
        return not self.tokens.isdisjoint(audience)


# Tags of the rows ``load_principal``'s one links query returns.
_EMPLOYEE, _ACCOUNT, _PROJECT, _GROUP, _ROLE = 0, 1, 2, 3, 4
# A role travels in the links query's integer column as its place in ``Role``.
_ROLES = tuple(Role)


def _tag(tag: int) -> ColumnElement[int]:
    # Inlined integer literals, so PostgreSQL types the UNION's first column without casts.
    return literal_column(str(tag))


# The users a links query is for, bound at execution (``{"user_ids": [...]}``).
_USER_IDS: BindParameter[list[int]] = bindparam("user_ids", expanding=True)


@functools.cache
def _links_query(kind: UserKind) -> CompoundSelect[int, int, int]:
    """One statement for everything users of one kind are linked to, as ``(tag, user id, id)``
    rows: a staff member's roles (as places in ``Role``), their employee or contact's account,
    their projects and their groups.

    It runs on every signed-in request (for one user), so it replaces six round trips; each
    branch reaches the employee or contact by joining on the user, which is unique on both
    tables. Built once per kind of user, with the users as a bound parameter: constructing this
    union took longer than SQLite took to answer it.
    """
    ids = _USER_IDS
    active = GroupMembership.user_id.in_(ids) & (GroupMembership.state == MembershipState.ACTIVE)
    if kind is UserKind.STAFF:
        mine = Employee.user_id.in_(ids)
        role = case(
            *((UserRole.role == r, literal_column(str(n))) for n, r in enumerate(_ROLES)),
            else_=literal_column("-1"),
        )
        return union_all(
            select(_tag(_ROLE), UserRole.user_id, role).where(UserRole.user_id.in_(ids)),
            select(_tag(_EMPLOYEE), Employee.user_id, Employee.id).where(mine),
            select(_tag(_PROJECT), Employee.user_id, ProjectMember.project_id)
            .join(Employee, Employee.id == ProjectMember.employee_id)
            .where(mine),
            select(_tag(_PROJECT), Employee.user_id, Project.id)
            .join(Employee, Employee.id == Project.manager_id)
            .where(mine),
            select(_tag(_GROUP), GroupMembership.user_id, GroupMembership.group_id).where(active),
        )
    mine = Contact.user_id.in_(ids)
    if kind is UserKind.PARTNER:
        projects = select(_tag(_PROJECT), Contact.user_id, ProjectPartner.project_id).join(
            Contact, Contact.account_id == ProjectPartner.account_id
        )
    else:
        projects = select(_tag(_PROJECT), Contact.user_id, Project.id).join(
            Contact, Contact.account_id == Project.account_id
        )
    # An external's membership counts only while the group is shared with their account (the
    # actions enforce it too, this keeps a stale row from ever leaking).
    groups = (
        select(_tag(_GROUP), GroupMembership.user_id, GroupMembership.group_id)
        .join(GroupShare, GroupShare.group_id == GroupMembership.group_id)
        .join(Contact, Contact.account_id == GroupShare.account_id)
        .where(active, Contact.user_id == GroupMembership.user_id, mine)
    )
    return union_all(
        select(_tag(_ACCOUNT), Contact.user_id, Contact.account_id).where(mine),
        projects.where(mine),
        groups,
    )


async def load_principal(session: AsyncSession, user: User) -> Principal:
    """Compute the principal of an active user: their roles, links and audience tokens.

    One statement (roles and links); externals' roles never apply.
    """
    return (await load_principals(session, [user]))[user.id]


async def load_principals(session: AsyncSession, users: Sequence[User]) -> dict[int, Principal]:
    """``load_principal`` for many users at once, by user id: one statement per kind of user
    (a hub re-checks thousands of open sockets this way, not one by one). Callers keep
    ``users`` to a few hundred per call."""
    by_kind: dict[UserKind, list[int]] = defaultdict(list)
    for user in users:
        by_kind[user.kind].append(user.id)
    roles: dict[int, set[Role]] = defaultdict(set)
    links: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for kind, ids in by_kind.items():
        for tag, user_id, value in await session.execute(_links_query(kind), {"user_ids": ids}):
            if tag == _ROLE:
                if value >= 0:
                    roles[user_id].add(_ROLES[value])
            else:
                links[user_id].append((tag, value))
    return {user.id: _principal(user, frozenset(roles[user.id]), links[user.id]) for user in users}


def _principal(user: User, roles: frozenset[Role], links: Iterable[tuple[int, int]]) -> Principal:
    tokens: set[str] = {user_token(user.id)}
    employee_id: int | None = None
    account_id: int | None = None
    if user.kind is UserKind.STAFF:
        tokens.add(EMPLOYEES)
        if Role.ADMIN in roles:
            tokens.add(ADMINS)
        if Role.HR in roles:
            tokens.add(HR)
        if Role.COMMUNICATION in roles:
            tokens.add("role:communication")
    else:
        roles = frozenset()
        tokens.add(f"role:{user.kind.value}")
    for tag, value in links:
        if tag == _EMPLOYEE:
            employee_id = value
        elif tag == _ACCOUNT:
            account_id = value
            tokens.add(account_token(value))
        elif tag == _PROJECT:
            tokens.add(project_token(value))
        else:
            tokens.add(group_token(value))
    return Principal(
        user_id=user.id,
        name=user.name,
        kind=user.kind,
        roles=roles,
        tokens=frozenset(tokens),
        employee_id=employee_id,
        account_id=account_id,
    )
