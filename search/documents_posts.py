"""Posts, comments and attachments as search documents (see ``search.documents``).

A post's audience is its ``post_audiences`` rows, exactly what its timeline reads; a comment and
an attachment take their post's. The title of a post is its first line; a comment's says which
post it answers. Text is taken from the stored, sanitised HTML with the tags removed, so search
sees what readers see (mentions as names, links as their text) without rendering markdown again.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.groups.models import Group
from domain.people.models import User
from domain.posts.models import Attachment, Comment, Post, PostAudience
from domain.posts.storage import AttachmentStore
from search.extract import extract_text
from search.index import Ref, SearchDocument

TITLE_CHARS = 80
MODELS = {"post": Post, "comment": Comment, "attachment": Attachment}


_TAG = re.compile(r"<[^>]*>")
_BLOCK_END = re.compile(r"</(p|li|h[1-6]|blockquote|pre)>|<br\s*/?>", re.I)


def text_of(body_html: str, body: str) -> str:
    """The text of stored HTML. It went through ``domain.markup``'s allowlist when it was
    written, so taking the tags away is enough (and far cheaper than parsing it again)."""
    if not body_html:
        return body
    return html.unescape(_TAG.sub("", _BLOCK_END.sub("\n", body_html))).strip()


def title_of(text: str, fallback: str) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    if not line:
        return fallback
    if len(line) <= TITLE_CHARS:
        return line
    cut = line.rfind(" ", 0, TITLE_CHARS)
    return line[: cut if cut > 20 else TITLE_CHARS] + "…"


async def user_names(session: AsyncSession, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(select(User.id, User.name).where(User.id.in_(wanted)))
    return {k: v for k, v in rows.all()}


async def _audiences(session: AsyncSession, post_ids: set[int]) -> dict[int, frozenset[str]]:
    rows = await session.execute(
        select(PostAudience.post_id, PostAudience.token).where(PostAudience.post_id.in_(post_ids))
    )
    found: dict[int, set[str]] = defaultdict(set)
    for post_id, token in rows:
        found[post_id].add(token)
    return {k: frozenset(v) for k, v in found.items()}


@dataclass(frozen=True)
class PostRow:
    """The columns of a post a document needs (rows, not ORM objects: a reindex reads many)."""

    id: int
    author_id: int | None
    group_id: int | None
    body: str
    body_html: str
    created_at: datetime


async def _live_posts(session: AsyncSession, post_ids: set[int]) -> dict[int, PostRow]:
    rows = await session.execute(
        select(
            Post.id, Post.author_id, Post.group_id, Post.body, Post.body_html, Post.created_at
        ).where(Post.id.in_(post_ids), Post.deleted_at.is_(None))
    )
    return {row[0]: PostRow(*row) for row in rows.all()}


async def _group_names(session: AsyncSession, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(select(Group.id, Group.name).where(Group.id.in_(wanted)))
    return {k: v for k, v in rows.all()}


class _Context:
    """The posts behind a batch of documents, with their audiences and names."""

    def __init__(self) -> None:
        self.posts: dict[int, PostRow] = {}
        self.audiences: dict[int, frozenset[str]] = {}
        self.users: dict[int, str] = {}
        self.groups: dict[int, str] = {}

    @classmethod
    async def load(
        cls, session: AsyncSession, post_ids: set[int], user_ids: set[int | None]
    ) -> _Context:
        ctx = cls()
        ctx.posts = await _live_posts(session, post_ids)
        ctx.audiences = await _audiences(session, set(ctx.posts))
        ctx.users = await user_names(session, user_ids | {p.author_id for p in ctx.posts.values()})
        ctx.groups = await _group_names(session, {p.group_id for p in ctx.posts.values()})
        return ctx

    def author(self, user_id: int | None) -> Ref | None:
        return Ref(user_id, self.users.get(user_id, "")) if user_id else None

    def group(self, post: PostRow) -> Ref | None:
        gid = post.group_id
        return Ref(gid, self.groups.get(gid, "")) if gid else None

    def post_title(self, post: PostRow, text: str | None = None) -> str:
        name = self.users.get(post.author_id or 0, "")
        if text is None:
            text = text_of(post.body_html, post.body)
        return title_of(text, f"Post by {name}".strip())


async def post_documents(session: AsyncSession, ids: Sequence[int]) -> list[SearchDocument]:
    ctx = await _Context.load(session, set(ids), set())
    docs = []
    for post in ctx.posts.values():
        audience = ctx.audiences.get(post.id)
        if not audience:
            continue
        text = text_of(post.body_html, post.body)
        docs.append(
            SearchDocument(
                id=f"post:{post.id}",
                kind="post",
                title=ctx.post_title(post, text),
                body=text,
                url=f"/posts/{post.id}",
                audience=audience,
                author=ctx.author(post.author_id),
                group=ctx.group(post),
                date=post.created_at,
            )
        )
    return docs


async def comment_documents(session: AsyncSession, ids: Sequence[int]) -> list[SearchDocument]:
    comments = (
        await session.scalars(
            select(Comment).where(Comment.id.in_(ids), Comment.deleted_at.is_(None))
        )
    ).all()
    ctx = await _Context.load(
        session, {c.post_id for c in comments}, {c.author_id for c in comments}
    )
    docs = []
    for comment in comments:
        post = ctx.posts.get(comment.post_id)
        audience = ctx.audiences.get(comment.post_id)
        if post is None or not audience:
            continue
        docs.append(
            SearchDocument(
                id=f"comment:{comment.id}",
                kind="comment",
                title=f"Re: {ctx.post_title(post)}",
                body=text_of(comment.body_html, comment.body),
                url=f"/posts/{post.id}#comment-{comment.id}",
                audience=audience,
                author=ctx.author(comment.author_id),
                group=ctx.group(post),
                date=comment.created_at,
            )
        )
    return docs


async def attachment_documents(
    session: AsyncSession, ids: Sequence[int], files: AttachmentStore | None
) -> list[SearchDocument]:
    rows = (
        await session.scalars(
            select(Attachment).where(Attachment.id.in_(ids), Attachment.post_id.is_not(None))
        )
    ).all()
    ctx = await _Context.load(
        session, {a.post_id for a in rows if a.post_id}, {a.uploader_id for a in rows}
    )
    docs = []
    for attachment in rows:
        post = ctx.posts.get(attachment.post_id or 0)
        audience = ctx.audiences.get(attachment.post_id or 0)
        if post is None or not audience:
            continue
        text = ""
        if files is not None and not attachment.is_image:
            text = await asyncio.to_thread(_file_text, files, attachment)
        docs.append(
            SearchDocument(
                id=f"attachment:{attachment.id}",
                kind="attachment",
                title=attachment.filename,
                body=text,
                url=f"/posts/{post.id}#attachment-{attachment.id}",
                audience=audience,
                author=ctx.author(attachment.uploader_id),
                group=ctx.group(post),
                date=attachment.created_at,
            )
        )
    return docs


def _file_text(files: AttachmentStore, attachment: Attachment) -> str:
    try:
        data = files.read(attachment.storage_key)
    except (OSError, ValueError):
        return ""  # the file is gone or its key damaged: found by its name only
    return extract_text(data, attachment.content_type, attachment.filename)
