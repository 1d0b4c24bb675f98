"""Reads about users and their sessions."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.people.models import AuthSession, User
from domain.people.passwords import verify_password


def session_id_for(token: str) -> str:
    """The stored id of a session cookie token: its SHA-256, never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


async def user_for_session(
    session: AsyncSession, token: str, now: datetime
) -> tuple[AuthSession, User] | None:
    """The live session and its active user for a cookie token, or None."""
    row = (
        await session.execute(
            select(AuthSession, User)
            .join(User, User.id == AuthSession.user_id)
            .where(
                AuthSession.id == session_id_for(token),
                AuthSession.expires_at > now,
                User.is_active.is_(True),
            )
        )
    ).first()
    if row is None:
        return None
    return row[0], row[1]


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == normalise_email(email)))


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def authenticate(session: AsyncSession, email: str, password: str) -> User | None:
    """The active user with this email and password, or None. An unknown email costs the same
    hashing time as a wrong password, so the answer's timing tells nothing. Hashing runs in a
    thread: it takes tens of milliseconds of CPU and must not stall the event loop."""
    user = await user_by_email(session, email)
    stored = user.password_hash if user is not None else None
    ok = await asyncio.to_thread(verify_password, stored, password)
    if user is None or not ok or not user.is_active:
        return None
    return user
