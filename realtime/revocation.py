"""Whether an open socket's session still counts, with the predicate HTTP requests use.

A socket is authenticated once, when it opens; these two functions let the hub ask again.
``live_sessions`` checks many sockets in one query (the session row exists, has not expired, and
its user is active — logout, revocation and deactivation all end the row or the user);
``reload_principal`` recomputes one socket's audience tokens (``domain.access``), e.g. after its
user left a group.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select

from domain.access import Principal, load_principal
from domain.db import Database, utcnow
from domain.people.models import AuthSession, User
from domain.people.queries import user_for_session
from realtime.connection import Connection

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

    async def reload_principal(self, conn: Connection) -> Principal | None:
        async with self.db.session() as session:
            found = await user_for_session(session, conn.session_token, utcnow())
            if found is None:
                return None
            return await load_principal(session, found[1])
