"""Mandatory groups: membership by department or role, kept in step by a sync.

An admin gives a group its rules (``do_set_mandatory_rules``); a group with rules is mandatory:
nobody may leave it, and members the rules made cannot be removed by hand. A department rule takes
the employees of that department and of all its sub-departments; a role rule takes the staff
users holding that role, and the role "employee" takes every staff user. Only active staff users
match; customers and partners never do.

``do_sync_mandatory_members`` adds the members the rules call for and removes those they no longer
do. It is idempotent — run it after any change to users, roles, employees or departments;
``do_sync_mandatory_user`` does the same for one user (the administration actions that change a
user's roles or activation call it). Rule
members who were since made owner or manager stay on as appointed members. Archived groups are
left as they are (read-only). Clearing a group's rules keeps its members, who may then leave.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal
from domain.errors import Forbidden, ValidationFailed
from domain.events import GroupChanged, record_event
from domain.groups.checks import check_open, record_membership
from domain.groups.models import (
    EVERY_EMPLOYEE,
    Group,
    GroupMembership,
    GroupRole,
    GroupRule,
    MembershipState,
)
from domain.groups.queries import access_group, group_audience
from domain.people.models import Role, User, UserKind, UserRole
from domain.records.models import Department, Employee
from domain.text import N_

ADMINS_ONLY = N_("Only administrators may make a group mandatory.")
ONE_OF = N_("Give either a department or a role.")
UNKNOWN_DEPARTMENT = N_("There is no such department.")
RULE_ROLES = (EVERY_EMPLOYEE, *(r.value for r in Role))


@dataclass(frozen=True)
class MandatoryRule:
    department_id: int | None = None
    role: str | None = None


async def check_set_mandatory_rules(
    session: AsyncSession, principal: Principal, group_id: int, rules: Sequence[MandatoryRule]
) -> Group:
    access = await access_group(session, principal, group_id)
    if not principal.is_admin:
        raise Forbidden(ADMINS_ONLY)
    check_open(access)
    errors: dict[str, str] = {}
    for i, rule in enumerate(rules):
        if (rule.department_id is None) == (rule.role is None):
            errors[f"rules.{i}"] = ONE_OF
        elif rule.role is not None and rule.role not in RULE_ROLES:
            errors[f"rules.{i}.role"] = N_("This value is not allowed.")
        elif rule.department_id is not None and not await session.get(
            Department, rule.department_id
        ):
            errors[f"rules.{i}.department_id"] = UNKNOWN_DEPARTMENT
    if errors:
        raise ValidationFailed(errors)
    return access.group


async def do_set_mandatory_rules(
    session: AsyncSession, principal: Principal, group_id: int, rules: Sequence[MandatoryRule]
) -> int:
    """Replace a group's rules (none: the group is no longer mandatory) and sync its members;
    returns the number of memberships the sync changed."""
    group = await check_set_mandatory_rules(session, principal, group_id, rules)
    for old in (
        await session.scalars(select(GroupRule).where(GroupRule.group_id == group_id))
    ).all():
        await session.delete(old)
    session.add_all(
        GroupRule(group_id=group_id, department_id=r.department_id, role=r.role)
        for r in dict.fromkeys(rules)
    )
    group.is_mandatory = bool(rules)
    if not rules:
        await session.execute(
            update(GroupMembership)
            .where(GroupMembership.group_id == group_id)
            .values(via_rule=False)
        )
    await session.flush()
    await record_event(
        session,
        GroupChanged(group_id, ("rules",)),
        group_audience(group),
        actor_id=principal.user_id,
    )
    return await do_sync_mandatory_members(
        session, group_ids=[group_id], actor_id=principal.user_id
    )


async def list_rules(
    session: AsyncSession, principal: Principal, group_id: int
) -> list[MandatoryRule]:
    """A group's rules, for the administrators who set them (``Forbidden`` for anyone else)."""
    await access_group(session, principal, group_id)
    if not principal.is_admin:
        raise Forbidden(ADMINS_ONLY)
    rules = await session.scalars(
        select(GroupRule).where(GroupRule.group_id == group_id).order_by(GroupRule.id)
    )
    return [MandatoryRule(department_id=r.department_id, role=r.role) for r in rules]


@dataclass(frozen=True)
class Choice:
    id: int
    name: str


async def department_choices(session: AsyncSession, principal: Principal) -> list[Choice]:
    """Every department by name, to pick rules from (administrators only)."""
    if not principal.is_admin:
        raise Forbidden(ADMINS_ONLY)
    rows = await session.execute(
        select(Department.id, Department.name).order_by(Department.name, Department.id)
    )
    return [Choice(id=i, name=n) for i, n in rows]


def _with_subdepartments(roots: Iterable[int], parents: dict[int, int | None]) -> set[int]:
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(child)
    found: set[int] = set()
    stack = list(roots)
    while stack:  # the "found" check also ends a parent cycle in bad data
        department = stack.pop()
        if department not in found:
            found.add(department)
            stack.extend(children.get(department, ()))
    return found


