"""Mandatory groups: membership by department or role, kept in step by a sync.

An admin gives a group its rules (``do_set_mandatory_rules``); a group with rules is mandatory:
nobody may leave it, and members the rules made cannot be removed by hand. A department rule takes
the employees of that department and of all its sub-departments; a role rule takes the staff
users holding that role, and the role "employee" takes every staff user. Only active staff users
match; customers and partners never do.

``do_sync_mandatory_members`` adds the members the rules call for and removes those they no longer
do. It is idempotent — run it after any change to users, roles, employees or departments. Rule
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
        for user_id in sorted(wanted):
            membership = current.get(user_id)
            if membership is None:
                membership = GroupMembership(
                    group_id=group.id,
                    user_id=user_id,
                    role=GroupRole.MEMBER,
                    state=MembershipState.ACTIVE,
                    via_rule=True,
                )
                session.add(membership)
            elif membership.is_active:
                membership.via_rule = True  # no change of token: no event
                continue
            else:
                membership.state, membership.via_rule = MembershipState.ACTIVE, True
            await session.flush()
            await record_membership(session, membership, actor_id)
            changes += 1
        for user_id, membership in current.items():
            if user_id in wanted or not membership.via_rule:
                continue
            if membership.role is not GroupRole.MEMBER:
                membership.via_rule = False
                continue
            await session.delete(membership)
            await session.flush()
            await record_membership(session, membership, actor_id, removed=True)
            changes += 1
    await session.flush()
    return changes
