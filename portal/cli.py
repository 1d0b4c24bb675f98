"""The ``atrium`` command: serve, migrate, demo, reindex, createuser.

Configuration errors end the command with exit status 2 and a message naming the variable.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import time
from collections.abc import Sequence

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from domain.db import Database
from domain.errors import ValidationFailed
from domain.people.models import Role, UserKind
from portal.settings import ConfigError, Settings

NOT_MIGRATED = "error: the database schema is not up to date: run `atrium migrate` first"


async def _schema_ready(db: Database) -> bool:
    """Commands that write data need the current schema; without it they would end in an SQL
    traceback, so they say what to do instead."""
    from portal.migrate import schema_is_current

    if await schema_is_current(db):
        return True
    print(NOT_MIGRATED, file=sys.stderr)
    return False


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from portal.serving import uvicorn_options

    uvicorn.run(
        "portal.app:create_app",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers,
        proxy_headers=True,
        log_level="info",
        **uvicorn_options(),
    )
    return 0


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from portal.migrate import upgrade

    upgrade(settings.database_url, args.revision)
    print(f"database at {args.revision}")
    return 0


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from domain.demo import load_demo

    async def run() -> int:
        db = Database(settings.database_url)
        try:
            if not await _schema_ready(db):
                return 1
            started = time.perf_counter()
            summary = await load_demo(db, reset=args.reset)
            if summary is not None:
                # The demo's rows bypass the actions, so no events tell the indexer: rebuild.
                print(f"demo data loaded in {time.perf_counter() - started:.1f} s: {summary}")
                return await _rebuild_index(settings, db)
        except RuntimeError as exc:  # company data but no users: load_demo will not mix them
            print(f"error: {exc}", file=sys.stderr)
            return 1
        finally:
            await db.dispose()
        print("demo data already present (use --reset to load it again)")
        return 0

    return asyncio.run(run())


async def _rebuild_index(settings: Settings, db: Database) -> int:
    """Build the search index anew beside the live one and swap it in (see ``search.rebuild``)."""
    from domain.posts.storage import AttachmentStore
    from search.index import SearchUnavailable, open_index
    from search.rebuild import rebuild

    index = open_index(settings.search_url)
    try:
        done = await rebuild(db, index, files=AttachmentStore(settings.data_dir))
    except SearchUnavailable as exc:
        print(f"error: search index: {exc}", file=sys.stderr)
        return 1
    finally:
        await index.close()
    print(
        f"search index rebuilt: {done.documents} documents in {done.seconds:.1f} s "
        f"({done.rate:,.0f} documents/s), swapped in by {done.swapped_by}"
    )
    return 0


def _reindex(settings: Settings, args: argparse.Namespace) -> int:
    from domain.posts.storage import AttachmentStore
    from search.index import SearchUnavailable, open_index
    from search.reconcile import reconcile

    async def run() -> int:
        db = Database(settings.database_url)
        try:
            if not await _schema_ready(db):
                return 1
            if not (args.check or args.repair):
                return await _rebuild_index(settings, db)
            index = open_index(settings.search_url)
            try:
                drift = await reconcile(
                    db, index, files=AttachmentStore(settings.data_dir), repair=args.repair
                )
            except SearchUnavailable as exc:
                print(
                    f"error: search index: {exc}; while `atrium serve` writes the index, "
                    "use `atrium reindex` (it hands the new index to the server)",
                    file=sys.stderr,
                )
                return 1
            finally:
                await index.close()
            print(("repaired: " if args.repair else "") + str(drift))
            return 1 if drift.changed and args.check else 0
        finally:
            await db.dispose()

    return asyncio.run(run())


def _createuser(settings: Settings, args: argparse.Namespace) -> int:
    from domain.people.actions import do_create_user

    interactive = sys.stdin.isatty()
    email = args.email or (input("Email: ") if interactive else "")
    name = args.name or (input("Name: ") if interactive else "")
    password = args.password
    if password is None and interactive:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password (again): ") != password:
            print("error: the passwords are not the same", file=sys.stderr)
            return 1
    if not email or not name or not password:
        print("error: give --email, --name and --password (or run interactively)", file=sys.stderr)
        return 2
    roles = frozenset(Role(r) for r in args.role)

    async def run() -> int:
        db = Database(settings.database_url)
        try:
            if not await _schema_ready(db):
                return 1
            async with db.transaction() as session:
                user = await do_create_user(
                    session,
                    email=email,
                    name=name,
                    password=password,
                    kind=UserKind.STAFF,
                    roles=roles,
                    language=args.language,
                )
        except ValidationFailed as exc:
            for field, message in exc.errors.items():
                print(f"error: {field}: {message}", file=sys.stderr)
            return 1
        finally:
            await db.dispose()
        print(f"created user {user.id} <{user.email}>")
        return 0

    return asyncio.run(run())


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="atrium", description="Atrium collaboration portal")
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the portal over HTTP")
    serve.add_argument("--host", help="address to bind (default ATRIUM_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default ATRIUM_PORT or 8000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.set_defaults(run=_serve)

    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate.add_argument("--revision", default="head")
    migrate.set_defaults(run=_migrate)

    demo = commands.add_parser("demo", help="load the demo company (once)")
    demo.add_argument("--reset", action="store_true", help="erase all data and load it again")
    demo.set_defaults(run=_demo)

    reindex = commands.add_parser(
        "reindex", help="rebuild the search index from the database, without a gap in service"
    )
    mode = reindex.add_mutually_exclusive_group()
    mode.add_argument(
        "--check", action="store_true", help="only compare index and database (exit 1 on drift)"
    )
    mode.add_argument(
        "--repair", action="store_true", help="fix drift in place instead of rebuilding"
    )
    reindex.set_defaults(run=_reindex)

    create = commands.add_parser("createuser", help="create a staff user")
    create.add_argument("--email")
    create.add_argument("--name")
    create.add_argument("--password", help="omit to be asked (recommended)")
    create.add_argument("--language", choices=["en", "nl"])
    create.add_argument(
        "--role",
        action="append",
        default=[],
        choices=[r.value for r in Role],
        help="grant a role (repeatable): admin, hr, communication",
    )
    create.set_defaults(run=_createuser)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"atrium: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        result: int = args.run(settings, args)
    except (OSError, DBAPIError) as exc:
        # An unreachable database is an operator's problem, not a bug: one line, no traceback.
        where = make_url(settings.database_url).render_as_string(hide_password=True)
        print(f"atrium: cannot use the database at {where}: {exc}", file=sys.stderr)
        return 1
    return result


if __name__ == "__main__":
    sys.exit(main())
