"""Administration of users: the user list, roles, activation, new staff users, and portal access
for the contacts of customers and partners.

Every query and action here takes the acting principal and answers ``NotFound`` unless it is an
administrator — the same answer as for a user or contact that does not exist — so a page that
forgets its guard still leaks nothing.

Rules:

- roles (admin, hr, communication) are for staff; customers and partners never get one;
- lockout protection: an administrator can neither drop their own admin role nor deactivate
  themself, so the last administrator cannot lock everyone out by accident;
- deactivating a user ends all their sessions in the same transaction, so their cookie is useless
  on their very next request; a role change needs nothing of the kind, because every request
  computes its principal afresh (``domain.access.load_principal``). Known limit: there is no
  live-socket hub yet; when one exists it must drop a deactivated user's sockets too;
- a new staff user, a change of roles and (de)activation re-sync that user's mandatory groups
  (``domain.groups.mandatory.do_sync_mandatory_user``): rules by role or department take them in
  or let them go in the same transaction;
- portal access of a contact is a user of kind customer or partner (after the contact's account)
  linked through ``Contact.user_id``. Granting creates that user, or re-activates the one already
  linked; revoking deactivates it (the link stays, so a later grant brings the same user back).
  Every change of access — also one made on the user's own page — writes a Data Log row on the
  contact (field ``portal_access``, "granted"/"revoked") and a ``record.updated`` event.

The user list is keyset-paginated by (name, id), like the record lists.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, String, and_, func, literal, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal, user_token
from domain.errors import NotFound, ValidationFailed
from domain.events import RecordUpdated, UserAccessChanged, record_event
from domain.groups.mandatory import do_sync_mandatory_user
from domain.matching import contains_or_all
from domain.people import passwords
from domain.people.actions import (
    check_create_user,
    do_create_user,
    do_end_all_sessions,
    do_set_user_active,
)
from domain.people.models import AuthSession, Role, User, UserKind, UserRole
from domain.records.audience import RecordAudience, RecordKind, visible_ids
from domain.records.datalog import log_changes
from domain.records.lists import decode_cursor, encode_cursor
from domain.records.queries import access_contact
from domain.records.relations import Account, AccountType, Contact
from domain.text import N_

PAGE_SIZE = 50
SEARCH_MAX = 100
GRANTED = "granted"
REVOKED = "revoked"
PORTAL_ACCESS = "portal_access"
ACTIVE_CHOICES = {"yes": True, "no": False}
KIND_OF_ACCOUNT = {AccountType.CUSTOMER: UserKind.CUSTOMER, AccountType.PARTNER: UserKind.PARTNER}

NOT_ALLOWED = N_("This is not one of the allowed values.")
OWN_ADMIN_ROLE = N_(
    "You cannot remove your own administrator role: you would lock yourself out. "
    "Ask another administrator."
)
OWN_ACCOUNT = N_(
    "You cannot deactivate your own account: you would lock yourself out. "
    "Ask another administrator."
)
NUL_MESSAGES = {
    "email": N_("Enter a valid email address."),
    "name": N_("This field must be text."),
}
NO_ROLES_FOR_EXTERNALS = N_("Customers and partners cannot have roles.")
EMAIL_TAKEN = N_("A user with this email address already exists.")
PASSWORD_TOO_SHORT = N_("Use at least 10 characters for the password.")
PASSWORD_TOO_LONG = N_("The password is too long.")


def check_admin(principal: Principal) -> None:
    """Administration answers "not found" to anyone but an administrator on the staff."""
    if not (principal.is_staff and principal.is_admin):
        raise NotFound("administration")


def _check_id(value: int, what: str) -> None:
    # Ids come from URLs; one beyond any integer column is simply not there (PostgreSQL would
    # otherwise refuse the query itself).
    if not 0 < value < 2**31:
        raise NotFound(f"{what} {value}")


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


@dataclass(frozen=True)
class ContactAccess:
    """A contact as the portal-access form needs it: who, where, and their login if any."""

    contact: Contact
    account: Account
    user: User | None

    @property
    def kind(self) -> UserKind:
        return KIND_OF_ACCOUNT[self.account.type]

    @property
    def has_access(self) -> bool:
        return self.user is not None and self.user.is_active


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
    _check_id(user_id, "user")
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


async def contact_access(
    session: AsyncSession, principal: Principal, contact_id: int
) -> ContactAccess:
    check_admin(principal)
    _check_id(contact_id, "contact")
    contact = await access_contact(session, principal, contact_id)
    return await _contact_access(session, contact)


@dataclass(frozen=True)
class ContactRow:
    id: int
    name: str
    email: str | None
    account_name: str
    account_type: AccountType
    user_id: int | None
    has_access: bool


@dataclass(frozen=True)
class ContactMatches:
    rows: list[ContactRow]
    more: bool  # more contacts match than are shown: the search should be narrower


async def find_contacts(
    session: AsyncSession, principal: Principal, q: str, limit: int = PAGE_SIZE
) -> ContactMatches:
    """Contacts whose name, email or account name contain ``q``, with their portal access: the
    way to a contact's access form. Nothing is listed before something is searched for."""
    check_admin(principal)
    if not q.replace("\x00", "").strip():
        return ContactMatches([], more=False)
    rows = (
        await session.execute(
            select(
                Contact.id,
                Contact.name,
                Contact.email,
                Account.name,
                Account.type,
                Contact.user_id,
                func.coalesce(User.is_active, False),
            )
            .join(Account, Account.id == Contact.account_id)
            .outerjoin(User, User.id == Contact.user_id)
            .where(
                Contact.id.in_(visible_ids(RecordKind.CONTACT, principal.tokens)),
                contains_or_all(q, Contact.name, Contact.email, Account.name, limit=SEARCH_MAX),
            )
            .order_by(Contact.name, Contact.id)
            .limit(limit + 1)
        )
    ).all()
    return ContactMatches(
        [ContactRow(*row[:6], has_access=bool(row[6])) for row in rows[:limit]],
        more=len(rows) > limit,
    )


