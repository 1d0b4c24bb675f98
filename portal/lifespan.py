"""Open and close the long-lived resources: database, pub/sub, search index, templates, and live
delivery (the websocket hub, the commit wake-ups that feed it, and the event log's pruning job).

The database must be migrated before Atrium serves (``atrium migrate``); starting against an
unmigrated one fails at once with that instruction instead of answering requests with errors.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.templating import Jinja2Templates

from domain.db import Database
from domain.posts.storage import AttachmentStore
from portal.collector import serving_collector
from portal.housekeeping import keep_house_forever
from portal.live.render import LiveRenderer
from portal.migrate import schema_is_current
from portal.settings import Settings
from portal.state import AppState
from portal.templating import make_templates
from realtime.hub import Hub, Timing
from realtime.pubsub import PubSub
from realtime.relay import Relay
from realtime.retention import prune_forever
from realtime.revocation import SessionGuard
from realtime.tasks import cancel_and_wait
from realtime.wakeups import CommitWakeups
from search.index import SearchIndex, open_index
from search.indexer import Indexer

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
            templates = make_templates(auto_reload=settings.debug)
            wakeups = CommitWakeups(db, pubsub)
            async with (
                live_delivery(app, settings, db, wakeups, templates) as hub,
                search_indexing(settings, db, wakeups, search) as indexer,
                wakeups.installed(),
            ):
                housekeeping = asyncio.create_task(keep_house_forever(db, settings.data_dir))
                try:
                    with serving_collector():
                        yield AppState(
                            settings=settings,
                            db=db,
                            pubsub=pubsub,
                            search=search,
                            templates=templates,
                            hub=hub,
                            search_indexer=indexer,
                        )
                finally:
                    await cancel_and_wait(housekeeping)
        finally:
            await pubsub.disconnect()
            await search.close()
            await db.dispose()

    return lifespan


@asynccontextmanager
async def live_delivery(
    app: Starlette,
    settings: Settings,
    db: Database,
    wakeups: CommitWakeups,
    templates: Jinja2Templates,
) -> AsyncIterator[Hub]:
    """The hub, woken by every commit's wake-up (this process's and others'), plus the pruning
    job."""
    guard = SessionGuard(db)
    hub = Hub(
        db,
        Relay(db),
        LiveRenderer(db, templates, app),
        load_principals=guard.principals,
        live_sessions=guard.live_sessions,
        timing=Timing(poll_interval=settings.live_poll_ms / 1000),
    )
    await hub.start()
    wakeups.listen(hub.nudge)
    pruning = asyncio.create_task(prune_forever(db, settings.event_retention_days))
    try:
        yield hub
    finally:
        await cancel_and_wait(pruning)
        await hub.stop()


@asynccontextmanager
async def search_indexing(
    settings: Settings, db: Database, wakeups: CommitWakeups, search: SearchIndex
) -> AsyncIterator[Indexer]:
    """The search indexer follows the event log in the background, woken by every commit's
    wake-up (this process's and others'); with the embedded index only the process holding the
    writer lock indexes, the others stand by."""
    indexer = Indexer(db, search, files=AttachmentStore(settings.data_dir))
    task = asyncio.create_task(indexer.run(), name="search-indexer")
    wakeups.listen(indexer.wake)
    try:
        yield indexer
    finally:
        await cancel_and_wait(task)
