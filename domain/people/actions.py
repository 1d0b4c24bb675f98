"""Writes about people: sign-in and sign-out, creating users, profiles and passwords.

Each ``do_*`` runs inside the caller's write transaction; each ``check_*`` validates and raises
``ValidationFailed`` or ``Throttled`` before anything is written.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import user_token
from domain.errors import NotFound, Throttled, ValidationFailed
from domain.events import UserAccessChanged, record_event
from domain.people import passwords
from domain.people.models import (
    LANGUAGES,
    AuthSession,
    LoginFailure,
    Role,
    User,
    UserKind,
    UserRole,
)
from domain.people.passwords import hash_password, needs_rehash, verify_password
from domain.people.queries import normalise_email, session_id_for, user_by_email
from domain.records.org import Employee
from domain.text import N_

LOGIN_WINDOW = timedelta(minutes=30)
MAX_FAILURES_PER_ACCOUNT = 5
SESSION_LIFETIME = timedelta(days=14)
NAME_MAX = 200
EMAIL_MAX = 254

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

BAD_CREDENTIALS = N_("The email address or password is not correct.")
TOO_MANY_ATTEMPTS = N_("Too many failed sign-in attempts. Try again later.")


@dataclass(frozen=True)
class SignInLimits:
    per_account: int = MAX_FAILURES_PER_ACCOUNT
    per_ip: int = 50
    window: timedelta = LOGIN_WINDOW


async def check_sign_in(
    session: AsyncSession, email: str, ip: str, now: datetime, limits: SignInLimits
) -> None:
    """Refuse an attempt while the account or the address has too many recent failures."""
    since = now - limits.window
    email = normalise_email(email)
    for column, value, limit in (
        (LoginFailure.email, email, limits.per_account),
        (LoginFailure.ip, ip, limits.per_ip),
    ):
        count, oldest = (
            await session.execute(
                select(func.count(), func.min(LoginFailure.at)).where(
                    column == value, LoginFailure.at > since
                )
            )
        ).one()
        if count >= limit:
            retry = int(((oldest or now) + limits.window - now).total_seconds()) + 1
            raise Throttled(max(retry, 1))


async def prune_sign_ins(session: AsyncSession, now: datetime) -> tuple[int, int]:
    """Delete sessions that have expired and failed sign-ins older than the throttling window:
    nothing reads them any more, and they hold addresses, emails and browsers. How many of
    each went."""
    sessions = await session.execute(delete(AuthSession).where(AuthSession.expires_at <= now))
    failures = await session.execute(
        delete(LoginFailure).where(LoginFailure.at <= now - LOGIN_WINDOW)
    )
    return _rowcount(sessions), _rowcount(failures)


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def do_record_failed_sign_in(
    session: AsyncSession, email: str, ip: str, now: datetime
) -> None:
    """Remember a failed attempt; ``check_sign_in`` counts them."""
    session.add(LoginFailure(email=normalise_email(email)[:EMAIL_MAX], ip=ip[:64], at=now))


async def do_count_sign_in_attempt(
    session: AsyncSession, email: str, ip: str, now: datetime, limits: SignInLimits
) -> None:
    """Refuse an attempt while throttled, else count it as a failure *before* the password is
    checked; ``do_record_sign_in`` forgets it if the password was right.

    Counting only after a wrong password let parallel guesses all pass ``check_sign_in`` while
    their hashes ran, so an attacker got as many guesses as requests in flight. The account's row
    is locked so that on PostgreSQL two attempts on one account are counted one after the other
    (SQLite writers queue anyway). Known limit: the per-address count can still overshoot by the
    number of parallel attempts on different accounts.
    """
    await session.execute(
        select(User.id).where(User.email == normalise_email(email)).with_for_update()
    )
    await check_sign_in(session, email, ip, now, limits)
    await do_record_failed_sign_in(session, email, ip, now)


async def do_record_sign_in(
    session: AsyncSession, user_id: int, password: str, now: datetime
) -> None:
    """After a successful ``authenticate``: upgrade an outdated hash, note the time, and forget
    the account's failed attempts (including this one, counted up front)."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id}")
    if user.password_hash is not None and needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(hash_password, password)
    user.last_login_at = now
    await session.execute(delete(LoginFailure).where(LoginFailure.email == user.email))


