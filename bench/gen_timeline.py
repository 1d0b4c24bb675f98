"""Generate the timeline benchmark's company: 10,000 users, 500 groups, 1,000,000 posts.

The shape follows a mid-sized company a few years into using Atrium: 9,700 staff and 300
customer contacts; groups of every visibility whose sizes follow a long tail (a few with
thousands of members, most with a few dozen), 25 of them shared with customer accounts; posts
mostly in groups (about 80 %), the rest on the company timeline (15 %) or sent to people, with
hashtags, mentions, linked customers, shares, polls, attachments and reactions sprinkled in, a
few pinned and a few deleted. Every post's audience and channels are what
``domain.posts.audience`` would write; ids grow with time, as they do in the app.

Rows are generated in chunks and written with the drivers' bulk paths — ``executemany`` on one
SQLite connection with the journal off, ``COPY`` through asyncpg on PostgreSQL — so the whole
set (about 7 million rows) takes a couple of minutes rather than hours. The result is cached:
``ensure_sqlite`` keeps the file under ``$ATRIUM_BENCH_DIR`` (default: the system temp dir) and
``ensure_postgres`` keeps a database of its own, both named after ``VERSION``, so only the first
run pays. Bump ``VERSION`` when the generator or the schema changes.

    .venv/bin/python bench/gen_timeline.py                 # SQLite, prints the time it took
    .venv/bin/python bench/gen_timeline.py --postgres URL  # also PostgreSQL (admin URL)

Measured on the shared 2-core development machine (load average 5–7 from other work, the
generator at nice 10): SQLite 522 s (620 MB file), PostgreSQL 773 s; about 3 minutes of that is
CPU, the rest waiting on the machine and the disk.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

VERSION = 1
POSTS = 1_000_000
USERS = 10_000
CUSTOMERS = 300  # the last CUSTOMERS users, one contact per account
GROUPS = 500
SHARED_GROUPS = 25
ACCOUNTS = CUSTOMERS
CHUNK = 50_000
SEED = 20261129

# The two readers the benchmark signs in as (ids): a typical member of staff — in a handful of
# groups, following a few channels and muting one — and a customer in one shared group.
STAFF_READER = 1
COMMUNICATION = 2  # posts the company news
CUSTOMER_READER = USERS - CUSTOMERS + 1

START = datetime(2023, 11, 1, tzinfo=UTC)
END = datetime(2026, 11, 28, tzinfo=UTC)
TAGS = [f"topic{n}" for n in range(300)]


@dataclass
class Table:
    name: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)


def _zipf_weights(n: int, s: float) -> list[float]:
    return [1 / (rank + 1) ** s for rank in range(n)]


class Company:
    """The generated company, built and streamed to a sink in chunks of rows per table."""

    def __init__(self, dialect: str) -> None:
        self.random = random.Random(SEED)
        self.sqlite = dialect == "sqlite"
        self.staff = list(range(1, USERS - CUSTOMERS + 1))
        self.customers = list(range(CUSTOMER_READER, USERS + 1))
        self.members: dict[int, list[int]] = {g: [] for g in range(1, GROUPS + 1)}
        self.visibility: dict[int, str] = {}
        self.shared_with: dict[int, list[int]] = {}
        self.group_weights = _zipf_weights(GROUPS, 0.9)
        self.author_weights = _zipf_weights(len(self.staff), 0.6)

    # -- value formats ----------------------------------------------------------------------------

    def when(self, moment: datetime | None) -> Any:
        if moment is None or not self.sqlite:
            return moment
        return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")

    def flag(self, value: bool) -> Any:
        return int(value) if self.sqlite else value

    # -- people, records and groups ---------------------------------------------------------------

    def people(self) -> Iterator[Table]:
        users = Table("users", ("id", "email", "name", "kind", "is_active", "created_at"))
        roles = Table("user_roles", ("user_id", "role"))
        created = self.when(START)
        for user_id in range(1, USERS + 1):
            kind = "customer" if user_id >= CUSTOMER_READER else "staff"
            email = f"user{user_id}@example.com"
            users.rows.append((user_id, email, f"User {user_id}", kind, self.flag(True), created))
        roles.rows.append((COMMUNICATION, "communication"))
        yield users
        yield roles

        accounts = Table(
            "accounts", ("id", "code", "name", "type", "country", "credit_limit_cents")
        )
        contacts = Table("contacts", ("id", "account_id", "user_id", "name"))
        audiences = Table("record_audiences", ("kind", "token", "record_id"))
        for account_id in range(1, ACCOUNTS + 1):
            accounts.rows.append(
                (account_id, f"C{account_id:05}", f"Customer {account_id}", "customer", "NL", 0)
            )
            user_id = CUSTOMER_READER + account_id - 1
            contacts.rows.append((account_id, account_id, user_id, f"User {user_id}"))
            audiences.rows.append(("account", "role:employee", account_id))
            audiences.rows.append(("account", f"account:{account_id}", account_id))
            audiences.rows.append(("contact", "role:employee", account_id))
            audiences.rows.append(("contact", f"account:{account_id}", account_id))
        yield from (accounts, contacts, audiences)

    def groups(self) -> Iterator[Table]:
        rnd = self.random
        groups = Table(
            "groups",
            ("id", "name", "description", "visibility", "is_mandatory", "created_at"),
        )
        memberships = Table(
            "group_memberships", ("group_id", "user_id", "role", "state", "via_rule", "created_at")
        )
        shares = Table("group_shares", ("group_id", "account_id"))
        for group_id in range(1, GROUPS + 1):
            visibility = ("public",) * 6 + ("private",) * 3 + ("hidden",)
            self.visibility[group_id] = visibility[group_id % 10]
        # Shared groups are private groups spread over the popularity ranks.
        shared_ids = [g for g in range(1, GROUPS + 1) if g % 10 == 7][:SHARED_GROUPS]
        per_shared = ACCOUNTS // SHARED_GROUPS
        for n, group_id in enumerate(shared_ids):
            self.visibility[group_id] = "private"
            accounts = list(range(n * per_shared + 1, (n + 1) * per_shared + 1))
            self.shared_with[group_id] = accounts
            shares.rows += [(group_id, a) for a in accounts]
        # Each member of staff joins 2 to 12 groups, popular ones more often.
        group_ids = list(range(1, GROUPS + 1))
        for user_id in self.staff:
            wanted = rnd.randint(2, 12)
            for group_id in set(rnd.choices(group_ids, self.group_weights, k=wanted)):
                self.members[group_id].append(user_id)
        # The staff reader: a typical member, in six groups of middling size.
        for group_id in (3, 17, 41, 88, 160, 307):
            if STAFF_READER not in self.members[group_id]:
                self.members[group_id].append(STAFF_READER)
        for group_id, accounts in self.shared_with.items():
            self.members[group_id] += [CUSTOMER_READER + a - 1 for a in accounts]
        created = self.when(START)
        for group_id in group_ids:
            members = self.members[group_id]
            if not members:
                members.append(rnd.choice(self.staff))
            groups.rows.append(
                (
                    group_id,
                    f"Group {group_id}",
                    "",
                    self.visibility[group_id],
                    self.flag(False),
                    created,
                )
            )
            for n, user_id in enumerate(members):
                role = "owner" if n == 0 else "manager" if n == 1 else "member"
                memberships.rows.append(
                    (group_id, user_id, role, "active", self.flag(False), created)
                )
        yield from (groups, memberships, shares)

    def follows(self) -> Iterator[Table]:
        rnd = self.random
        follows = Table("follows", ("user_id", "channel", "muted", "created_at"))
        created = self.when(START)
        public = [g for g, v in self.visibility.items() if v == "public"]
        for user_id in self.staff:
            channels: dict[str, bool] = {}
            for _ in range(rnd.randint(0, 5)):
                pick = rnd.random()
                if pick < 0.4:
                    channels[f"author:{rnd.choice(self.staff)}"] = False
                elif pick < 0.8:
                    channels[f"group:{rnd.choice(public)}"] = False
                else:
                    channels[f"record:account:{rnd.randint(1, ACCOUNTS)}"] = False
            if rnd.random() < 0.2:
                channels[f"group:{rnd.randint(1, GROUPS)}"] = True
            if user_id == STAFF_READER:
                channels = {
                    f"author:{COMMUNICATION + 10}": False,
                    "group:5": False,
                    "record:account:7": False,
                    "group:41": True,
                }
            follows.rows += [(user_id, c, self.flag(m), created) for c, m in channels.items()]
        yield follows

    # -- posts ------------------------------------------------------------------------------------

    def posts(self) -> Iterator[Table]:
        rnd = self.random
        group_ids = list(range(1, GROUPS + 1))
        tag_weights = _zipf_weights(len(TAGS), 1.0)
        span = (END - START).total_seconds()
        last_news = POSTS - 5_000
        option_id = 0
        attachment_id = 0
        for first in range(1, POSTS + 1, CHUNK):
            posts = Table(
                "posts",
                (
                    "id",
                    "kind",
                    "author_id",
                    "group_id",
                    "shared_post_id",
                    "body",
                    "body_html",
                    "news_until",
                    "pinned_at",
                    "comment_count",
                    "reaction_counts",
                    "created_at",
                    "deleted_at",
                ),
            )
            audiences = Table("post_audiences", ("post_id", "token"))
            channels = Table("post_channels", ("channel", "post_id"))
            records = Table("post_records", ("post_id", "record_kind", "record_id", "position"))
            recipients = Table("post_recipients", ("post_id", "user_id"))
            polls = Table("polls", ("post_id", "kind", "results", "closes_at", "voter_count"))
            options = Table("poll_options", ("id", "post_id", "position", "label", "vote_count"))
            reactions = Table("reactions", ("post_id", "user_id", "kind", "created_at"))
            attachments = Table(
                "attachments",
                (
                    "id",
                    "post_id",
                    "uploader_id",
                    "filename",
                    "content_type",
                    "size",
                    "sha256",
                    "storage_key",
                    "is_image",
                    "position",
                    "created_at",
                ),
            )
            for post_id in range(first, min(first + CHUNK, POSTS + 1)):
                created_at = START + timedelta(seconds=span * post_id / (POSTS + 1))
                kind = "post"
                group_id: int | None = None
                to: list[int] = []
                audience: set[str]
                chans: set[str]
                news_until = None
                place = rnd.random()
                if place < 0.001 or (post_id > last_news and post_id % 1000 == 0):
                    kind, author = "news", COMMUNICATION
                    audience, chans = {"role:employee"}, {"company", "news"}
                    # The last few are still running at the end of the generated time.
                    running = post_id > last_news
                    news_until = (END if running else created_at) + timedelta(days=14)
                elif place < 0.15:
                    author = self.staff[rnd.choices(range(len(self.staff)), self.author_weights)[0]]
                    audience, chans = {"role:employee"}, {"company"}
                elif place < 0.20:
                    author = rnd.choice(self.staff)
                    to = sorted(set(rnd.choices(self.staff, k=rnd.randint(1, 3))) - {author})
                    if not to:
                        to = [STAFF_READER if author != STAFF_READER else COMMUNICATION]
                    audience = {f"user:{r}" for r in to}
                    chans = {f"to:{r}" for r in to}
                else:
                    group_id = rnd.choices(group_ids, self.group_weights)[0]
                    author = rnd.choice(self.members[group_id])
                    audience = {f"group:{group_id}"}
                    if self.visibility[group_id] == "public":
                        audience.add("role:employee")
                    chans = {f"group:{group_id}"}
                audience.add(f"user:{author}")
                chans.add(f"author:{author}")
                body = f"Post {post_id} from user {author}"
                if rnd.random() < 0.2:
                    tag = rnd.choices(TAGS, tag_weights)[0]
                    chans.add(f"tag:{tag}")
                    body += f" about #{tag}"
                if rnd.random() < 0.1:
                    pool = self.members[group_id] if group_id else self.staff
                    mentioned = rnd.choice(pool)
                    chans.add(f"mention:{mentioned}")
                    body += f" with @user{mentioned}"
                if rnd.random() < 0.05:
                    account_id = rnd.randint(1, ACCOUNTS)
                    records.rows.append((post_id, "account", account_id, 0))
                    chans.add(f"record:account:{account_id}")
                shared = (
                    rnd.randint(1, post_id - 1) if post_id > 1 and rnd.random() < 0.02 else None
                )
                deleted = rnd.random() < 0.005
                pinned = group_id is not None and rnd.random() < 0.0005
                if rnd.random() < 0.005:
                    polls.rows.append((post_id, "single", "after_vote", None, 0))
                    for position in range(3):
                        option_id += 1
                        options.rows.append((option_id, post_id, position, f"Option {position}", 0))
                if rnd.random() < 0.02:
                    attachment_id += 1
                    attachments.rows.append(
                        (
                            attachment_id,
                            post_id,
                            author,
                            f"file{attachment_id}.pdf",
                            "application/pdf",
                            12_345,
                            "0" * 64,
                            f"bench-{attachment_id}",
                            self.flag(False),
                            0,
                            self.when(created_at),
                        )
                    )
                counts: dict[str, int] = {}
                if rnd.random() < 0.25:
                    for reactor in set(rnd.choices(self.staff, k=rnd.randint(1, 3))):
                        kind_of = rnd.choice(("like", "thanks", "celebrate"))
                        counts[kind_of] = counts.get(kind_of, 0) + 1
                        reactions.rows.append((post_id, reactor, kind_of, self.when(created_at)))
                recipients.rows += [(post_id, r) for r in to]
                audiences.rows += [(post_id, t) for t in audience]
                if not deleted:  # a deleted post leaves every channel (do_delete_post)
                    channels.rows += [(c, post_id) for c in chans]
                posts.rows.append(
                    (
                        post_id,
                        kind,
                        author,
                        group_id,
                        shared,
                        body,
                        f"<p>{body}</p>",
                        self.when(news_until),
                        self.when(created_at if pinned else None),
                        0,
                        json.dumps(counts),
                        self.when(created_at),
                        self.when(created_at + timedelta(hours=1) if deleted else None),
                    )
                )
            yield from (
                posts,
                audiences,
                channels,
                records,
                recipients,
                polls,
                options,
                reactions,
                attachments,
            )


def generate(dialect: str) -> Iterator[Table]:
    """Every table's rows, in chunks, in an order that keeps foreign keys satisfied."""
    company = Company(dialect)
    yield from company.people()
    yield from company.groups()
    yield from company.follows()
    yield from company.posts()


