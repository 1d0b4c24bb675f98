"""The decorations of a page of posts, in one statement: a ``UNION ALL`` of tagged rows for
every post of the page (and every shared original) — recipients, the reader's own reaction, the
linked records the reader may see with their titles, attachments, and the reader's role in the
page's groups (for the moderation links).

A linked record is kept only when its own audience rows meet the reader's tokens
(``record_visible``: the two shapes of ``domain.records.audience.visible``, with the tokens
bound so the statement is built once per shape), so a post can show while one of its cards is
left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    String,
    bindparam,
    cast,
    exists,
    literal,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from domain.access import EMPLOYEES, Principal
from domain.db import UTCDateTime
from domain.groups.models import GroupMembership, GroupRole, MembershipState
from domain.people.models import User
from domain.posts.models import (
    Attachment,
    PostRecipient,
    PostRecord,
    Reaction,
    ReactionKind,
)
from domain.posts.probes import audience_params, is_staff_shape
from domain.records.audience import RecordAudience, RecordKind
from domain.records.models import Account, Contact, Employee, Invoice, Item, Project


@dataclass(frozen=True)
class LinkedRecord:
    kind: str  # a RecordKind value: account, contact, project, employee, invoice, item
    id: int
    title: str


def record_visible(kind: RecordKind, staff: bool, id_column: Any) -> ColumnElement[bool]:
    """``domain.records.audience.visible`` with the tokens bound (``tokens``, ``others``)
    instead of inlined, so the decorations statement is built once per shape: the same two
    shapes, on the same audience rows."""
    if staff:
        broad = aliased(RecordAudience)
        rest = aliased(RecordAudience)
        return or_(
            exists().where(
                broad.kind == kind.value, broad.token == EMPLOYEES, broad.record_id == id_column
            ),
            exists().where(
                rest.kind == kind.value,
                rest.token.in_(bindparam("others", expanding=True)),
                rest.record_id == id_column,
            ),
        )
    return id_column.in_(  # type: ignore[no-any-return]
        select(RecordAudience.record_id).where(
            RecordAudience.kind == kind.value,
            RecordAudience.token.in_(bindparam("tokens", expanding=True)),
        )
    )


_RECIPIENT, _REACTION, _RECORD, _ATTACHMENT, _GROUP_ROLE = range(5)

# The title a linked record shows by, per kind.
_TITLES: dict[RecordKind, tuple[Any, Any]] = {
    RecordKind.ACCOUNT: (Account, Account.name),
    RecordKind.CONTACT: (Contact, Contact.name),
    RecordKind.PROJECT: (Project, Project.name),
    RecordKind.EMPLOYEE: (Employee, Employee.name),
    RecordKind.INVOICE: (Invoice, Invoice.number),
    RecordKind.ITEM: (Item, Item.description),
}

_INTS = 7
_TEXTS = 4


def _row(
    tag: int,
    key: Any,
    ints: Sequence[Any] = (),
    texts: Sequence[Any] = (),
    when: Any = None,
) -> list[ColumnElement[Any]]:
    """One branch's columns, padded to the union's common shape: (tag, key, n0…n6, t0…t3, at).
    Every column is cast to one plain type, so each branch's rows read the same way."""
    columns: list[ColumnElement[Any]] = [literal(tag, Integer).label("tag"), key.label("key")]
    for i in range(_INTS):
        value = ints[i] if i < len(ints) else null()
        columns.append(cast(value, BigInteger).label(f"n{i}"))
    for i in range(_TEXTS):
        value = texts[i] if i < len(texts) else null()
        columns.append(cast(value, String).label(f"t{i}"))
    # NULLs are cast so PostgreSQL types the column; a value is not (SQLite would turn its
    # stored text into a number).
    at = cast(null(), UTCDateTime) if when is None else type_coerce(when, UTCDateTime)
    columns.append(at.label("at"))
    return columns