async def do_start_session(
    session: AsyncSession,
    user: User,
    now: datetime,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    replaces: str | None = None,
) -> str:
    """Open a server-side session and return the cookie token. ``replaces`` (the token the
    browser had before) is ended, so a session id is never carried across a sign-in."""
    if replaces:
        await do_end_session(session, replaces)
    token = secrets.token_urlsafe(32)
    session.add(
        AuthSession(
            id=session_id_for(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + SESSION_LIFETIME,
            ip=ip,
            user_agent=(user_agent or "")[:300] or None,
        )
    )
    return token


async def do_end_session(session: AsyncSession, token: str) -> None:
    await session.execute(delete(AuthSession).where(AuthSession.id == session_id_for(token)))


async def do_touch_session(session: AsyncSession, token: str, now: datetime) -> None:
    """Slide an idle session's expiry forward."""
    await session.execute(
        update(AuthSession)
        .where(AuthSession.id == session_id_for(token))
        .values(last_seen_at=now, expires_at=now + SESSION_LIFETIME)
    )


async def do_end_all_sessions(
    session: AsyncSession, user_id: int, *, except_token: str | None = None
) -> None:
    stmt = delete(AuthSession).where(AuthSession.user_id == user_id)
    if except_token:
        stmt = stmt.where(AuthSession.id != session_id_for(except_token))
    await session.execute(stmt)


def _check_name(name: str, errors: dict[str, str]) -> str:
    # PostgreSQL refuses NUL in text; it is never meant.
    name = " ".join(name.replace("\x00", "").split())
    if not name:
        errors["name"] = N_("Enter a name.")
    elif len(name) > NAME_MAX:
        errors["name"] = N_("The name is too long (at most 200 characters).")
    return name


def _check_language(language: str | None, errors: dict[str, str]) -> str | None:
    if language in (None, ""):
        return None
    if language not in LANGUAGES:
        errors["language"] = N_("Choose English, Dutch or the browser's language.")
    return language


def new_password_problems(password: str, field: str = "new_password") -> dict[str, str]:
    """What is wrong with a new password, by field (checked before the current one, so that a
    mistyped new password does not use up an attempt)."""
    errors: dict[str, str] = {}
    _check_new_password(password, errors, field)
    return errors


def _check_new_password(password: str, errors: dict[str, str], field: str = "password") -> None:
    if len(password) < passwords.MIN_LENGTH:
        errors[field] = N_("Use at least 10 characters for the password.")
    elif len(password) > passwords.MAX_LENGTH:
        errors[field] = N_("The password is too long.")


async def check_create_user(
    session: AsyncSession, email: str, name: str, password: str | None, language: str | None
) -> tuple[str, str, str | None]:
    errors: dict[str, str] = {}
    email = normalise_email(email)
    if not _EMAIL_RE.match(email) or len(email) > EMAIL_MAX:
        errors["email"] = N_("Enter a valid email address.")
    elif await user_by_email(session, email) is not None:
        errors["email"] = N_("A user with this email address already exists.")
    name = _check_name(name, errors)
    language = _check_language(language, errors)
    if password is not None:
        _check_new_password(password, errors)
    if errors:
        raise ValidationFailed(errors)
    return email, name, language


async def do_create_user(
    session: AsyncSession,
    *,
    email: str,
    name: str,
    password: str | None,
    kind: UserKind = UserKind.STAFF,
    roles: frozenset[Role] = frozenset(),
    language: str | None = None,
) -> User:
    email, name, language = await check_create_user(session, email, name, password, language)
    user = User(
        email=email,
        name=name,
        kind=kind,
        language=language,
        password_hash=await asyncio.to_thread(hash_password, password) if password else None,
        is_active=True,
    )
    session.add(user)
    await session.flush()
    for role in sorted(roles):
        session.add(UserRole(user_id=user.id, role=role))
    if kind is UserKind.STAFF:
        # A staff login belongs to the employee record with the same work email, if one exists
        # and has no login yet: that link is what gives the user their projects, their HR
        # self-view and their place on cards. Without it only the demo loader would link them.
        await session.execute(
            update(Employee)
            .where(func.lower(Employee.email) == email, Employee.user_id.is_(None))
            .values(user_id=user.id)
        )
    await session.flush()
    return user


async def _active_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        raise NotFound(f"user {user_id}")
    return user


async def do_update_profile(
    session: AsyncSession, user_id: int, *, name: str, language: str | None
) -> User:
    errors: dict[str, str] = {}
    name = _check_name(name, errors)
    language = _check_language(language, errors)
    if errors:
        raise ValidationFailed(errors)
    user = await _active_user(session, user_id)
    user.name = name
    user.language = language
    return user


async def do_count_password_attempt(
    session: AsyncSession, user_id: int, ip: str, now: datetime, limits: SignInLimits
) -> None:
    """Before checking a signed-in user's current password (to change it): the same limit and
    count as a sign-in, so a stolen session cannot be used to guess the password either.
    ``Throttled`` while over the limit; a right password forgets the count
    (``do_change_password``)."""
    user = await _active_user(session, user_id)
    await do_count_sign_in_attempt(session, user.email, ip, now, limits)


async def do_change_password(
    session: AsyncSession,
    user_id: int,
    *,
    current: str,
    new: str,
    keep_session: str | None = None,
) -> None:
    """Change a password after checking the current one; every other session is signed out."""
    user = await _active_user(session, user_id)
    errors: dict[str, str] = {}
    if not await asyncio.to_thread(verify_password, user.password_hash, current):
        errors["current_password"] = N_("The current password is not correct.")
    _check_new_password(new, errors, "new_password")
    if errors:
        raise ValidationFailed(errors)
    user.password_hash = await asyncio.to_thread(hash_password, new)
    await session.execute(delete(LoginFailure).where(LoginFailure.email == user.email))
    await do_end_all_sessions(session, user.id, except_token=keep_session)


async def do_set_user_active(
    session: AsyncSession, user_id: int, active: bool, *, actor_id: int | None = None
) -> None:
    """Activate or deactivate a user; deactivation ends every session at once, and the live
    hub closes their open sockets before it sends the next event."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id}")
    changed = user.is_active != active
    user.is_active = active
    if not active:
        await do_end_all_sessions(session, user_id)
    if changed:
        await record_event(
            session,
            UserAccessChanged(user_id, ("active",)),
            {user_token(user_id)},
            actor_id=actor_id,
        )
