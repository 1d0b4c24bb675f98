"""The post composer: reading its form into a ``PostInput``, and the context its template needs.

Shared by every page that lets people write a post — the home timeline, a record's wall, a
group's timeline (``portal.routes.groups`` builds one with ``new_composer``) — and by the route
that takes the form (``portal.routes.posts.create_post``).

The form's fields, all plain text so the page works without JavaScript:

- ``body``; ``group_id`` (empty: the company timeline, or the people in ``to`` when given);
- ``to``: people by their mention handle, separated by commas or spaces ("@jan.jansen, @eva");
- ``records``: references typed or picked, "account:31" or "accounts/31" or a card's path, each
  separated by commas or spaces;
- ``kind`` ("post" or "news") and ``news_until`` (a date, or a date and time, read as UTC; a
  bare date means the end of that day) — the fields show only to who may post news;
- ``poll_kind`` (empty for no poll), ``poll_options`` (one per line; a scale without options is
  1 to 5), ``poll_closes_at``, ``poll_results``;
- ``attachment_ids`` (repeated), from the upload fragment;
- ``client_key``: random per rendered form, so a double submit makes one post;
- ``next``: where to go back to after posting without htmx.

What the domain decides (who may post where, news rights, poll and attachment rules) it checks
itself; this module only turns text into types and says which field was malformed.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from domain.access import Principal
from domain.errors import ValidationFailed
from domain.groups.queries import list_groups
from domain.people.models import Role
from domain.posts.models import CLIENT_KEY_MAX, PollKind, PollResults, PostKind
from domain.posts.polls import PollInput
from domain.posts.queries import mention_candidates
from domain.records.audience import RecordKind
from domain.text import N_
from portal.auth.guards import safe_next
from portal.forms import NOT_TEXT, TOO_LONG
from portal.i18n import gettext as _
from portal.record_kinds import SLUGS
from portal.state import app_state

LIMITS = {
    "body": 20_000,
    "group_id": 20,
    "to": 2_000,
    "records": 2_000,
    "kind": 10,
    "news_until": 40,
    "poll_kind": 20,
    "poll_options": 5_000,
    "poll_closes_at": 40,
    "poll_results": 20,
    "client_key": CLIENT_KEY_MAX,
    "next": 2_000,
    "fixed_group": 1,  # "1": the composer of a group's own timeline
    "timeline_id": 100,
}
MAX_REFERENCES = 20
MAX_ATTACHMENTS = 10
SCALE = ("1", "2", "3", "4", "5")

BAD_NUMBER = N_("Choose one of the offered values.")
BAD_REFERENCE = N_('Write records as kind and number, such as "account:31".')
TOO_MANY = N_("Too many values.")
UNKNOWN_PERSON = N_("Nobody found as @%(handle)s.")
BAD_MOMENT = N_("Write a date as 2026-12-31, or a date and time as 2026-12-31T17:00.")
BAD_CHOICE = N_("Choose one of the offered values.")

_SEPARATORS = re.compile(r"[\s,;]+")
_REFERENCE = re.compile(r"^(?:https?://[^/]+)?/?(?:records/)?([a-z]+)[:/](\d{1,9})/?$")


def new_client_key() -> str:
    return secrets.token_urlsafe(24)


@dataclass
class Composer:
    """What ``templates/posts/_composer.html`` shows: the form's target and hidden fields, the
    groups one may post in, and the values and messages of a rejected attempt."""

    action: str
    next: str
    client_key: str = field(default_factory=new_client_key)
    timeline_id: str | None = None  # the list a new post is put at the top of (htmx)
    groups: list[tuple[int, str]] = field(default_factory=list)
    fixed_group_id: int | None = None  # a group's own timeline: no choice
    may_post_news: bool = False
    allow_company: bool = True  # staff may post to the company timeline; externals may not
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    attachment_ids: list[int] = field(default_factory=list)


def may_post_news(principal: Principal) -> bool:
    return principal.is_admin or Role.COMMUNICATION in principal.roles


async def postable_groups(session: AsyncSession, principal: Principal) -> list[tuple[int, str]]:
    """The groups one may choose in the composer: active memberships of open groups (first 50
    by name — the composer is no directory)."""
    page = await list_groups(session, principal, mine=True)
    return [(row.group.id, row.group.name) for row in page.rows if not row.group.is_archived]


async def new_composer(
    request: Request,
    session: AsyncSession,
    principal: Principal,
    *,
    next_url: str,
    timeline_id: str | None = None,
    group_id: int | None = None,
    records: str = "",
) -> Composer:
    """An empty composer. ``group_id`` fixes the group (a group's page); ``records`` pre-fills
    record references (a record's wall)."""
    groups = [] if group_id is not None else await postable_groups(session, principal)
    return Composer(
        action=request.url_for("post_create").path,
        next=next_url,
        timeline_id=timeline_id,
        groups=groups,
        fixed_group_id=group_id,
        may_post_news=may_post_news(principal) and group_id is None,
        allow_company=principal.is_staff and group_id is None,
        values={"records": records, "group_id": str(group_id or "")},
    )


# -- reading the form -------------------------------------------------------------------------


@dataclass
class ComposerForm:
    values: dict[str, str]
    attachment_ids: list[int]
    errors: dict[str, str]


async def read_composer(request: Request) -> ComposerForm:
    """The composer's text fields, bounded, and its repeated ``attachment_ids``."""
    form: FormData = await request.form(max_files=0, max_fields=100)
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    try:
        for name, limit in LIMITS.items():
            raw = form.get(name)
            if raw is None:
                raw = ""
            if not isinstance(raw, str):
                errors[name] = NOT_TEXT
                continue
            if len(raw) > limit:
                errors[name] = TOO_LONG
                raw = raw[:limit]
            values[name] = raw
        ids: list[int] = []
        raw_ids = form.getlist("attachment_ids")
        if len(raw_ids) > MAX_ATTACHMENTS:
            errors["attachment_ids"] = TOO_MANY
        for raw in raw_ids[:MAX_ATTACHMENTS]:
            if isinstance(raw, str) and raw.isdigit() and 0 < int(raw) < 2**31:
                ids.append(int(raw))
            elif raw != "":
                errors["attachment_ids"] = BAD_NUMBER
    finally:
        await form.close()
    return ComposerForm(values, ids, errors)


def parse_id(raw: str, name: str, errors: dict[str, str]) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if raw.isdigit() and 0 < int(raw) < 2**31:
        return int(raw)
    errors[name] = BAD_NUMBER
    return None


def parse_references(raw: str, errors: dict[str, str]) -> tuple[tuple[str, int], ...]:
    """ "account:31 project:12" -> (("account", 31), ("project", 12)); kinds singular or as in
    URLs ("accounts/31"), duplicates dropped."""
    found: list[tuple[str, int]] = []
    for part in _SEPARATORS.split(raw.strip().lower()):
        if not part:
            continue
        match = _REFERENCE.match(part)
        kind = None
        if match:
            name = match.group(1)
            kind = SLUGS.get(name) or next((k for k in RecordKind if k.value == name), None)
        if match is None or kind is None or int(match.group(2)) == 0:
            errors["records"] = BAD_REFERENCE
            return ()
        reference = (kind.value, int(match.group(2)))
        if reference not in found:
            found.append(reference)
    if len(found) > MAX_REFERENCES:
        errors["records"] = TOO_MANY
        return ()
    return tuple(found)


def parse_moment(raw: str, name: str, errors: dict[str, str]) -> datetime | None:
    """A date (the end of that day) or a date and time; without a zone, UTC."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), time(23, 59, 59), UTC)
        moment = datetime.fromisoformat(raw)
    except ValueError:
        errors[name] = BAD_MOMENT
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def resolve_handles(
    session: AsyncSession, principal: Principal, raw: str, errors: dict[str, str]
) -> tuple[int, ...]:
    """People named by their handles, among those the author may mention."""
    ids: list[int] = []
    handles = [h.lstrip("@") for h in _SEPARATORS.split(raw.strip()) if h.lstrip("@")]
    if len(handles) > MAX_REFERENCES:
        errors["to"] = TOO_MANY
        return ()
    for handle in handles:
        candidates = await mention_candidates(session, principal, handle, limit=20)
        match = next((c for c in candidates if c.handle.lower() == handle.lower()), None)
        if match is None:
            errors["to"] = _(UNKNOWN_PERSON) % {"handle": handle}
            return ()
        if match.user_id not in ids:
            ids.append(match.user_id)
    return tuple(ids)


def parse_poll(values: dict[str, str], errors: dict[str, str]) -> PollInput | None:
    kind_raw = values.get("poll_kind", "").strip()
    if not kind_raw:
        return None
    try:
        kind = PollKind(kind_raw)
        results = PollResults(values.get("poll_results", "").strip() or PollResults.AFTER_VOTE)
    except ValueError:
        errors["poll_kind"] = BAD_CHOICE
        return None
    options = tuple(line.strip() for line in values.get("poll_options", "").splitlines())
    options = tuple(o for o in options if o)
    if kind is PollKind.SCALE and not options:
        options = SCALE
    closes_at = parse_moment(values.get("poll_closes_at", ""), "poll_closes_at", errors)
    return PollInput(kind=kind, options=options, closes_at=closes_at, results=results)


def parse_kind(raw: str, errors: dict[str, str]) -> PostKind:
    try:
        return PostKind(raw.strip() or PostKind.POST)
    except ValueError:
        errors["kind"] = BAD_CHOICE
        return PostKind.POST


def translated(errors: dict[str, str]) -> dict[str, str]:
    """Domain messages are marked with ``N_``; a handle message is already translated (and
    translating it again finds nothing, so it stays)."""
    return {name: _(message) for name, message in errors.items()}


def validation_errors(exc: ValidationFailed) -> dict[str, str]:
    return translated(exc.errors)


def next_of(values: dict[str, Any], default: str = "/") -> str:
    return safe_next(str(values.get("next") or "") or default)


def is_htmx(request: Request) -> bool:
    """An htmx request for a fragment — not a boosted navigation or a history restore, which
    need the whole page."""
    headers = request.headers
    return (
        headers.get("hx-request") == "true"
        and headers.get("hx-boosted") != "true"
        and headers.get("hx-history-restore-request") != "true"
    )


def respond(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> Response:
    """A page or fragment answer; either way caches keep the two apart."""
    response: Response = app_state(request)["templates"].TemplateResponse(
        request, template, context, status_code=status_code
    )
    response.headers.add_vary_header("HX-Request")
    return response


def fragment_or_page(
    request: Request,
    fragment: str,
    page: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> Response:
    return respond(
        request, fragment if is_htmx(request) else page, context, status_code=status_code
    )


def ids_of(raw: Sequence[str]) -> list[int]:
    return [int(r) for r in raw if r.isdigit() and 0 < int(r) < 2**31]
