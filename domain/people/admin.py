"""Administration of users: the user list, roles, activation and new staff users (portal access
for the contacts of customers and partners is ``domain.people.portal_access``).

Every query and action here takes the acting principal and answers ``NotFound`` unless it is an
administrator (``domain.people.admin_guards``).

Rules:

- roles (admin, hr, communication) are for staff; customers and partners never get one;
- lockout protection: an administrator can neither drop their own admin role nor deactivate
  themself, so the last administrator cannot lock everyone out by accident;
- deactivating a user ends all their sessions in the same transaction, so their cookie is useless
  on their very next request; a role change needs nothing of the kind, because every request
  computes its principal afresh (``domain.access.load_principal``). Both record a
  ``user.access_changed`` event, on which the live hub re-checks that user's open sockets before
  it sends the next event (closing a deactivated user's);
- a new staff user, a change of roles and (de)activation re-sync that user's mandatory groups
  (``domain.groups.mandatory.do_sync_mandatory_user``): rules by role or department take them in
  or let them go in the same transaction.

The user list is keyset-paginated by (name, id), like the record lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, String, and_, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal, user_token
from domain.errors import NotFound, ValidationFailed
from domain.events import UserAccessChanged, record_event
from domain.groups.mandatory import do_sync_mandatory_user
from domain.matching import contains_or_all
from domain.people.actions import (
    check_create_user,
    do_set_user_active,
)
from domain.people.admin_guards import SEARCH_MAX, check_admin, check_id, create_user, refuse_nul
from domain.people.models import AuthSession, Role, User, UserKind, UserRole
from domain.people.portal_access import log_portal_access
from domain.records.lists import decode_cursor, encode_cursor
from domain.records.relations import Account, AccountType, Contact
from domain.text import N_

PAGE_SIZE = 50
ACTIVE_CHOICES = {"yes": True, "no": False}

NOT_ALLOWED = N_("This is not one of the allowed values.")
OWN_ADMIN_ROLE = N_(
    "You cannot remove your own administrator role: you would lock yourself out. "
    "Ask another administrator."
)
OWN_ACCOUNT = N_(
    "You cannot deactivate your own account: you would lock yourself out. "
    "Ask another administrator."
)
NO_ROLES_FOR_EXTERNALS = N_("Customers and partners cannot have roles.")


# -- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserRow:
    id: int
    name: str
    email: str
    kind: UserKind
    roles: tuple[Role, ...]
    is_active: bool
    last_login_at: datetime | None


@dataclass(frozen=True)
class UserPage:
    rows: list[UserRow]
    next: str | None


@dataclass(frozen=True)
class LinkedContact:
    id: int
    name: str
    account_id: int
    account_name: str
    account_type: AccountType


@dataclass(frozen=True)
class UserDetail:
    user: User
    roles: frozenset[Role]
    contact: LinkedContact | None
    open_sessions: int

    @property
    def may_have_roles(self) -> bool:
        return self.user.kind is UserKind.STAFF


def _filters(q: str, kind: str, active: str) -> list[ColumnElement[bool]]:
    """SQL conditions for the list's filters; bad values name their filter."""
    conditions: list[ColumnElement[bool]] = []
    errors: dict[str, str] = {}
    # PostgreSQL refuses NUL in text; it can only come from a hand-made URL.
    q, kind, active = (v.replace("\x00", "").strip() for v in (q, kind, active))
    if q:
        conditions.append(contains_or_all(q, User.name, User.email, limit=SEARCH_MAX))
    if kind:
        if kind in {k.value for k in UserKind}:
            conditions.append(User.kind == UserKind(kind))
        else:
            errors["kind"] = NOT_ALLOWED
    if active:
        if active in ACTIVE_CHOICES:
            conditions.append(User.is_active.is_(ACTIVE_CHOICES[active]))
        else:
            errors["active"] = NOT_ALLOWED
    if errors:
        raise ValidationFailed(errors)
    return conditions


async def list_users(
    session: AsyncSession,
    principal: Principal,
    *,
    q: str = "",
    kind: str = "",
    active: str = "",
    cursor: str = "",
    limit: int = PAGE_SIZE,
) -> UserPage:
    """One page of users by name, searched in name and email, filtered by kind and by active
    ("yes"/"no"); ``cursor`` is the ``next`` of the page before."""
    check_admin(principal)
    stmt = select(User).where(*_filters(q, kind, active))
    if cursor:
        name, after_id = decode_cursor(cursor, "name", String())
        after = literal(name, type_=String())
        stmt = stmt.where(or_(User.name > after, and_(User.name == after, User.id > after_id)))
    users = list((await session.scalars(stmt.order_by(User.name, User.id).limit(limit + 1))).all())
    more = len(users) > limit
    users = users[:limit]
    roles: dict[int, list[Role]] = {}
    if users:
        rows = await session.execute(
            select(UserRole.user_id, UserRole.role)
            .where(UserRole.user_id.in_([u.id for u in users]))
            .order_by(UserRole.user_id, UserRole.role)
        )
        for user_id, role in rows:
            roles.setdefault(user_id, []).append(role)
    return UserPage(
        rows=[
            UserRow(
                id=u.id,
                name=u.name,
                email=u.email,
                kind=u.kind,
                roles=tuple(roles.get(u.id, ())),
                is_active=u.is_active,
                last_login_at=u.last_login_at,
            )
            for u in users
        ],
        next=encode_cursor(users[-1].name, users[-1].id, "name") if more else None,
    )


