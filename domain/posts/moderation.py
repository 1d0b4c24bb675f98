"""Who may moderate a post and what hangs off it, and the archived-group rule every post write
shares.

Moderators remove other people's posts and comments (the removal is recorded with their id):
admins and the communication role anywhere, and the active owners and managers of the post's
group. An archived group is read-only: nothing in it is posted, edited, commented on, reacted to,
pinned or deleted, except by an admin (as for groups themselves, ``domain.groups.checks``).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal
from domain.errors import Forbidden
from domain.groups.checks import ARCHIVED
from domain.groups.models import Group, GroupMembership, GroupRole, MembershipState
from domain.people.models import Role
from domain.posts.models import Post

# Roles that moderate every post, wherever it is.
MODERATOR_ROLES = frozenset({Role.ADMIN, Role.COMMUNICATION})


def moderates_everywhere(principal: Principal) -> bool:
    return not MODERATOR_ROLES.isdisjoint(principal.roles)


async def managed_group_ids(
    session: AsyncSession, principal: Principal, group_ids: Iterable[int]
) -> set[int]:
    """Of these groups, those the principal owns or manages (one query, for a page of posts)."""
    ids = sorted(set(group_ids))
    if not ids:
        return set()
    rows = await session.scalars(
        select(GroupMembership.group_id).where(
            GroupMembership.user_id == principal.user_id,
            GroupMembership.group_id.in_(ids),
            GroupMembership.state == MembershipState.ACTIVE,
            GroupMembership.role.in_((GroupRole.OWNER, GroupRole.MANAGER)),
        )
    )
    return set(rows.all())


async def moderates(session: AsyncSession, principal: Principal, group_id: int | None) -> bool:
    """Whether the principal may remove others' posts and comments in this group (None: a post
    outside any group)."""
    if moderates_everywhere(principal):
        return True
    if group_id is None:
        return False
    return bool(await managed_group_ids(session, principal, [group_id]))


async def check_group_open(session: AsyncSession, principal: Principal, post: Post) -> None:
    """Refuse a write on a post in an archived group (admins excepted)."""
    if post.group_id is None or principal.is_admin:
        return
    group = await session.get(Group, post.group_id)
    if group is not None and group.is_archived:
        raise Forbidden(ARCHIVED)
