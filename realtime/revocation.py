"""Whether an open socket's session still counts, with the predicate HTTP requests use.

A socket is authenticated once, when it opens; these two functions let the hub ask again.
``live_sessions`` checks many sockets in one query (the session row exists, has not expired, and
its user is active — logout, revocation and deactivation all end the row or the user);
``principals`` recomputes sockets' audience tokens (``domain.access``), e.g. after a user left a
group, for many sockets in a few statements.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select

from domain.access import Principal, load_principals
from domain.db import Database, utcnow
from domain.people.models import AuthSession, User

CHUNK = 500


class SessionGuard:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def live_sessions(self, session_ids: Collection[str]) -> set[str]:
        ids = list(session_ids)
        now = utcnow()
        live: set[str] = set()
        async with self.db.session() as session:
            for start in range(0, len(ids), CHUNK):
                live.update(
                    await session.scalars(
                        select(AuthSession.id)
                        .join(User, User.id == AuthSession.user_id)
                        .where(
                            AuthSession.id.in_(ids[start : start + CHUNK]),
                            AuthSession.expires_at > now,
                            User.is_active.is_(True),
                        )
                    )
                )
        return live

    async def principals(self, session_ids: Collection[str]) -> dict[str, Principal]:
        """The principal of each of these sessions that is still live, computed afresh."""
        ids = list(session_ids)
        now = utcnow()
        found: dict[str, Principal] = {}
        async with self.db.session() as session:
            for start in range(0, len(ids), CHUNK):
                rows = (
                    await session.execute(
                        select(AuthSession.id, User)
                        .join(User, User.id == AuthSession.user_id)
                        .where(
                            AuthSession.id.in_(ids[start : start + CHUNK]),
                            AuthSession.expires_at > now,
                            User.is_active.is_(True),
                        )
                    )
                ).all()
                users = {user.id: user for _, user in rows}
                principals = await load_principals(session, list(users.values()))
                found.update((session_id, principals[user.id]) for session_id, user in rows)
        return found