async def _user(session: AsyncSession, user_id: int, *, lock: bool = False) -> User:
    """A user by id; ``lock`` holds the row until the transaction ends, so that two admins
    changing one user's roles or state at once are handled one after the other."""
    check_id(user_id, "user")
    stmt = select(User).where(User.id == user_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    user = await session.scalar(stmt)
    if user is None:
        raise NotFound(f"user {user_id}")
    return user


async def _roles_of(session: AsyncSession, user_id: int) -> frozenset[Role]:
    return frozenset(
        (await session.scalars(select(UserRole.role).where(UserRole.user_id == user_id))).all()
    )


async def user_detail(
    session: AsyncSession, principal: Principal, user_id: int, now: datetime
) -> UserDetail:
    """A user with their roles, the contact their login belongs to, and their live sessions."""
    check_admin(principal)
    user = await _user(session, user_id)
    linked = (
        await session.execute(
            select(Contact.id, Contact.name, Account.id, Account.name, Account.type)
            .join(Account, Account.id == Contact.account_id)
            .where(Contact.user_id == user.id)
        )
    ).first()
    sessions = await session.scalar(
        select(func.count())
        .select_from(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.expires_at > now)
    )
    return UserDetail(
        user=user,
        roles=await _roles_of(session, user.id),
        contact=LinkedContact(*linked) if linked is not None else None,
        open_sessions=sessions or 0,
    )


# -- roles and activation ------------------------------------------------------------------------


def check_set_roles(principal: Principal, user: User, roles: frozenset[Role]) -> None:
    check_admin(principal)
    if roles and user.kind is not UserKind.STAFF:
        raise ValidationFailed({"roles": NO_ROLES_FOR_EXTERNALS})
    if user.id == principal.user_id and Role.ADMIN not in roles:
        raise ValidationFailed({"roles": OWN_ADMIN_ROLE})


async def do_set_roles(
    session: AsyncSession, principal: Principal, user_id: int, roles: frozenset[Role]
) -> bool:
    """Give a user exactly these roles; True when anything changed."""
    check_admin(principal)
    user = await _user(session, user_id, lock=True)
    check_set_roles(principal, user, roles)
    current = await _roles_of(session, user.id)
    if current == roles:
        return False
    for role in sorted(current - roles):
        row = await session.get(UserRole, (user.id, role))
        if row is not None:
            await session.delete(row)
    session.add_all(UserRole(user_id=user.id, role=role) for role in sorted(roles - current))
    await session.flush()
    await do_sync_mandatory_user(session, user.id, actor_id=principal.user_id)
    # Roles carry audience tokens (HR, admins, communication): the user's open sockets are
    # re-checked before the next event goes out.
    await record_event(
        session,
        UserAccessChanged(user.id, ("roles",)),
        {user_token(user.id)},
        actor_id=principal.user_id,
    )
    return True


def check_set_active(principal: Principal, user: User, active: bool) -> None:
    check_admin(principal)
    if user.id == principal.user_id and not active:
        raise ValidationFailed({"active": OWN_ACCOUNT})


async def do_set_active(
    session: AsyncSession, principal: Principal, user_id: int, active: bool, now: datetime
) -> bool:
    """Activate or deactivate a user (deactivation ends their sessions at once). For the login
    of a contact this is granting or revoking portal access, and is logged on the contact."""
    check_admin(principal)
    user = await _user(session, user_id, lock=True)
    check_set_active(principal, user, active)
    if user.is_active == active:
        return False
    await do_set_user_active(session, user.id, active, actor_id=principal.user_id)
    await do_sync_mandatory_user(session, user.id, actor_id=principal.user_id)
    contact_id = await session.scalar(select(Contact.id).where(Contact.user_id == user.id))
    if contact_id is not None:
        await log_portal_access(session, principal, contact_id, not active, active, now)
    return True


# -- new staff users -----------------------------------------------------------------------------


async def check_create_staff_user(
    session: AsyncSession,
    principal: Principal,
    *,
    email: str,
    name: str,
    language: str | None,
    password: str,
) -> None:
    """Every field's problem at once: email (valid, not taken), name, language, password."""
    check_admin(principal)
    refuse_nul(email=email, name=name)
    await check_create_user(session, email, name, password, language)


async def do_create_staff_user(
    session: AsyncSession,
    principal: Principal,
    *,
    email: str,
    name: str,
    language: str | None,
    password: str,
    roles: frozenset[Role],
) -> User:
    """A new employee's login with an initial password the administrator passes on."""
    await check_create_staff_user(
        session, principal, email=email, name=name, language=language, password=password
    )
    user = await create_user(
        session,
        email=email,
        name=name,
        password=password,
        kind=UserKind.STAFF,
        roles=roles,
        language=language,
    )
    await do_sync_mandatory_user(session, user.id, actor_id=principal.user_id)
    return user
