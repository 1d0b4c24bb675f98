"""Writes about groups themselves: create, update, archive, share with accounts and unshare.

Any staff user may create a group and becomes its owner. Owners and managers edit the name,
description and visibility; owners archive and share (admins may do all of it on any group).
Only admins take a group out of the archive: for everyone else an archived group is read-only,
and that includes its archived state.
Customers and partners create and manage no groups. An archived group is read-only for everyone
but admins. Unsharing an account removes its contacts' memberships, requests and invitations, so
their ``group:<id>`` token goes with it.

Member flows live in ``domain.groups.membership``, mandatory groups in
``domain.groups.mandatory``, the checks they share in ``domain.groups.checks``.
Every ``do_*`` runs its ``check_*`` first and records its event in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal
from domain.db import utcnow
from domain.errors import Forbidden, ValidationFailed
from domain.events import GroupChanged, record_event
from domain.groups.checks import (
    OWNERS_ONLY,
    check_manages,
    check_open,
    parse_choice,
    record_membership,
)
from domain.groups.mandatory import do_sync_mandatory_members
from domain.groups.models import (
    DESCRIPTION_MAX,
    NAME_MAX,
    Group,
    GroupMembership,
    GroupRole,
    GroupShare,
    GroupVisibility,
    MembershipState,
)
from domain.groups.queries import GroupAccess, access_group, group_audience
from domain.records.models import Account, Contact
from domain.text import N_

REQUIRED = N_("This field is required.")
TOO_LONG = N_("This is too long.")
STAFF_ONLY = N_("Only employees may create groups.")
ADMINS_UNARCHIVE = N_("Only administrators may take a group out of the archive.")
UNKNOWN_ACCOUNT = N_("There is no such account.")


@dataclass(frozen=True)
class GroupInput:
    name: str
    description: str
    visibility: GroupVisibility


def check_group_input(name: str, description: str, visibility: GroupVisibility | str) -> GroupInput:
    """Clean and validate a group form; every bad field is reported at once."""
    errors: dict[str, str] = {}
    name = " ".join(name.replace("\x00", "").split())
    description = description.replace("\x00", "").strip()
    if not name:
        errors["name"] = REQUIRED
    elif len(name) > NAME_MAX:
        errors["name"] = TOO_LONG
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = TOO_LONG
    try:
        chosen = parse_choice(GroupVisibility, visibility, "visibility")
    except ValidationFailed as error:
        errors.update(error.errors)
    if errors:
        raise ValidationFailed(errors)
    return GroupInput(name=name, description=description, visibility=chosen)


async def _record_group(
    session: AsyncSession, group: Group, fields: tuple[str, ...], actor_id: int
) -> None:
    await record_event(
        session, GroupChanged(group.id, fields), group_audience(group), actor_id=actor_id
    )


def check_create_group(
    principal: Principal, name: str, description: str, visibility: GroupVisibility | str
) -> GroupInput:
    if not principal.is_staff:
        raise Forbidden(STAFF_ONLY)
    return check_group_input(name, description, visibility)


async def do_create_group(
    session: AsyncSession,
    principal: Principal,
    *,
    name: str,
    description: str = "",
    visibility: GroupVisibility | str = GroupVisibility.PUBLIC,
) -> Group:
    """Create a group with its creator as owner."""
    data = check_create_group(principal, name, description, visibility)
    group = Group(
        name=data.name,
        description=data.description,
        visibility=data.visibility,
        is_mandatory=False,
        created_by_id=principal.user_id,
        created_at=utcnow(),
    )
    session.add(group)
    await session.flush()
    owner = GroupMembership(
        group_id=group.id,
        user_id=principal.user_id,
        role=GroupRole.OWNER,
        state=MembershipState.ACTIVE,
        via_rule=False,
    )
    session.add(owner)
    await session.flush()
    await _record_group(session, group, ("created",), principal.user_id)
    await record_membership(session, owner, principal.user_id)
    return group


async def check_update_group(
    session: AsyncSession,
    principal: Principal,
    group_id: int,
    name: str,
    description: str,
    visibility: GroupVisibility | str,
) -> tuple[GroupAccess, GroupInput]:
    access = await access_group(session, principal, group_id)
    check_manages(access)
    check_open(access)
    return access, check_group_input(name, description, visibility)


async def do_update_group(
    session: AsyncSession,
    principal: Principal,
    group_id: int,
    *,
    name: str,
    description: str,
    visibility: GroupVisibility | str,
) -> Group:
    access, data = await check_update_group(
        session, principal, group_id, name, description, visibility
    )
    group = access.group
    # The audience before the change hears of it too: a group made hidden tells staff it went.
    before = group_audience(group)
    changed = tuple(
        field
        for field, value in (
            ("name", data.name),
            ("description", data.description),
            ("visibility", data.visibility),
        )
        if getattr(group, field) != value
    )
    if not changed:
        return group
    group.name, group.description, group.visibility = data.name, data.description, data.visibility
    await session.flush()
    await record_event(
        session,
        GroupChanged(group.id, changed),
        before | group_audience(group),
        actor_id=principal.user_id,
    )
    return group


async def check_owns(session: AsyncSession, principal: Principal, group_id: int) -> GroupAccess:
    access = await access_group(session, principal, group_id)
    if not access.may_own:
        raise Forbidden(OWNERS_ONLY)
    check_open(access)
    return access


async def do_archive_group(session: AsyncSession, principal: Principal, group_id: int) -> Group:
    """Make a group read-only; it stays visible and searchable."""
    group = (await check_owns(session, principal, group_id)).group
    if group.is_archived:
        return group
    group.archived_at = utcnow()
    await session.flush()
    await _record_group(session, group, ("archived",), principal.user_id)
    return group


async def check_unarchive_group(
    session: AsyncSession, principal: Principal, group_id: int
) -> GroupAccess:
    access = await access_group(session, principal, group_id)
    if not principal.is_admin:
        raise Forbidden(ADMINS_UNARCHIVE)
    return access


async def do_unarchive_group(session: AsyncSession, principal: Principal, group_id: int) -> Group:
    """Open an archived group again (admins only); a group that is not archived is left as is."""
    group = (await check_unarchive_group(session, principal, group_id)).group
    if not group.is_archived:
        return group
    group.archived_at = None
    await session.flush()
    await _record_group(session, group, ("unarchived",), principal.user_id)
    # The sync left the group alone while it was archived; catch up with its rules now.
    await do_sync_mandatory_members(session, group_ids=[group.id], actor_id=principal.user_id)
    return group


async def check_share_group(
    session: AsyncSession, principal: Principal, group_id: int, account_id: int
) -> GroupAccess:
    access = await check_owns(session, principal, group_id)
    if await session.get(Account, account_id) is None:
        raise ValidationFailed({"account_id": UNKNOWN_ACCOUNT})
    return access


async def do_share_group(
    session: AsyncSession, principal: Principal, group_id: int, account_id: int
) -> None:
    """Let the contacts of a customer or partner account be invited into the group."""
    access = await check_share_group(session, principal, group_id, account_id)
    if await session.get(GroupShare, (group_id, account_id)) is not None:
        return
    session.add(GroupShare(group_id=group_id, account_id=account_id))
    await session.flush()
    await _record_group(session, access.group, ("shared_accounts",), principal.user_id)


async def do_unshare_group(
    session: AsyncSession, principal: Principal, group_id: int, account_id: int
) -> None:
    """Stop sharing with an account and remove its contacts from the group."""
    access = await check_share_group(session, principal, group_id, account_id)
    share = await session.get(GroupShare, (group_id, account_id))
    if share is None:
        return
    await session.delete(share)
    memberships = (
        await session.scalars(
            select(GroupMembership)
            .join(Contact, Contact.user_id == GroupMembership.user_id)
            .where(GroupMembership.group_id == group_id, Contact.account_id == account_id)
        )
    ).all()
    for membership in memberships:
        await session.delete(membership)
    await session.flush()
    await _record_group(session, access.group, ("shared_accounts",), principal.user_id)
    for membership in memberships:
        await record_membership(session, membership, principal.user_id, removed=True)