async def _matching_users(session: AsyncSession, rules: Sequence[GroupRule]) -> set[int]:
    staff = select(User.id).where(User.kind == UserKind.STAFF, User.is_active.is_(True))
    users: set[int] = set()
    roots = {r.department_id for r in rules if r.department_id is not None}
    if roots:
        rows = await session.execute(select(Department.id, Department.parent_id))
        parents: dict[int, int | None] = {d: parent for d, parent in rows}
        departments = _with_subdepartments(roots, parents)
        linked = await session.scalars(
            select(Employee.user_id).where(
                Employee.department_id.in_(departments), Employee.user_id.in_(staff)
            )
        )
        users.update(u for u in linked if u is not None)
    roles = {r.role for r in rules if r.role is not None}
    if EVERY_EMPLOYEE in roles:
        users.update((await session.scalars(staff)).all())
    elif roles:
        users.update(
            (
                await session.scalars(
                    select(UserRole.user_id).where(
                        UserRole.role.in_([Role(r) for r in roles]), UserRole.user_id.in_(staff)
                    )
                )
            ).all()
        )
    return users


async def do_sync_mandatory_members(
    session: AsyncSession, *, group_ids: Sequence[int] | None = None, actor_id: int | None = None
) -> int:
    """Bring the members of mandatory groups (all, or ``group_ids``) in line with their rules;
    returns how many memberships changed, 0 when all was in order."""
    query = select(Group).where(Group.is_mandatory.is_(True), Group.archived_at.is_(None))
    if group_ids is not None:
        query = query.where(Group.id.in_(group_ids))
    changes = 0
    for group in (await session.scalars(query.order_by(Group.id))).all():
        rules = (
            await session.scalars(select(GroupRule).where(GroupRule.group_id == group.id))
        ).all()
        wanted = await _matching_users(session, rules)
        current = {
            m.user_id: m
            for m in (
                await session.scalars(
                    select(GroupMembership).where(GroupMembership.group_id == group.id)
                )
            ).all()
        }
        for user_id in sorted(wanted | set(current)):
            changes += await _bring_in_line(
                session, group.id, user_id, current.get(user_id), user_id in wanted, actor_id
            )
    await session.flush()
    return changes


async def _bring_in_line(
    session: AsyncSession,
    group_id: int,
    user_id: int,
    membership: GroupMembership | None,
    wanted: bool,
    actor_id: int | None,
) -> int:
    """Make one user's membership of one mandatory group what its rules say; 1 when that
    changed the user's token (and was recorded), else 0."""
    if wanted:
        if membership is None:
            membership = GroupMembership(
                group_id=group_id,
                user_id=user_id,
                role=GroupRole.MEMBER,
                state=MembershipState.ACTIVE,
                via_rule=True,
            )
            session.add(membership)
        elif membership.is_active:
            membership.via_rule = True  # no change of token: no event
            return 0
        else:
            membership.state, membership.via_rule = MembershipState.ACTIVE, True
        await session.flush()
        await record_membership(session, membership, actor_id)
        return 1
    if membership is None or not membership.via_rule:
        return 0
    if membership.role is not GroupRole.MEMBER:
        membership.via_rule = False
        return 0
    await session.delete(membership)
    await session.flush()
    await record_membership(session, membership, actor_id, removed=True)
    return 1


async def do_sync_mandatory_user(
    session: AsyncSession, user_id: int, *, actor_id: int | None = None
) -> int:
    """``do_sync_mandatory_members`` for one user, across every mandatory group: what to run
    after that user's roles, activation or employee record changed. A few small queries however
    many users the company has; returns how many of their memberships changed."""
    rules = (
        await session.scalars(
            select(GroupRule)
            .join(Group, Group.id == GroupRule.group_id)
            .where(Group.is_mandatory.is_(True), Group.archived_at.is_(None))
            .order_by(GroupRule.group_id, GroupRule.id)
        )
    ).all()
    if not rules:
        return 0
    user = await session.get(User, user_id)
    matches: set[int] = set()  # the groups whose rules take this user
    if user is not None and user.is_active and user.kind is UserKind.STAFF:
        roles = {EVERY_EMPLOYEE} | {
            r.value
            for r in (
                await session.scalars(select(UserRole.role).where(UserRole.user_id == user_id))
            ).all()
        }
        departments: set[int] = set()
        if any(r.department_id is not None for r in rules):
            department = await session.scalar(
                select(Employee.department_id).where(Employee.user_id == user_id)
            )
            if department is not None:
                rows = await session.execute(select(Department.id, Department.parent_id))
                departments = _with_ancestors(department, {d: parent for d, parent in rows})
        matches = {r.group_id for r in rules if r.role in roles or r.department_id in departments}
    memberships = {
        m.group_id: m
        for m in (
            await session.scalars(
                select(GroupMembership).where(
                    GroupMembership.user_id == user_id,
                    GroupMembership.group_id.in_({r.group_id for r in rules}),
                )
            )
        ).all()
    }
    changes = 0
    for group_id in sorted({r.group_id for r in rules}):
        changes += await _bring_in_line(
            session, group_id, user_id, memberships.get(group_id), group_id in matches, actor_id
        )
    return changes


def _with_ancestors(department: int, parents: dict[int, int | None]) -> set[int]:
    """The department and every department above it: a rule on any of them takes its staff."""
    found: set[int] = set()
    current: int | None = department
    while current is not None and current not in found:  # the check also ends a cycle
        found.add(current)
        current = parents.get(current)
    return found
