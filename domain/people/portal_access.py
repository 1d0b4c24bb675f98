"""Portal access for the contacts of customers and partners: who may sign in to the portal.

Portal access of a contact is a user of kind customer or partner (after the contact's account)
linked through ``Contact.user_id``. Granting creates that user, or re-activates the one already
linked; revoking deactivates it (the link stays, so a later grant brings the same user back).
Every change of access — also one made on the user's own page (``domain.people.admin``) — writes a
Data Log row on the contact (field ``portal_access``, "granted"/"revoked") and a
``record.updated`` event; the login's own (de)activation records ``user.access_changed``, so its
open live sockets are re-checked at once.

Like the rest of the administration, every function answers ``NotFound`` to anyone but an
administrator (``domain.people.admin_guards``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal
from domain.db import locked_row
from domain.errors import NotFound, ValidationFailed
from domain.events import RecordUpdated, record_event
from domain.matching import contains_or_all
from domain.people import passwords
from domain.people.actions import check_create_user, do_end_all_sessions, do_set_user_active
from domain.people.admin_guards import SEARCH_MAX, check_admin, check_id, create_user, refuse_nul
from domain.people.models import User, UserKind
from domain.records.audience import RecordAudience, RecordKind, visible_ids
from domain.records.datalog import log_changes
from domain.records.queries import access_contact
from domain.records.relations import Account, AccountType, Contact
from domain.text import N_

GRANTED = "granted"
REVOKED = "revoked"
PORTAL_ACCESS = "portal_access"
KIND_OF_ACCOUNT = {AccountType.CUSTOMER: UserKind.CUSTOMER, AccountType.PARTNER: UserKind.PARTNER}
# How many contacts one search shows: more means the search should be narrower.
MATCHES_SHOWN = 50

PASSWORD_TOO_SHORT = N_("Use at least 10 characters for the password.")
PASSWORD_TOO_LONG = N_("The password is too long.")


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


async def contact_access(
    session: AsyncSession, principal: Principal, contact_id: int
) -> ContactAccess:
    check_admin(principal)
    check_id(contact_id, "contact")
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
    session: AsyncSession, principal: Principal, q: str, limit: int = MATCHES_SHOWN
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


async def _locked_contact(session: AsyncSession, principal: Principal, contact_id: int) -> Contact:
    """The contact, loaded for the admin and then locked, so two admins granting access at once
    cannot both create a login for it (SQLite's writers queue anyway)."""
    check_id(contact_id, "contact")
    await access_contact(session, principal, contact_id)
    return await locked_row(session, Contact, contact_id)


async def log_portal_access(
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
        refuse_nul(email=email)
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
        user = await create_user(
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
        await log_portal_access(session, principal, contact.id, False, True, now)
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
    await log_portal_access(session, principal, contact.id, True, False, now)
    return True