# -- writers --------------------------------------------------------------------------------------


def bench_dir() -> Path:
    path = Path(os.environ.get("ATRIUM_BENCH_DIR") or tempfile.gettempdir()) / "atrium-bench"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _progress(started: float, table: Table) -> None:
    if table.name == "posts":
        print(f"  … {table.rows[-1][0]:,} posts, {time.perf_counter() - started:.0f} s", flush=True)


async def _migrate(url: str) -> None:
    from portal.migrate import upgrade_async

    await upgrade_async(url)


def ensure_sqlite() -> str:
    """The URL of the cached SQLite benchmark database, generated first if missing."""
    path = bench_dir() / f"timeline-v{VERSION}.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    if path.exists():
        return url
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    started = time.perf_counter()
    print(f"generating {partial} (once; cached for later runs)", flush=True)
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{partial}"))
    connection = sqlite3.connect(partial, isolation_level=None)
    connection.execute("PRAGMA journal_mode=OFF")
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("PRAGMA cache_size=-400000")
    connection.execute("BEGIN")

    for table in generate("sqlite"):
        if table.rows:
            marks = ", ".join("?" * len(table.columns))
            columns = ", ".join(table.columns)
            sql = f"INSERT INTO {table.name} ({columns}) VALUES ({marks})"  # noqa: S608
            connection.executemany(sql, table.rows)
        _progress(started, table)
    connection.execute("COMMIT")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.close()
    partial.rename(path)
    print(f"SQLite: generated in {time.perf_counter() - started:.0f} s", flush=True)
    return url


