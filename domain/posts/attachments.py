"""Files attached to posts: upload, attach, who may fetch one, and pruning of forgotten uploads.

A file is uploaded before its post exists (the composer shows it while the author writes), as a
row with no ``post_id`` that only its uploader may fetch; ``do_attach`` (called by
``do_create_post``) hands the uploader's own unattached uploads to the new post, which from then
on decides who sees them: ``access_attachment`` asks the post's audience rows, in SQL, like every
other read. An upload nobody attached within a day is deleted by ``prune_uploads``.

Rules, and what was chosen where the plan is silent:

- at most ``MAX_BYTES`` (10 MiB) per file, ``MAX_PER_POST`` (10) per post, and at most
  ``MAX_PENDING`` unattached uploads per person at a time (so abandoned composers cannot fill the
  disk; pruning frees them after a day);
- the type is sniffed from the bytes (``domain.posts.filetypes``); the client's content type and
  the file name's extension are ignored, except that a ``.csv`` name makes text CSV;
- the name is kept only for display and for the download's ``Content-Disposition``: cleaned of
  path parts, control and bidirectional-override characters, at most 255 characters; on disk the
  file is under a random key (``domain.posts.storage``);
- an empty file is refused: it would be a download of nothing.

Refusals raise ``UploadRefused`` (a ``ValidationFailed`` on the field ``file``) with a ``reason``
the web layer turns into a status: ``too_large`` (413), ``type`` (415), ``too_many`` and ``empty``
(422).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal
from domain.db import utcnow
from domain.errors import NotFound, ValidationFailed
from domain.posts.filetypes import ALLOWED, Markup, sniff
from domain.posts.models import FILENAME_MAX, Attachment, Post, PostAudience
from domain.posts.storage import AttachmentStore
from domain.text import N_

MAX_BYTES = 10 * 1024 * 1024
MAX_PER_POST = 10
MAX_PENDING = 20
PENDING_LIFETIME = timedelta(days=1)

Reason = Literal["too_large", "type", "too_many", "empty"]

TOO_LARGE = N_("This file is too large: a file may be at most 10 MB.")
WRONG_TYPE = N_(
    "This type of file cannot be attached. Attach images (PNG, JPEG, GIF, WebP), PDF, text, "
    "CSV, Word, Excel, PowerPoint, OpenDocument or ZIP files."
)
MARKUP = N_("HTML, SVG and XML files cannot be attached. Put them in a ZIP file instead.")
EMPTY = N_("This file is empty.")
TOO_MANY = N_("A post can have at most 10 files.")
TOO_MANY_PENDING = N_(
    "You have too many files waiting to be posted. Post them, or try again tomorrow."
)
NOT_YOURS = N_("One of these files cannot be attached: upload it again.")


class UploadRefused(ValidationFailed):
    """An upload or attachment broke a limit; ``reason`` says which kind of limit."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__({"file": message})
        self.reason = reason


# Cc (controls), Cf (format: bidi overrides, zero-width characters), Zl/Zp (line breaks),
# Cs/Co/Cn (surrogates, private use, unassigned): nothing a file name should show.
_UNSHOWN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def clean_filename(raw: str) -> str:
    """A file name fit to show and to send back in a download: the last path part, without
    invisible or control characters, spaces collapsed, no leading dots, at most 255 characters
    (the extension kept), never empty."""
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(" " if unicodedata.category(c) in _UNSHOWN else c for c in name)
    name = re.sub(r"\s+", " ", name).strip().lstrip(".").strip()
    if len(name) > FILENAME_MAX:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            name = stem[: FILENAME_MAX - len(extension) - 1].rstrip() + "." + extension
        else:
            name = name[:FILENAME_MAX].rstrip()
    return name or "file"


async def _pending_count(session: AsyncSession, uploader_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Attachment)
        .where(Attachment.uploader_id == uploader_id, Attachment.post_id.is_(None))
    )
    return int(count or 0)


async def do_upload(
    session: AsyncSession,
    principal: Principal,
    store: AttachmentStore,
    filename: str,
    content_type: str,
    data: bytes,
) -> Attachment:
    """Store an upload of ``principal``'s, not yet attached to a post.

    ``content_type`` is what the client claimed: it is ignored (kept in the signature so callers
    pass what they have, and a future audit can log it).
    """
    del content_type  # never trusted: the bytes decide
    if len(data) > MAX_BYTES:
        raise UploadRefused("too_large", TOO_LARGE)
    if not data:
        raise UploadRefused("empty", EMPTY)
    name = clean_filename(filename)
    try:
        sniffed = sniff(data, name)
    except Markup:
        raise UploadRefused("type", MARKUP) from None
    if sniffed is None or sniffed.content_type not in ALLOWED:
        raise UploadRefused("type", WRONG_TYPE)
    if await _pending_count(session, principal.user_id) >= MAX_PENDING:
        raise UploadRefused("too_many", TOO_MANY_PENDING)
    key = await asyncio.to_thread(store.put, data)
    attachment = Attachment(
        uploader_id=principal.user_id,
        filename=name,
        content_type=sniffed.content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        storage_key=key,
        is_image=sniffed.is_image,
        width=sniffed.width,
        height=sniffed.height,
    )
    session.add(attachment)
    await session.flush()
    return attachment


