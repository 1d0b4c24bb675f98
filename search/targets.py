"""Which documents an event may have changed: event kind -> the objects to read again.

The indexer never trusts an event's payload for content: it re-reads the objects named here from
the database and writes whatever it finds (or deletes what is gone or hidden from everyone), so a
permission change — a post moved or deleted, a group made private, a project's team or an
account's manager changed — rewrites the audience of every document it touches.

Some audiences depend on other records (an employee is seen by the contacts of the accounts they
manage and of their projects; an account by the partners on its projects): for those, the
documents that *held* a token before the change are found in the index itself
(``ids_with_token``), and the ones that should hold it now in the database.

Membership and access changes (roles, activation) need nothing here: they change a principal's
tokens, not any document, and every query is filtered by the caller's current tokens.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import account_token, project_token
from domain.posts.models import Attachment, Comment, Post
from domain.records.models import Account, Contact, Invoice, Project, ProjectMember
from search.documents import parse_doc_id
from search.index import SearchIndex

Targets = dict[str, set[int]]


class Collector:
    """Collects the objects a batch of events names, then resolves what depends on them in a
    few queries for the whole batch (``resolve``), not a few per event."""

    def __init__(self, session: AsyncSession, index: SearchIndex) -> None:
        self.session = session
        self.index = index
        self.targets: Targets = defaultdict(set)
        self._accounts: set[int] = set()
        self._projects: set[int] = set()
        self._groups: set[int] = set()
        self._posts: set[int] = set()

    def add(self, kind: str, ids: Iterable[int | None]) -> None:
        self.targets[kind].update(i for i in ids if i is not None)

    async def _ids(self, stmt: Any) -> list[int]:
        return list((await self.session.scalars(stmt)).all())

    async def _indexed(self, kind: str, token: str) -> None:
        ids = await self.index.ids_with_token(kind, token)
        self.add(kind, (parse_doc_id(i)[1] for i in ids))

    def event(self, kind: str, payload: dict[str, Any]) -> None:
        if kind == "record.updated":
            record_kind, record_id = payload["record_kind"], int(payload["record_id"])
            self.add(record_kind, [record_id])
            if record_kind == "account":
                self._accounts.add(record_id)
            elif record_kind == "project":
                self._projects.add(record_id)
        elif kind == "group.changed":
            self._groups.add(int(payload["group_id"]))
        elif kind in ("post.created", "post.changed", "post.deleted"):
            self._posts.add(int(payload["post_id"]))
        elif kind in ("comment.added", "comment.changed", "comment.deleted"):
            self.add("comment", [int(payload["comment_id"])])
        # Reactions, votes, memberships and access changes change no document.

    async def resolve(self) -> Targets:
        if self._accounts:
            await self._resolve_accounts(sorted(self._accounts))
        if self._projects:
            await self._resolve_projects(sorted(self._projects))
        if self._groups:
            groups = sorted(self._groups)
            self.add("group", groups)
            self._posts.update(await self._ids(select(Post.id).where(Post.group_id.in_(groups))))
        if self._posts:
            await self._resolve_posts(sorted(self._posts))
        return self.targets

    async def _resolve_accounts(self, ids: list[int]) -> None:
        """An account's name labels its contacts, projects and invoices; its manager is seen by
        its contacts (the old manager's document holds its token until rewritten)."""
        for model in (Contact, Project, Invoice):
            kind = model.__name__.lower()
            self.add(kind, await self._ids(select(model.id).where(model.account_id.in_(ids))))
        self.add(
            "employee",
            await self._ids(select(Account.account_manager_id).where(Account.id.in_(ids))),
        )
        for account_id in ids:
            await self._indexed("employee", account_token(account_id))

    async def _resolve_projects(self, ids: list[int]) -> None:
        """A project's partners see its account and its team; its name labels its invoices."""
        rows = await self.session.execute(
            select(Project.account_id, Project.manager_id).where(Project.id.in_(ids))
        )
        for account_id, manager_id in rows:
            self.add("account", [account_id])
            self.add("employee", [manager_id])
        self.add(
            "employee",
            await self._ids(
                select(ProjectMember.employee_id).where(ProjectMember.project_id.in_(ids))
            ),
        )
        self.add("invoice", await self._ids(select(Invoice.id).where(Invoice.project_id.in_(ids))))
        for project_id in ids:
            await self._indexed("employee", project_token(project_id))
            await self._indexed("account", project_token(project_id))

    async def _resolve_posts(self, ids: list[int]) -> None:
        """Posts (even those whose row is gone: their documents must go too), and their
        comments and attachments, which share their audience."""
        self.add("post", ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            self.add(
                "comment", await self._ids(select(Comment.id).where(Comment.post_id.in_(chunk)))
            )
            self.add(
                "attachment",
                await self._ids(select(Attachment.id).where(Attachment.post_id.in_(chunk))),
            )
