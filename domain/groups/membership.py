"""Membership flows: join, request and its approval, invitation and its acceptance, leave, and
member management by a group's owners and managers.

Who may do what (admins may do everything, on every group, archived or not):

- staff join a public group at once; joining a private group asks for approval; hidden and
  mandatory groups are joined only by invitation or by their managers (or their rules);
- owners and managers approve and decline requests, invite, add and remove plain members;
- only owners set roles and remove owners or managers; the last owner can neither leave nor be
  demoted or removed;
- nobody leaves a mandatory group, and members made by its rules cannot be removed by hand;
- a customer or partner contact may belong to a group only while it is shared with their
  account, and only as a plain member (checked on every way in: invite, add, accept);
- an archived group refuses every membership change except by an admin.

Every ``do_*`` runs its ``check_*`` first and records a ``GroupMembershipChanged`` event (audience:
the group's token and the user's) in the caller's transaction; a call that changes nothing
records nothing.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal
from domain.errors import Forbidden, NotFound, ValidationFailed
from domain.groups.checks import (
    BY_INVITATION,
    EXTERNALS_ARE_MEMBERS,
    MANDATORY,
    OWNERS_ONLY,
    active_user,
    check_manages,
    check_may_belong,
    check_not_last_owner,
    check_open,
    parse_choice,
    record_membership,
)
from domain.groups.models import (
    GroupMembership,
    GroupRole,
    GroupVisibility,
    MembershipState,
)
from domain.groups.queries import GroupAccess, access_group
from domain.people.models import UserKind


async def _membership(session: AsyncSession, group_id: int, user_id: int) -> GroupMembership:
    membership = await session.get(GroupMembership, (group_id, user_id))
    if membership is None:
        raise NotFound(f"membership of user {user_id} in group {group_id}")
    return membership


async def _activate(
    session: AsyncSession, membership: GroupMembership, actor_id: int
) -> GroupMembership:
    membership.state = MembershipState.ACTIVE
    await session.flush()
    await record_membership(session, membership, actor_id)
    return membership


# --- joining on one's own initiative ---------------------------------------------------------


async def check_join_group(
    session: AsyncSession, principal: Principal, group_id: int
) -> GroupAccess:
    access = await access_group(session, principal, group_id)
    check_open(access)
    if access.membership is not None:
        return access  # already in, asked, or invited: joining accepts an invitation
    if (
        principal.is_external
        or access.group.is_mandatory
        or access.group.visibility is GroupVisibility.HIDDEN
    ):
        raise Forbidden(BY_INVITATION)
    return access


async def do_join_group(
    session: AsyncSession, principal: Principal, group_id: int
) -> GroupMembership:
    """Join a public group, ask to join a private one, or accept an invitation."""
    access = await check_join_group(session, principal, group_id)
    membership = access.membership
    if membership is not None:
        if membership.state is MembershipState.INVITED:
            return await do_accept_invitation(session, principal, group_id)
        return membership
    public = access.group.visibility is GroupVisibility.PUBLIC
    state = MembershipState.ACTIVE if public else MembershipState.REQUESTED
    membership = GroupMembership(
        group_id=group_id, user_id=principal.user_id, role=GroupRole.MEMBER, state=state
    )
    session.add(membership)
    await session.flush()
    await record_membership(session, membership, principal.user_id)
    return membership


async def check_accept_invitation(
    session: AsyncSession, principal: Principal, group_id: int
) -> GroupMembership:
    access = await access_group(session, principal, group_id)
    check_open(access)
    membership = access.membership
    if membership is None or membership.state is not MembershipState.INVITED:
        raise NotFound(f"invitation to group {group_id}")
    await check_may_belong(session, group_id, await active_user(session, principal.user_id))
    return membership


async def do_accept_invitation(
    session: AsyncSession, principal: Principal, group_id: int
) -> GroupMembership:
    membership = await check_accept_invitation(session, principal, group_id)
    return await _activate(session, membership, principal.user_id)


async def check_leave_group(
    session: AsyncSession, principal: Principal, group_id: int
) -> GroupMembership:
    access = await access_group(session, principal, group_id)
    check_open(access)
    membership = access.membership
    if membership is None:
        raise NotFound(f"membership in group {group_id}")
    if membership.is_active and access.group.is_mandatory:
        raise Forbidden(MANDATORY)
    await check_not_last_owner(session, membership)
    return membership


async def do_leave_group(session: AsyncSession, principal: Principal, group_id: int) -> None:
    """Leave a group, withdraw a request, or decline an invitation."""
    membership = await check_leave_group(session, principal, group_id)
    await session.delete(membership)
    await session.flush()
    await record_membership(session, membership, principal.user_id, removed=True)


# --- owners and managers ---------------------------------------------------------------------


async def check_decide_request(
    session: AsyncSession, principal: Principal, group_id: int, user_id: int
) -> GroupMembership:
    access = await access_group(session, principal, group_id)
    check_manages(access)
    check_open(access)
    membership = await _membership(session, group_id, user_id)
    if membership.state is not MembershipState.REQUESTED:
        raise NotFound(f"request of user {user_id} to join group {group_id}")
    return membership


async def do_approve_request(
    session: AsyncSession, principal: Principal, group_id: int, user_id: int
) -> GroupMembership:
    membership = await check_decide_request(session, principal, group_id, user_id)
    return await _activate(session, membership, principal.user_id)


async def do_decline_request(
    session: AsyncSession, principal: Principal, group_id: int, user_id: int
) -> None:
    membership = await check_decide_request(session, principal, group_id, user_id)
    await session.delete(membership)
    await session.flush()
    await record_membership(session, membership, principal.user_id, removed=True)


async def check_add_member(
    session: AsyncSession,
    principal: Principal,
    group_id: int,
    user_id: int,
    role: GroupRole | str = GroupRole.MEMBER,
) -> tuple[GroupAccess, GroupRole]:
    """For invitations and direct additions alike."""
    role = parse_choice(GroupRole, role, "role")
    access = await access_group(session, principal, group_id)
    check_manages(access)
    check_open(access)
    if role is not GroupRole.MEMBER and not access.may_own:
        raise Forbidden(OWNERS_ONLY)
    user = await active_user(session, user_id)
    await check_may_belong(session, group_id, user)
    if user.kind is not UserKind.STAFF and role is not GroupRole.MEMBER:
        raise ValidationFailed({"role": EXTERNALS_ARE_MEMBERS})
    return access, role


async def do_invite_member(
    session: AsyncSession, principal: Principal, group_id: int, user_id: int
) -> GroupMembership:
    """Invite a user; inviting someone who asked to join approves the request."""
    await check_add_member(session, principal, group_id, user_id)
    membership = await session.get(GroupMembership, (group_id, user_id))
    if membership is not None:
        if membership.state is MembershipState.REQUESTED:
            return await _activate(session, membership, principal.user_id)
        return membership
    membership = GroupMembership(
        group_id=group_id, user_id=user_id, role=GroupRole.MEMBER, state=MembershipState.INVITED
    )
    session.add(membership)
    await session.flush()
    await record_membership(session, membership, principal.user_id)
    return membership


async def do_add_member(
    session: AsyncSession,
    principal: Principal,
    group_id: int,
    user_id: int,
    role: GroupRole | str = GroupRole.MEMBER,
) -> GroupMembership:
    """Make a user an active member at once (a pending request or invitation is fulfilled);
    an existing member keeps their role — ``do_set_member_role`` changes it."""
    _, role = await check_add_member(session, principal, group_id, user_id, role)
    membership = await session.get(GroupMembership, (group_id, user_id))
    if membership is not None:
        if membership.is_active:
            return membership
        membership.role = role
        return await _activate(session, membership, principal.user_id)
    membership = GroupMembership(
        group_id=group_id, user_id=user_id, role=role, state=MembershipState.ACTIVE
    )
    session.add(membership)
    return await _activate(session, membership, principal.user_id)


async def check_remove_member(
    session: AsyncSession, principal: Principal, group_id: int, user_id: int
) -> GroupMembership:
    access = await access_group(session, principal, group_id)
    check_manages(access)
    check_open(access)
    membership = await _membership(session, group_id, user_id)
    if membership.role is not GroupRole.MEMBER and not access.may_own:
        raise Forbidden(OWNERS_ONLY)
    if membership.via_rule and access.group.is_mandatory:
        raise Forbidden(MANDATORY)
    await check_not_last_owner(session, membership)
    return membership


async def do_remove_member(
    session: AsyncSession, principal: Principal, group_id: int, user_id: int
) -> None:
    """Remove a member, or withdraw their invitation or request."""
    membership = await check_remove_member(session, principal, group_id, user_id)
    await session.delete(membership)
    await session.flush()
    await record_membership(session, membership, principal.user_id, removed=True)


async def check_set_member_role(
    session: AsyncSession, principal: Principal, group_id: int, user_id: int, role: GroupRole | str
) -> tuple[GroupMembership, GroupRole]:
    role = parse_choice(GroupRole, role, "role")
    access = await access_group(session, principal, group_id)
    if not access.may_own:
        raise Forbidden(OWNERS_ONLY)
    check_open(access)
    membership = await _membership(session, group_id, user_id)
    if not membership.is_active:
        raise NotFound(f"member {user_id} of group {group_id}")
    if role is not GroupRole.OWNER:
        await check_not_last_owner(session, membership)
    user = await active_user(session, user_id)
    if user.kind is not UserKind.STAFF and role is not GroupRole.MEMBER:
        raise ValidationFailed({"role": EXTERNALS_ARE_MEMBERS})
    return membership, role


async def do_set_member_role(
    session: AsyncSession, principal: Principal, group_id: int, user_id: int, role: GroupRole | str
) -> GroupMembership:
    membership, role = await check_set_member_role(session, principal, group_id, user_id, role)
    if membership.role is role:
        return membership
    membership.role = role
    await session.flush()
    await record_membership(session, membership, principal.user_id)
    return membership