async def do_attach(
    session: AsyncSession, principal: Principal, post: Post, attachment_ids: Sequence[int]
) -> None:
    """Attach the principal's own unattached uploads to ``post``, in the order given.

    Repeated ids count once. Any id that is not such an upload (someone else's, already
    attached, pruned, made up) refuses the whole set: a post never goes out with a file silently
    missing.
    """
    ids = list(dict.fromkeys(attachment_ids))
    if not ids:
        return
    already = int(
        await session.scalar(
            select(func.count()).select_from(Attachment).where(Attachment.post_id == post.id)
        )
        or 0
    )
    if already + len(ids) > MAX_PER_POST:
        raise UploadRefused("too_many", TOO_MANY)
    rows = (
        await session.scalars(
            select(Attachment)
            .where(
                Attachment.id.in_(ids),
                Attachment.uploader_id == principal.user_id,
                Attachment.post_id.is_(None),
            )
            .with_for_update()
        )
    ).all()
    by_id = {row.id: row for row in rows}
    if len(by_id) != len(ids):
        raise ValidationFailed({"attachment_ids": NOT_YOURS})
    for position, attachment_id in enumerate(ids, start=already):
        by_id[attachment_id].post_id = post.id
        by_id[attachment_id].position = position
    await session.flush()


def _visible(principal: Principal) -> ColumnElement[bool]:
    """An attachment the principal may fetch: through its live post's audience, or their own
    unattached upload."""
    through_post = exists().where(
        PostAudience.post_id == Attachment.post_id,
        PostAudience.token.in_(sorted(principal.tokens)),
        Post.id == Attachment.post_id,
        Post.deleted_at.is_(None),
    )
    own_upload = and_(Attachment.post_id.is_(None), Attachment.uploader_id == principal.user_id)
    return or_(own_upload, through_post)


async def access_attachment(
    session: AsyncSession, principal: Principal, attachment_id: int
) -> Attachment:
    """An attachment the principal may fetch; NotFound when it does not exist or they may not."""
    if not 0 < attachment_id < 2**31:  # no such id can exist; the database would refuse it
        raise NotFound(f"attachment {attachment_id}")
    attachment = await session.scalar(
        select(Attachment).where(Attachment.id == attachment_id, _visible(principal))
    )
    if attachment is None:
        raise NotFound(f"attachment {attachment_id}")
    return attachment


async def pending_uploads(
    session: AsyncSession, principal: Principal, attachment_ids: Sequence[int]
) -> list[Attachment]:
    """Those of the given ids that are the principal's own unattached uploads, in that order
    (a composer re-rendered after a failed submit shows what is still waiting)."""
    ids = list(dict.fromkeys(i for i in attachment_ids if 0 < i < 2**31))
    if not ids:
        return []
    rows = (
        await session.scalars(
            select(Attachment).where(
                Attachment.id.in_(ids),
                Attachment.uploader_id == principal.user_id,
                Attachment.post_id.is_(None),
            )
        )
    ).all()
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in ids if i in by_id]


async def do_discard_upload(session: AsyncSession, principal: Principal, attachment_id: int) -> str:
    """Delete one of the principal's own unattached uploads (removed from the composer) and
    return its storage key, for the caller to delete the file once the transaction commits.
    NotFound for anything else, attached files included: those go with their post."""
    attachment = await access_attachment(session, principal, attachment_id)
    if attachment.post_id is not None or attachment.uploader_id != principal.user_id:
        raise NotFound(f"attachment {attachment_id}")
    await session.delete(attachment)
    await session.flush()
    return attachment.storage_key


async def prune_uploads(
    session: AsyncSession, store: AttachmentStore, *, now: datetime | None = None
) -> int:
    """Delete uploads never attached within ``PENDING_LIFETIME``, and files on disk without a
    row (left by a rolled-back upload or a crash) as old as that. Returns how many files were
    deleted. Safe to run at any time, from any number of processes."""
    cutoff = (now or utcnow()) - PENDING_LIFETIME
    stale = (
        await session.execute(
            delete(Attachment)
            .where(Attachment.post_id.is_(None), Attachment.created_at < cutoff)
            .returning(Attachment.storage_key)
        )
    ).scalars()
    removed = 0
    for key in stale.all():
        await asyncio.to_thread(store.delete, key)
        removed += 1
    seconds = PENDING_LIFETIME.total_seconds()
    candidates = await asyncio.to_thread(lambda: list(store.old_files(older_than=seconds)))
    for start in range(0, len(candidates), 500):
        batch = candidates[start : start + 500]
        known = set(
            (
                await session.scalars(
                    select(Attachment.storage_key).where(Attachment.storage_key.in_(batch))
                )
            ).all()
        )
        for relative in batch:
            if relative not in known:
                await asyncio.to_thread(store.remove_relative, relative)
                removed += 1
    return removed