async def _postgres(admin_url: str, name: str) -> str:
    import asyncpg  # type: ignore[import-untyped]
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    url = admin_url.rsplit("/", 1)[0] + "/" + name
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        exists = await conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        )
        if exists:
            await admin.dispose()
            return url
        partial = name + "_partial"
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{partial}"'))
        await conn.execute(text(f'CREATE DATABASE "{partial}"'))
    started = time.perf_counter()
    print(f"generating PostgreSQL database {name} (once; kept for later runs)", flush=True)
    partial_url = admin_url.rsplit("/", 1)[0] + "/" + partial
    await _migrate(partial_url)
    raw = await asyncpg.connect(partial_url.replace("postgresql+asyncpg", "postgresql"))
    for table in generate("postgresql"):
        if table.rows:
            await raw.copy_records_to_table(table.name, records=table.rows, columns=table.columns)
        _progress(started, table)
    serials = ("users", "accounts", "contacts", "groups", "posts", "poll_options", "attachments")
    for sequence_table in serials:
        await raw.execute(
            f"SELECT setval(pg_get_serial_sequence('{sequence_table}', 'id'), "  # noqa: S608
            f"(SELECT max(id) FROM {sequence_table}))"
        )
    await raw.execute("ANALYZE")
    await raw.close()
    async with admin.connect() as conn:
        await conn.execute(text(f'ALTER DATABASE "{partial}" RENAME TO "{name}"'))
    await admin.dispose()
    print(f"PostgreSQL: generated in {time.perf_counter() - started:.0f} s", flush=True)
    return url


def ensure_postgres(admin_url: str) -> str:
    """The URL of the cached PostgreSQL benchmark database (made once, from ``admin_url``)."""
    return asyncio.run(_postgres(admin_url, f"atrium_bench_timeline_v{VERSION}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="a PostgreSQL admin URL (postgresql+asyncpg://…)")
    args = parser.parse_args()
    print(ensure_sqlite())
    if args.postgres:
        print(ensure_postgres(args.postgres))


if __name__ == "__main__":
    main()
