"""Open and close the long-lived resources: database, pub/sub, search index, templates.

The database must be migrated before Atrium serves (``atrium migrate``); starting against an
unmigrated one fails at once with that instruction instead of answering requests with errors.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from domain.db import Database
from portal.migrate import schema_is_current
from portal.settings import Settings
from portal.state import AppState
from portal.templating import make_templates
from realtime.pubsub import PubSub
from search.index import open_index

log = logging.getLogger(__name__)


class SchemaOutdated(RuntimeError):
    pass


def make_lifespan(settings: Settings):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[AppState]:
        db = Database(settings.database_url)
        pubsub = PubSub(settings.broadcast_url)
        search = open_index(settings.search_url)
        try:
            if not await schema_is_current(db):
                raise SchemaOutdated(
                    "the database schema is not up to date: run `atrium migrate` first"
                )
            await pubsub.connect()
            yield AppState(
                settings=settings,
                db=db,
                pubsub=pubsub,
                search=search,
                templates=make_templates(auto_reload=settings.debug),
            )
        finally:
            await pubsub.disconnect()
            await search.close()
            await db.dispose()

    return lifespan