async def _contact_access(session: AsyncSession, contact: Contact) -> ContactAccess:
    account = await session.get(Account, contact.account_id)
    if account is None:  # the foreign key cascades: only a half-deleted row could get here
        raise NotFound(f"account {contact.account_id}")
    user = await session.get(User, contact.user_id) if contact.user_id is not None else None
    return ContactAccess(contact=contact, account=account, user=user)


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
        await _log_portal_access(session, principal, contact_id, not active, active, now)
    return True


# -- new staff users -----------------------------------------------------------------------------


def _refuse_nul(**fields: str) -> None:
    """PostgreSQL stores no NUL character, and no person types one: a value holding it is
    refused here, before it reaches a query as a server error."""
    errors = {name: NUL_MESSAGES[name] for name, value in fields.items() if "\x00" in value}
    if errors:
        raise ValidationFailed(errors)


async def _create_user(
    session: AsyncSession,
    *,
    email: str,
    name: str,
    password: str,
    kind: UserKind,
    roles: frozenset[Role] = frozenset(),
    language: str | None = None,
) -> User:
    """``do_create_user`` in a savepoint: two admins taking one email address at once (possible
    on PostgreSQL) get the same message as when it was taken before, not a server error."""
    try:
        async with session.begin_nested():
            return await do_create_user(
                session,
                email=email,
                name=name,
                password=password,
                kind=kind,
                roles=roles,
                language=language,
            )
    except IntegrityError:
        raise ValidationFailed({"email": EMAIL_TAKEN}) from None


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
    _refuse_nul(email=email, name=name)
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
    user = await _create_user(
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


# -- portal access -------------------------------------------------------------------------------


async def _locked_contact(session: AsyncSession, principal: Principal, contact_id: int) -> Contact:
    """The contact, loaded for the admin and then locked, so two admins granting access at once
    cannot both create a login for it (SQLite's writers queue anyway)."""
    _check_id(contact_id, "contact")
    await access_contact(session, principal, contact_id)
    contact = await session.scalar(
        select(Contact)
        .where(Contact.id == contact_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if contact is None:
        raise NotFound(f"contact {contact_id}")
    return contact


async def _log_portal_access(
    session: AsyncSession,
    principal: Principal,
    contact_id: int,
    old: bool,
    new: bool,
    now: datetime,
) -> None:
    log_changes(
        session,
        RecordKind.CONTACT.value,
        contact_id,
        {PORTAL_ACCESS: (GRANTED if old else REVOKED, GRANTED if new else REVOKED)},
        principal.user_id,
        now,
    )
    await session.flush()
    tokens = (
        await session.scalars(
            select(RecordAudience.token).where(
                RecordAudience.kind == RecordKind.CONTACT.value,
                RecordAudience.record_id == contact_id,
            )
        )
    ).all()
    await record_event(
        session,
        RecordUpdated(RecordKind.CONTACT.value, contact_id, (PORTAL_ACCESS,)),
        tokens,
        actor_id=principal.user_id,
        now=now,
    )


async def check_grant_portal_access(
    session: AsyncSession, access: ContactAccess, *, email: str, password: str
) -> str:
    """Validate a grant; returns the email address the new login will have. A contact with a
    login already keeps its address, and its password unless a new one is given."""
    errors: dict[str, str] = {}
    if access.user is not None:
        if password and len(password) < passwords.MIN_LENGTH:
            errors["password"] = PASSWORD_TOO_SHORT
        elif len(password) > passwords.MAX_LENGTH:
            errors["password"] = PASSWORD_TOO_LONG
    else:
        _refuse_nul(email=email)
        email = email.strip() or (access.contact.email or "")
        try:
            await check_create_user(session, email, access.contact.name, password, None)
        except ValidationFailed as exc:
            for field, message in exc.errors.items():
                # The name comes from the contact: a problem with it concerns the whole form.
                errors[field if field in ("email", "password") else ""] = message
    if errors:
        raise ValidationFailed(errors)
    return email


async def do_grant_portal_access(
    session: AsyncSession,
    principal: Principal,
    contact_id: int,
    *,
    email: str,
    password: str,
    now: datetime,
) -> User:
    """Let a contact sign in to the portal: create their login (customer or partner, after the
    account) or re-activate the one they had. A new password for an existing login ends its
    sessions."""
    check_admin(principal)
    contact = await _locked_contact(session, principal, contact_id)
    access = await _contact_access(session, contact)
    email = await check_grant_portal_access(session, access, email=email, password=password)
    had_access = access.has_access
    user = access.user
    if user is None:
        user = await _create_user(
            session, email=email, name=contact.name, password=password, kind=access.kind
        )
        contact.user_id = user.id
    else:
        if password:
            # A new password is a reset: whoever signed in with the old one is signed out.
            user.password_hash = await asyncio.to_thread(passwords.hash_password, password)
            await do_end_all_sessions(session, user.id)
        if not user.is_active:
            await do_set_user_active(session, user.id, True, actor_id=principal.user_id)
    if not had_access:
        await _log_portal_access(session, principal, contact.id, False, True, now)
    return user


async def do_revoke_portal_access(
    session: AsyncSession, principal: Principal, contact_id: int, now: datetime
) -> bool:
    """Deactivate a contact's login: their sessions end at once. True when access was open."""
    check_admin(principal)
    contact = await _locked_contact(session, principal, contact_id)
    access = await _contact_access(session, contact)
    if access.user is None or not access.user.is_active:
        return False
    await do_set_user_active(session, access.user.id, False, actor_id=principal.user_id)
    await _log_portal_access(session, principal, contact.id, True, False, now)
    return True
