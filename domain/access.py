"""Audiences: who may see what.

Every principal holds a set of tokens (``user:42``, ``role:employee``, ``account:31``,
``project:12``, ``hr``, …) and every visible thing carries an audience, a set of tokens. A
principal may see a thing exactly when the two sets meet. ``load_principal`` is the one place that
computes a principal's tokens; every other layer (SQL, search, realtime, push) uses them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
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


async def load_principal(session: AsyncSession, user: User) -> Principal:
    """Compute the principal of an active user: their roles, links and audience tokens."""
    roles = frozenset(
        (await session.scalars(select(UserRole.role).where(UserRole.user_id == user.id))).all()
    )
    tokens: set[str] = {user_token(user.id)}
    employee_id: int | None = None
    account_id: int | None = None
    project_ids: set[int] = set()

    if user.kind is UserKind.STAFF:
        tokens.add(EMPLOYEES)
        if Role.ADMIN in roles:
            tokens.add(ADMINS)
        if Role.HR in roles:
            tokens.add(HR)
        if Role.COMMUNICATION in roles:
            tokens.add("role:communication")
        employee_id = await session.scalar(select(Employee.id).where(Employee.user_id == user.id))
        if employee_id is not None:
            project_ids.update(
                (
                    await session.scalars(
                        select(ProjectMember.project_id).where(
                            ProjectMember.employee_id == employee_id
                        )
                    )
                ).all()
            )
            project_ids.update(
                (
                    await session.scalars(
                        select(Project.id).where(Project.manager_id == employee_id)
                    )
                ).all()
            )
    else:
        # An external's only standing is their contact's account; roles never apply to them.
        roles = frozenset()
        tokens.add(f"role:{user.kind.value}")
        account_id = await session.scalar(
            select(Contact.account_id).where(Contact.user_id == user.id)
        )
        if account_id is not None:
            tokens.add(account_token(account_id))
            if user.kind is UserKind.PARTNER:
                project_ids.update(
                    (
                        await session.scalars(
                            select(ProjectPartner.project_id).where(
                                ProjectPartner.account_id == account_id
                            )
                        )
                    ).all()
                )
            else:
                project_ids.update(
                    (
                        await session.scalars(
                            select(Project.id).where(Project.account_id == account_id)
                        )
                    ).all()
                )

    tokens.update(project_token(p) for p in project_ids)
    # Only active memberships count; an external's only while the group is shared with their
    # account (the actions enforce it too, this keeps a stale row from ever leaking).
    groups = select(GroupMembership.group_id).where(
        GroupMembership.user_id == user.id, GroupMembership.state == MembershipState.ACTIVE
    )
    if user.kind is not UserKind.STAFF:
        groups = groups.join(
            GroupShare,
            (GroupShare.group_id == GroupMembership.group_id)
            & (GroupShare.account_id == account_id),
        )
    tokens.update(group_token(g) for g in (await session.scalars(groups)).all())
    return Principal(
        user_id=user.id,
        name=user.name,
        kind=user.kind,
        roles=roles,
        tokens=frozenset(tokens),
        employee_id=employee_id,
        account_id=account_id,
    )
