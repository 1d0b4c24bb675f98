"""The checks a new post passes before ``domain.posts.actions.do_create_post`` writes it:
where it goes (a group one may post in, people one may send to, or the company timeline), its
text (rendered with its mentions), its linked records, company news, its poll, and what it shares.

The rules are in ``domain.posts.actions``' docstring; this module holds them as code, and the
messages the post actions share.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal
from domain.db import utcnow
from domain.errors import Forbidden, NotFound, ValidationFailed
from domain.groups.checks import ARCHIVED, parse_choice
from domain.groups.models import Group
from domain.groups.queries import access_group
from domain.people.models import Role, User
from domain.posts.attachments import NOT_YOURS
from domain.posts.mentions import RenderedText, render_text
from domain.posts.models import CLIENT_KEY_MAX, PostKind
from domain.posts.polls import PollInput, check_poll_input
from domain.posts.queries import access_post
from domain.records.audience import RecordKind
from domain.records.queries import access_record
from domain.text import N_

MAX_ID = 2**31 - 1
RECORDS_MAX = 10
RECIPIENTS_MAX = 50
NEWS_DAYS = 7

EMPTY = N_("Write something first.")
BAD_CLIENT_KEY = N_("This form is out of date. Reload the page and try again.")
NOT_A_MEMBER = N_("Only members of this group may post in it.")
STAFF_ONLY = N_("Only employees may post on the company timeline.")
NO_DIRECT = N_("People outside the company cannot send posts to people directly.")
GROUP_OR_PEOPLE = N_("A post goes to a group or to people, not both.")
UNKNOWN_USER = N_("There is no active user with this id.")
TOO_MANY_RECIPIENTS = N_("A post can be sent to at most 50 people.")
UNKNOWN_RECORD = N_("There is no such record.")
TOO_MANY_RECORDS = N_("A post can link at most 10 records.")
NEWS_ONLY = N_("Only administrators and the communication team may post company news.")
NEWS_EVERYONE = N_("Company news goes to everyone: not to a group or to people.")
NEWS_PAST = N_("The end date of company news must lie in the future.")
AUTHOR_ONLY = N_("Only the author may do this.")
MODERATORS_ONLY = N_("Only the author or a moderator may delete this.")
PIN_MANAGERS = N_("Only the group's owners and managers may pin posts.")
PIN_GROUP_ONLY = N_("Only posts in a group can be pinned.")
PIN_LIMIT = N_("A group can have at most 20 pinned posts: unpin one first.")
UNKNOWN_POST = N_("There is no such post.")


@dataclass(frozen=True)
class PostInput:
    body: str
    group_id: int | None = None
    recipient_ids: tuple[int, ...] = ()
    records: tuple[tuple[str, int], ...] = ()
    kind: PostKind = PostKind.POST
    news_until: datetime | None = None
    client_key: str | None = None
    attachment_ids: tuple[int, ...] = ()
    poll: PollInput | None = None
    shared_post_id: int | None = None


@dataclass(frozen=True)
class CheckedPost:
    """A post input that passed every check, with what the checks looked up."""

    data: PostInput
    kind: PostKind
    body: str
    text: RenderedText
    group: Group | None
    recipient_ids: tuple[int, ...]
    records: tuple[tuple[RecordKind, int], ...]
    news_until: datetime | None
    shared_post_id: int | None


def valid_id(value: object) -> bool:
    """An id that can name a row: a positive 32-bit int (not a bool, not a string)."""
    return type(value) is int and 0 < value <= MAX_ID


def clean_body(body: str) -> str:
    return body.replace("\x00", "").strip()


def check_client_key(client_key: str | None) -> str | None:
    if client_key is None or client_key == "":
        return None
    if len(client_key) > CLIENT_KEY_MAX or not client_key.isprintable():
        raise ValidationFailed({"client_key": BAD_CLIENT_KEY})
    return client_key


async def _check_place(
    session: AsyncSession,
    principal: Principal,
    data: PostInput,
    kind: PostKind,
    errors: dict[str, str],
) -> tuple[Group | None, tuple[int, ...]]:
    """Where the post goes: its group, or its recipients (checked), or the company timeline."""
    recipients = tuple(dict.fromkeys(data.recipient_ids))
    if data.group_id is not None and recipients:
        raise ValidationFailed({"recipient_ids": GROUP_OR_PEOPLE})
    if kind is PostKind.NEWS and (data.group_id is not None or recipients):
        raise ValidationFailed({"group_id": NEWS_EVERYONE})
    if data.group_id is not None:
        if not valid_id(data.group_id):
            raise NotFound(f"group {data.group_id}")
        access = await access_group(session, principal, data.group_id)
        if access.group.is_archived:
            raise Forbidden(ARCHIVED)
        if not access.may_post:
            raise Forbidden(NOT_A_MEMBER)
        return access.group, ()
    if recipients:
        if principal.is_external:
            raise Forbidden(NO_DIRECT)
        if len(recipients) > RECIPIENTS_MAX:
            errors["recipient_ids"] = TOO_MANY_RECIPIENTS
            return None, recipients
        if not all(valid_id(r) for r in recipients):
            errors["recipient_ids"] = UNKNOWN_USER
            return None, recipients
        found = set(
            (
                await session.scalars(
                    select(User.id).where(User.id.in_(recipients), User.is_active)
                )
            ).all()
        )
        if found != set(recipients):
            errors["recipient_ids"] = UNKNOWN_USER
        return None, recipients
    if not principal.is_staff:
        raise Forbidden(STAFF_ONLY)
    return None, ()


async def _check_records(
    session: AsyncSession, principal: Principal, records: Sequence[tuple[str, int]]
) -> tuple[tuple[RecordKind, int], ...]:
    unique = list(dict.fromkeys(records))
    if len(unique) > RECORDS_MAX:
        raise ValidationFailed({"records": TOO_MANY_RECORDS})
    checked: list[tuple[RecordKind, int]] = []
    for kind_name, record_id in unique:
        try:
            kind = RecordKind(kind_name)
            await access_record(session, principal, kind, record_id)
        except (ValueError, TypeError, NotFound):
            raise ValidationFailed({"records": UNKNOWN_RECORD}) from None
        checked.append((kind, record_id))
    return tuple(checked)


def _check_news(
    principal: Principal, kind: PostKind, data: PostInput, now: datetime
) -> datetime | None:
    if kind is not PostKind.NEWS:
        return None
    if not (principal.is_admin or Role.COMMUNICATION in principal.roles):
        raise Forbidden(NEWS_ONLY)
    until = data.news_until or now + timedelta(days=NEWS_DAYS)
    if until.tzinfo is None or until <= now:
        raise ValidationFailed({"news_until": NEWS_PAST})
    return until


async def _shared_original(
    session: AsyncSession, principal: Principal, shared_post_id: int | None
) -> int | None:
    if shared_post_id is None:
        return None
    try:
        original = await access_post(session, principal, shared_post_id)
    except NotFound:
        raise ValidationFailed({"shared_post_id": UNKNOWN_POST}) from None
    if original.shared_post_id is not None:
        try:
            return (await access_post(session, principal, original.shared_post_id)).id
        except NotFound:
            pass
    return original.id


async def check_create_post(
    session: AsyncSession, principal: Principal, data: PostInput
) -> CheckedPost:
    """Authorise and validate a new post; raises Forbidden, NotFound (an invisible group) or
    ValidationFailed (every bad field it can report at once)."""
    now = utcnow()
    errors: dict[str, str] = {}
    check_client_key(data.client_key)
    kind = parse_choice(PostKind, data.kind, "kind")
    news_until = _check_news(principal, kind, data, now)
    group, recipients = await _check_place(session, principal, data, kind, errors)
    shared = await _shared_original(session, principal, data.shared_post_id)
    try:
        records = await _check_records(session, principal, data.records)
    except ValidationFailed as error:
        errors.update(error.errors)
        records = ()
    if data.poll is not None:
        try:
            check_poll_input(data.poll, now=now)
        except ValidationFailed as error:
            errors.update(error.errors)
    if not all(valid_id(a) for a in data.attachment_ids):
        errors["attachment_ids"] = NOT_YOURS
    body = clean_body(data.body)
    if not body and not (data.attachment_ids or data.poll or shared):
        errors["body"] = EMPTY
    text: RenderedText | None = None
    try:
        text = await render_text(
            session, principal, body, group_id=group.id if group is not None else None
        )
    except ValidationFailed as error:
        errors.update(error.errors)
    if errors or text is None:
        raise ValidationFailed(errors)
    return CheckedPost(
        data=data,
        kind=kind,
        body=body,
        text=text,
        group=group,
        recipient_ids=recipients,
        records=records,
        news_until=news_until,
        shared_post_id=shared,
    )
