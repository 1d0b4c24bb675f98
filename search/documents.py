"""Domain objects as search documents, each with its audience, kind, title, body, author, date and
URL, read from the database in batches (the indexer re-reads what an event touched; a reindex
reads everything, kind by kind, in id order).

What goes into a document is what everyone in its audience may read on the object's own page:

- records carry their ``record_audiences`` rows. An employee's audience includes customers and
  partners, who see an employee only as a contact person, so an employee document holds the
  directory fields only — name, job title, email, work phone — never HR-private fields, the
  number, department or skills. Invoices carry their number, account, project and amounts;
  accounts their code and city (never the credit limit), contacts their job title, email, phone;
  projects their code, status and description; items (staff only) their code and description;
- groups carry ``group_audience`` (who may find the group) and their description;
- posts carry their ``post_audiences`` rows; comments and attachments are documents of their own
  with their post's audience (a comment is found and opened on its post). Deleted posts and
  comments, and uploads not attached to a post, have no document.

Labels in facets (an author's, a group's or an account's name) are stored with the documents.
``documents_posts`` holds the posts' half.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.groups.models import Group
from domain.groups.queries import group_audience
from domain.posts.storage import AttachmentStore
from domain.records.audience import RecordAudience
from domain.records.models import Account, Contact, Employee, Invoice, Item, Project
from search.documents_posts import MODELS as POST_MODELS
from search.documents_posts import (
    attachment_documents,
    comment_documents,
    post_documents,
    user_names,
)
from search.index import Ref, SearchDocument

RECORD_KINDS = ("account", "contact", "project", "employee", "invoice", "item")
KINDS = ("post", "comment", "attachment", "group", *RECORD_KINDS)

MODELS: dict[str, Any] = {
    "account": Account,
    "contact": Contact,
    "project": Project,
    "employee": Employee,
    "invoice": Invoice,
    "item": Item,
    "group": Group,
}


def doc_id(kind: str, object_id: int) -> str:
    return f"{kind}:{object_id}"


def parse_doc_id(value: str) -> tuple[str, int]:
    kind, _, number = value.partition(":")
    return kind, int(number)


def record_url(kind: str, record_id: int) -> str:
    return f"/records/{kind}s/{record_id}"


def _day(value: date | None) -> datetime | None:
    return datetime.combine(value, time.min, UTC) if value else None


def _lines(*values: object) -> str:
    return "\n".join(str(v) for v in values if v not in (None, ""))


def money(cents: int, currency: str = "EUR") -> str:
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{currency} {sign}{whole:,}.{rest:02d}"


async def _record_audiences(
    session: AsyncSession, kind: str, ids: Sequence[int]
) -> dict[int, frozenset[str]]:
    rows = await session.execute(
        select(RecordAudience.record_id, RecordAudience.token).where(
            RecordAudience.kind == kind, RecordAudience.record_id.in_(ids)
        )
    )
    found: dict[int, set[str]] = defaultdict(set)
    for record_id, token in rows:
        found[record_id].add(token)
    return {k: frozenset(v) for k, v in found.items()}


async def _account_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(Account.id, Account.name).where(Account.id.in_(ids)))
    return {k: v for k, v in rows.all()}


async def _records(session: AsyncSession, kind: str, ids: Sequence[int]) -> list[SearchDocument]:
    model = MODELS[kind]
    rows: Sequence[Any] = (await session.scalars(select(model).where(model.id.in_(ids)))).all()
    audiences = await _record_audiences(session, kind, ids)
    accounts = await _account_names(
        session, {r.account_id for r in rows if getattr(r, "account_id", None)}
    )
    project_names: dict[int, str] = {}
    if kind == "invoice":
        project_ids = {r.project_id for r in rows if r.project_id}
        if project_ids:
            found = await session.execute(
                select(Project.id, Project.name).where(Project.id.in_(project_ids))
            )
            project_names = {k: v for k, v in found.all()}
    docs = []
    for row in rows:
        audience = audiences.get(row.id)
        if not audience:
            continue  # nobody may see it (audiences not computed yet): nothing to find
        account = (
            Ref(row.account_id, accounts.get(row.account_id, ""))
            if getattr(row, "account_id", None)
            else None
        )
        docs.append(_record(kind, row, audience, account, project_names))
    return docs


def _record(
    kind: str,
    row: object,
    audience: frozenset[str],
    account: Ref | None,
    projects: dict[int, str],
) -> SearchDocument:
    r: object = row
    when: datetime | None = None
    if isinstance(r, Account):
        title, body = r.name, _lines(r.code, r.city, r.type.value)
        account = Ref(r.id, r.name)
    elif isinstance(r, Contact):
        title = r.name
        body = _lines(r.job_title, r.email, r.phone, account.label if account else None)
    elif isinstance(r, Project):
        title = r.name
        body = _lines(r.code, r.status.value, account.label if account else None, r.description)
        when = _day(r.start_date)
    elif isinstance(r, Employee):
        title, body = r.name, _lines(r.job_title, r.email, r.work_phone)
    elif isinstance(r, Invoice):
        title = r.number
        body = _lines(
            account.label if account else None,
            projects.get(r.project_id) if r.project_id else None,
            f"total {money(r.total_cents, r.currency)}",
            f"paid {money(r.paid_cents, r.currency)}",
            f"open {money(r.open_cents, r.currency)}",
        )
        when = _day(r.issue_date)
    elif isinstance(r, Item):
        title, body = r.description, _lines(r.code, r.unit)
    else:
        raise TypeError(kind)
    return SearchDocument(
        id=doc_id(kind, r.id),
        kind=kind,
        title=title,
        body=body,
        url=record_url(kind, r.id),
        audience=audience,
        account=account,
        date=when,
    )


async def _groups(session: AsyncSession, ids: Sequence[int]) -> list[SearchDocument]:
    groups = (await session.scalars(select(Group).where(Group.id.in_(ids)))).all()
    creators = await user_names(session, {g.created_by_id for g in groups if g.created_by_id})
    return [
        SearchDocument(
            id=doc_id("group", g.id),
            kind="group",
            title=g.name,
            body=g.description,
            url=f"/groups/{g.id}",
            audience=group_audience(g),
            author=Ref(g.created_by_id, creators.get(g.created_by_id, ""))
            if g.created_by_id
            else None,
            group=Ref(g.id, g.name),
            date=g.created_at,
        )
        for g in groups
    ]


async def load_documents(
    session: AsyncSession,
    kind: str,
    ids: Sequence[int],
    *,
    files: AttachmentStore | None = None,
) -> list[SearchDocument]:
    """The documents of these objects as the database has them now. An id without a document
    (deleted, or hidden from everyone) is simply absent: the caller deletes it from the index."""
    ids = sorted(set(ids))
    if not ids:
        return []
    if kind in RECORD_KINDS:
        return await _records(session, kind, ids)
    if kind == "group":
        return await _groups(session, ids)
    if kind == "post":
        return await post_documents(session, ids)
    if kind == "comment":
        return await comment_documents(session, ids)
    if kind == "attachment":
        return await attachment_documents(session, ids, files)
    raise ValueError(f"unknown document kind {kind!r}")


async def ids_after(session: AsyncSession, kind: str, after: int, limit: int) -> list[int]:
    """The next ``limit`` ids of a kind above ``after``: how a reindex walks a table."""
    model: Any = MODELS.get(kind) or POST_MODELS[kind]
    rows = await session.scalars(
        select(model.id).where(model.id > after).order_by(model.id).limit(limit)
    )
    return list(rows.all())
