"""Timelines as pages and fragments: any timeline by scope (what "Load older" fetches), hashtag
pages, a person's posts, a record's wall, follow and mute buttons, and the two small search
fragments of the composer (mention autocomplete, record picker).

``GET /timeline?scope=&key=&only=&cursor=`` is the one "next page" of every timeline: htmx gets
the posts and the next link (``posts/_timeline_items.html``) to put in place of the link — on
scroll ("revealed") or click — and a plain visit gets that page of posts as a page of its own,
so "Load older" works without JavaScript. ``scope`` is personal, group (key: group id), record
(key: "account:31"), person (key: user id) or hashtag (key: the tag). A group or record the
reader may not see answers 404, like one that does not exist; posts come from
``domain.posts.timeline``, which keeps every reader inside each post's audience.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from domain.access import Principal
from domain.errors import NotFound, ValidationFailed
from domain.groups.queries import access_group
from domain.posts.follows import check_channel, do_follow, follow_state
from domain.posts.queries import mention_candidates
from domain.posts.timeline import Only, TimelinePage, TimelineScope, timeline
from domain.posts.views import PostView
from domain.records.audience import RecordKind
from domain.records.lists import list_records
from domain.records.queries import access_record
from domain.text import N_
from portal.auth.guards import require_principal
from portal.errors import error_response
from portal.forms import read_form
from portal.i18n import gettext as _
from portal.record_kinds import SLUG_OF
from portal.routes.composer import Composer, fragment_or_page, is_htmx, new_composer, next_of
from portal.routes.records_lists import EXTERNAL_KINDS
from portal.state import app_state

ONLY: tuple[Only, ...] = ("all", "posts", "news", "mentions")
SCOPES = ("personal", "group", "record", "person", "hashtag")
KEY_MAX = 100
CURSOR_MAX = 256
QUERY_MAX = 60
PICKER_LIMIT = 5
FOLLOW_STATES = ("follow", "mute", "none")
BAD_FILTER = N_("Choose one of the offered filters.")


@dataclass
class TimelineBlock:
    """What ``templates/posts/_timeline.html`` shows: the list's element id, the posts, the link
    to the next page and the text for an empty timeline. ``after`` is true on later pages."""

    id: str
    items: list[PostView]
    more_url: str | None
    empty: str
    after: bool = False
    errors: dict[str, str] = field(default_factory=dict)
    # Which live "new post" frames this list takes (portal.live.render.timelines_for); a
    # filtered list takes none, since a new post may not pass its filter.
    live_key: str = "none"


def live_key(scope: TimelineScope, only: str) -> str:
    if only != "all":
        return "none"
    if scope.kind == "personal":
        return "personal"
    return f"{scope.kind}:{scope.key}"


def timeline_url(
    request: Request, scope: TimelineScope, only: str = "all", cursor: str | None = None
) -> str:
    query: dict[str, str] = {"scope": scope.kind}
    if scope.key is not None:
        query["key"] = str(scope.key)
    if only != "all":
        query["only"] = only
    if cursor:
        query["cursor"] = cursor
    return request.url_for("timeline_page").path + "?" + urlencode(query)


def read_only(raw: str) -> Only:
    for value in ONLY:
        if raw == value:
            return value
    if raw == "":
        return "all"
    raise ValidationFailed({"only": BAD_FILTER})


async def check_scope(session: AsyncSession, principal: Principal, scope: TimelineScope) -> None:
    """A group or record timeline exists for the reader only if they may see its content."""
    scope.channel()  # a malformed key is ValidationFailed
    if scope.kind == "group":
        access = await access_group(session, principal, int(str(scope.key)))
        if not access.may_see_content:
            raise NotFound(f"group {scope.key}")
    elif scope.kind == "record":
        kind, _sep, raw_id = str(scope.key).partition(":")
        await access_record(session, principal, RecordKind(kind), int(raw_id))


async def load_block(
    request: Request,
    session: AsyncSession,
    principal: Principal,
    scope: TimelineScope,
    *,
    block_id: str,
    empty: str,
    only: Only = "all",
    cursor: str | None = None,
) -> TimelineBlock:
    """A page of a timeline ready for ``_timeline.html``; raises ValidationFailed for a bad
    cursor or key."""
    page: TimelinePage = await timeline(session, principal, scope, only=only, cursor=cursor)
    more = timeline_url(request, scope, only, page.next) if page.next else None
    return TimelineBlock(
        id=block_id,
        items=page.items,
        more_url=more,
        empty=empty,
        after=bool(cursor),
        live_key=live_key(scope, only),
    )


def scope_title(scope: TimelineScope) -> str:
    titles = {
        "personal": _("Your timeline"),
        "group": _("Group timeline"),
        "record": _("Posts about this record"),
        "person": _("Posts by this person"),
        "hashtag": _("Posts tagged #%(tag)s") % {"tag": str(scope.key or "")},
    }
    return titles[scope.kind]


async def timeline_page(request: Request) -> Response:
    principal = require_principal(request)
    params = request.query_params
    kind = params.get("scope", "personal")
    if kind not in SCOPES:
        raise NotFound(kind[:KEY_MAX])
    key = params.get("key", "")[:KEY_MAX] or None
    scope = TimelineScope(kind, key)  # type: ignore[arg-type]
    if kind in ("group", "person") and key is not None and key.isdigit():
        scope = TimelineScope(kind, int(key))  # type: ignore[arg-type]
    cursor = params.get("cursor", "")[:CURSOR_MAX] or None
    try:
        only = read_only(params.get("only", ""))
        async with app_state(request)["db"].session() as session:
            await check_scope(session, principal, scope)
            block = await load_block(
                request,
                session,
                principal,
                scope,
                block_id="timeline",
                empty=_("No posts yet."),
                only=only,
                cursor=cursor,
            )
    except ValidationFailed as exc:
        if "scope" in exc.errors:
            raise NotFound(kind) from None
        message = "; ".join(_(m) for m in exc.errors.values())
        return error_response(request, 400, message)
    context = {"timeline": block, "title": scope_title(scope)}
    return fragment_or_page(request, "posts/_timeline_items.html", "posts/timeline.html", context)


async def hashtag_page(request: Request) -> Response:
    principal = require_principal(request)
    tag = request.path_params["tag"].strip().lstrip("#").lower()[:KEY_MAX]
    scope = TimelineScope("hashtag", tag)
    cursor = request.query_params.get("cursor", "")[:CURSOR_MAX] or None
    try:
        async with app_state(request)["db"].session() as session:
            block = await load_block(
                request,
                session,
                principal,
                scope,
                block_id="timeline",
                empty=_("No posts with this tag yet."),
                cursor=cursor,
            )
    except ValidationFailed as exc:
        if "scope" in exc.errors:
            raise NotFound(tag) from None
        return error_response(request, 400, "; ".join(_(m) for m in exc.errors.values()))
    context = {"timeline": block, "tag": tag}
    return fragment_or_page(request, "posts/_timeline_items.html", "posts/hashtag.html", context)


async def person_posts(request: Request) -> Response:
    principal = require_principal(request)
    user_id: int = request.path_params["user_id"]
    if not 0 < user_id < 2**31:
        raise NotFound(str(user_id))
    scope = TimelineScope("person", user_id)
    cursor = request.query_params.get("cursor", "")[:CURSOR_MAX] or None
    channel = f"author:{user_id}"
    try:
        async with app_state(request)["db"].session() as session:
            block = await load_block(
                request,
                session,
                principal,
                scope,
                block_id="timeline",
                empty=_("No posts to show."),
                cursor=cursor,
            )
            following = await _follow_state_or_none(session, principal, channel)
    except ValidationFailed as exc:
        return error_response(request, 400, "; ".join(_(m) for m in exc.errors.values()))
    if not block.items and cursor is None and following is None and user_id != principal.user_id:
        # Nobody the reader may see, and no post of theirs the reader may see: as if there were
        # no such person (an empty page would tell that the id exists).
        raise NotFound(str(user_id))
    name = next(
        (v.author_name for v in block.items if v.post.author_id == user_id and v.author_name),
        None,
    )
    context = {
        "timeline": block,
        "person_name": name,
        "follow": {"channel": channel, "state": following} if following else None,
    }
    return fragment_or_page(request, "posts/_timeline_items.html", "posts/person.html", context)


async def _follow_state_or_none(
    session: AsyncSession, principal: Principal, channel: str
) -> str | None:
    """The reader's follow state of a channel, or None when they may not follow it (so no
    button shows)."""
    if principal.user_id == _author_of(channel):
        return None
    try:
        channel = await check_channel(session, principal, channel)
    except (NotFound, ValidationFailed):
        return None
    return await follow_state(session, principal, channel)


def _author_of(channel: str) -> int | None:
    prefix, _sep, value = channel.partition(":")
    return int(value) if prefix == "author" and value.isdigit() else None


# -- a record's wall -----------------------------------------------------------------------------


async def wall_for(
    request: Request,
    session: AsyncSession,
    principal: Principal,
    kind: RecordKind,
    record_id: int,
) -> dict[str, Any]:
    """The context of ``posts/_wall.html`` for a record card the reader may see: its posts, a
    composer with the record filled in (staff), and the follow button."""
    scope = TimelineScope("record", f"{kind.value}:{record_id}")
    card = request.url_for("record_card", kind=SLUG_OF[kind], id=record_id).path
    block = await load_block(
        request,
        session,
        principal,
        scope,
        block_id=f"wall-{kind.value}-{record_id}",
        empty=_("No posts about this record yet."),
    )
    composer: Composer | None = None
    if principal.is_staff:
        composer = await new_composer(
            request,
            session,
            principal,
            next_url=card,
            timeline_id=block.id,
            records=f"{kind.value}:{record_id}",
        )
    channel = f"record:{kind.value}:{record_id}"
    state = await _follow_state_or_none(session, principal, channel)
    return {
        "timeline": block,
        "composer": composer,
        "follow": {"channel": channel, "state": state} if state else None,
    }


# -- follow and mute -----------------------------------------------------------------------------


async def follow(request: Request) -> Response:
    principal = require_principal(request)
    form = await read_form(
        request, {"channel": 80, "state": 10, "next": 2_000}, required=("channel", "state")
    )
    state = form.values.get("state", "")
    if not form.ok or state not in FOLLOW_STATES:
        return error_response(request, 422, _("Choose follow, mute or neither."))
    channel = form.values["channel"]
    db = app_state(request)["db"]
    try:
        async with db.transaction() as session:
            await do_follow(session, principal, channel, state)
    except ValidationFailed as exc:
        return error_response(request, 422, "; ".join(_(m) for m in exc.errors.values()))
    if not is_htmx(request):
        return RedirectResponse(next_of(form.values), status_code=303)
    follow_context = {"channel": channel, "state": state}
    return fragment_or_page(
        request, "posts/_follow.html", "posts/_follow.html", {"follow": follow_context}
    )


# -- the composer's search fragments -------------------------------------------------------------


async def mentions(request: Request) -> Response:
    """People one may mention whose name or handle starts with ``q`` (the autocomplete)."""
    principal = require_principal(request)
    query = request.query_params.get("q", "")[:QUERY_MAX]
    raw_group = request.query_params.get("group", "")
    group_id = int(raw_group) if raw_group.isdigit() and 0 < int(raw_group) < 2**31 else None
    async with app_state(request)["db"].session() as session:
        candidates = await mention_candidates(session, principal, query, group_id=group_id)
    context = {"candidates": candidates, "query": query}
    return fragment_or_page(request, "posts/_mentions.html", "posts/mentions.html", context)


async def record_picker(request: Request) -> Response:
    """Records matching ``q`` of every kind the reader may list, a few per kind, each offered as
    a reference to link ("account:31")."""
    principal = require_principal(request)
    query = request.query_params.get("q", "").strip()[:QUERY_MAX]
    found: list[dict[str, Any]] = []
    if query:
        async with app_state(request)["db"].session() as session:
            for kind in RecordKind:
                if principal.is_external and kind not in EXTERNAL_KINDS:
                    continue
                page = await list_records(
                    session,
                    principal,
                    kind,
                    today=date.today(),
                    filters={"q": query},
                    limit=PICKER_LIMIT,
                )
                for row in page.rows:
                    title = row.get("name") or row.get("number") or row.get("description") or ""
                    found.append(
                        {"kind": kind.value, "id": row["id"], "title": title, "slug": SLUG_OF[kind]}
                    )
    context = {"records": found, "query": query}
    return fragment_or_page(
        request, "posts/_record_picker.html", "posts/record_picker.html", context
    )


routes = [
    Route("/timeline", timeline_page, methods=["GET"], name="timeline_page"),
    Route("/hashtags/{tag}", hashtag_page, methods=["GET"], name="hashtag"),
    Route("/people/{user_id:int}/posts", person_posts, methods=["GET"], name="person_posts"),
    Route("/follows", follow, methods=["POST"], name="follow"),
    Route("/posts/mentions", mentions, methods=["GET"], name="mentions"),
    Route("/posts/records", record_picker, methods=["GET"], name="record_picker"),
]