@lru_cache(maxsize=8)
def _decorations(staff: bool, with_groups: bool) -> Any:
    """The decorations statement of one shape; bound: ``ids`` (posts), ``me``, ``group_ids``,
    and the reader's tokens (``audience_params``)."""
    ids: Any = bindparam("ids", expanding=True)
    branches: list[Any] = [
        select(*_row(_RECIPIENT, PostRecipient.post_id, [User.id], [User.name]))
        .join(User, User.id == PostRecipient.user_id)
        .where(PostRecipient.post_id.in_(ids)),
        select(*_row(_REACTION, Reaction.post_id, texts=[Reaction.kind])).where(
            Reaction.post_id.in_(ids), Reaction.user_id == bindparam("me")
        ),
        select(
            *_row(
                _ATTACHMENT,
                Attachment.post_id,
                [
                    Attachment.id,
                    Attachment.size,
                    Attachment.width,
                    Attachment.height,
                    Attachment.position,
                    cast(Attachment.is_image, Integer),
                    Attachment.uploader_id,
                ],
                [
                    Attachment.filename,
                    Attachment.content_type,
                    Attachment.sha256,
                    Attachment.storage_key,
                ],
                Attachment.created_at,
            )
        ).where(Attachment.post_id.in_(ids)),
    ]
    for kind, (model, title) in _TITLES.items():
        branches.append(
            select(
                *_row(
                    _RECORD,
                    PostRecord.post_id,
                    [PostRecord.record_id, PostRecord.position],
                    [literal(kind.value), title],
                )
            )
            .join(model, model.id == PostRecord.record_id)
            .where(
                PostRecord.post_id.in_(ids),
                PostRecord.record_kind == kind.value,
                record_visible(kind, staff, model.id),
            )
        )
    if with_groups:
        branches.append(
            select(
                *_row(_GROUP_ROLE, GroupMembership.group_id, texts=[GroupMembership.role])
            ).where(
                GroupMembership.group_id.in_(bindparam("group_ids", expanding=True)),
                GroupMembership.user_id == bindparam("me"),
                GroupMembership.state == MembershipState.ACTIVE,
                GroupMembership.role.in_([GroupRole.OWNER, GroupRole.MANAGER]),
            )
        )
    return union_all(*branches)


@dataclass
class Decorations:
    """The decorations of a page's posts, by post id (``managed_groups``: of the page's groups,
    those the reader owns or manages)."""

    recipients: dict[int, list[tuple[int, str]]] = field(default_factory=dict)
    reactions: dict[int, ReactionKind] = field(default_factory=dict)
    records: dict[int, list[tuple[int, int, LinkedRecord]]] = field(default_factory=dict)
    attachments: dict[int, list[Attachment]] = field(default_factory=dict)
    managed_groups: set[int] = field(default_factory=set)


def _attachment(post_id: int, n: Sequence[Any], t: Sequence[Any], at: datetime) -> Attachment:
    # Built from the decoration row, not loaded through the session: the page is read-only.
    return Attachment(
        id=n[0],
        post_id=post_id,
        size=n[1],
        width=n[2],
        height=n[3],
        position=n[4],
        is_image=bool(n[5]),
        uploader_id=n[6],
        filename=t[0],
        content_type=t[1],
        sha256=t[2],
        storage_key=t[3],
        created_at=at,
    )


async def load_decorations(
    session: AsyncSession, principal: Principal, post_ids: list[int], group_ids: list[int]
) -> Decorations:
    decor = Decorations()
    statement = _decorations(is_staff_shape(principal), bool(group_ids))
    params = {"ids": post_ids, "me": principal.user_id, "group_ids": group_ids}
    result = await session.execute(statement, {**params, **audience_params(principal)})
    for row in result:
        tag, key = row[0], row[1]
        n = row[2 : 2 + _INTS]
        t = row[2 + _INTS : 2 + _INTS + _TEXTS]
        if tag == _RECIPIENT:
            decor.recipients.setdefault(key, []).append((n[0], t[0]))
        elif tag == _REACTION:
            decor.reactions[key] = ReactionKind(t[0])
        elif tag == _RECORD:
            linked = LinkedRecord(kind=t[0], id=n[0], title=t[1] or "")
            decor.records.setdefault(key, []).append((n[1], n[0], linked))
        elif tag == _ATTACHMENT:
            decor.attachments.setdefault(key, []).append(_attachment(key, n, t, row[-1]))
        elif tag == _GROUP_ROLE:
            decor.managed_groups.add(key)
    return decor
