"""Posts as pages and fragments: publish from the composer, the post page, edit, delete, pin,
share, react, and the edit history.

Every route loads the post through the domain (``access_post`` / ``load_post_views``), so a post
the reader may not see answers 404 like one that does not exist. A write made with htmx answers
the re-rendered region (``post-<id>``, ``reactions-<id>``); without htmx it answers 303 back to
the page the form came from (its ``next`` field) or to the post. Bad input answers the form again
with the messages and 422; refusals of the domain (not a member, not the author) answer 403 on
their own pages, and a message in the composer.

Reactions are set, not toggled: each button's form says the state wanted, so a double click or a
replay changes nothing the second time. Posting is idempotent through the composer's
``client_key`` (see ``domain.posts.actions``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from domain.access import Principal
from domain.db import utcnow
from domain.errors import Forbidden, NotFound, ValidationFailed
from domain.posts.actions import (
    PostInput,
    do_create_post,
    do_delete_post,
    do_edit_post,
    do_pin_post,
    do_share_post,
)
from domain.posts.models import ReactionKind
from domain.posts.queries import access_post, list_comments, list_reactors, list_revisions
from domain.posts.reactions import do_set_reaction
from domain.posts.views import PostView, load_post_views
from domain.records.audience import RecordKind
from domain.records.cards import RecordSummary, record_summary
from domain.text import N_
from portal.auth.guards import require_principal
from portal.errors import error_response
from portal.forms import read_form
from portal.i18n import gettext as _
from portal.routes.composer import (
    Composer,
    fragment_or_page,
    is_htmx,
    may_post_news,
    new_client_key,
    new_composer,
    next_of,
    parse_id,
    parse_kind,
    parse_moment,
    parse_poll,
    parse_references,
    postable_groups,
    read_composer,
    resolve_handles,
    respond,
    translated,
)
from portal.state import app_state

BODY_MAX = 20_000
NEXT_MAX = 2_000
CANNOT_POST = N_("You cannot post there.")
NO_GROUP = N_("There is no such group, or you cannot post in it.")
TIMELINE_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def post_id_of(request: Request) -> int:
    post_id: int = request.path_params["id"]
    if not 0 < post_id < 2**31:
        raise NotFound(str(post_id))
    return post_id


async def post_view(session: AsyncSession, principal: Principal, post_id: int) -> PostView:
    """One post as this reader sees it, or NotFound."""
    views = await load_post_views(session, principal, [post_id])
    if not views:
        raise NotFound(f"post {post_id}")
    return views[0]


async def record_summaries(
    session: AsyncSession, principal: Principal, view: PostView
) -> dict[str, RecordSummary]:
    """The cards of a post's linked records (only those the reader may see are on the view)."""
    summaries: dict[str, RecordSummary] = {}
    today = date.today()
    for linked in view.records:
        try:
            summary = await record_summary(
                session, principal, RecordKind(linked.kind), linked.id, today
            )
        except NotFound:
            continue
        summaries[f"{linked.kind}:{linked.id}"] = summary
    return summaries


def back_to(request: Request, next_url: str, post_id: int | None = None) -> Response:
    default = request.url_for("post", id=post_id).path if post_id else "/"
    return RedirectResponse(next_of({"next": next_url}, default), status_code=303)


# -- publishing ----------------------------------------------------------------------------------


async def composer_again(
    request: Request,
    principal: Principal,
    values: dict[str, str],
    errors: dict[str, str],
    attachment_ids: list[int],
) -> Response:
    """The composer with what was sent and why it was refused: 422."""
    fixed = values.get("fixed_group") == "1" and values.get("group_id", "").isdigit()
    async with app_state(request)["db"].session() as session:
        groups = [] if fixed else await postable_groups(session, principal)
    timeline_id = values.get("timeline_id", "")
    composer = Composer(
        action=request.url_for("post_create").path,
        next=next_of(values),
        client_key=values.get("client_key") or new_client_key(),
        timeline_id=timeline_id if set(timeline_id) <= TIMELINE_ID_CHARS else None,
        groups=groups,
        fixed_group_id=int(values["group_id"]) if fixed else None,
        may_post_news=may_post_news(principal) and not fixed,
        allow_company=principal.is_staff and not fixed,
        values=values,
        errors=translated(errors),
        attachment_ids=attachment_ids,
    )
    return fragment_or_page(
        request, "posts/_composer.html", "posts/new.html", {"composer": composer}, status_code=422
    )


async def create_post(request: Request) -> Response:
    principal = require_principal(request)
    form = await read_composer(request)
    values, errors = form.values, dict(form.errors)
    group_id = parse_id(values.get("group_id", ""), "group_id", errors)
    records = parse_references(values.get("records", ""), errors)
    kind = parse_kind(values.get("kind", ""), errors)
    news_until = parse_moment(values.get("news_until", ""), "news_until", errors)
    poll = parse_poll(values, errors)
    db = app_state(request)["db"]
    recipients: tuple[int, ...] = ()
    if values.get("to", "").strip():
        async with db.session() as session:
            recipients = await resolve_handles(session, principal, values["to"], errors)
    if errors:
        return await composer_again(request, principal, values, errors, form.attachment_ids)
    data = PostInput(
        body=values.get("body", ""),
        group_id=group_id,
        recipient_ids=recipients,
        records=records,
        kind=kind,
        news_until=news_until,
        client_key=values.get("client_key", "").strip() or None,
        attachment_ids=tuple(form.attachment_ids),
        poll=poll,
    )
    started = utcnow()
    try:
        async with db.transaction() as session:
            post = await do_create_post(session, principal, data)
    except ValidationFailed as exc:
        errors = {("to" if k == "recipient_ids" else k): v for k, v in exc.errors.items()}
        return await composer_again(request, principal, values, errors, form.attachment_ids)
    except Forbidden as exc:
        return await composer_again(
            request, principal, values, {"": str(exc) or CANNOT_POST}, form.attachment_ids
        )
    except NotFound:
        return await composer_again(
            request, principal, values, {"group_id": NO_GROUP}, form.attachment_ids
        )
    if not is_htmx(request):
        return back_to(request, values.get("next", ""), post.id)
    async with db.session() as session:
        # A repeated submit answers the first post, which is on the page already.
        repeated = post.created_at < started
        views = [] if repeated else await load_post_views(session, principal, [post.id])
        fixed = values["fixed_group"] == "1"
        groups = [] if fixed else await postable_groups(session, principal)
    timeline_id = values["timeline_id"]
    composer = Composer(
        action=request.url_for("post_create").path,
        next=next_of(values),
        timeline_id=timeline_id if timeline_id and set(timeline_id) <= TIMELINE_ID_CHARS else None,
        groups=groups,
        fixed_group_id=group_id if fixed else None,
        may_post_news=may_post_news(principal) and not fixed,
        allow_company=principal.is_staff and not fixed,
        values={"records": values.get("records", "")} if fixed else {},
    )
    return respond(
        request, "posts/_published.html", {"composer": composer, "views": views}, status_code=201
    )


async def new_post_page(request: Request) -> Response:
    """The composer alone: where a rejected post lands without JavaScript, and a plain page to
    write one from."""
    principal = require_principal(request)
    async with app_state(request)["db"].session() as session:
        composer = await new_composer(request, session, principal, next_url="/")
    return respond(request, "posts/new.html", {"composer": composer})


# -- the post page -------------------------------------------------------------------------------


async def post_page(request: Request) -> Response:
    principal = require_principal(request)
    post_id = post_id_of(request)
    async with app_state(request)["db"].session() as session:
        view = await post_view(session, principal, post_id)
        comments = await list_comments(session, principal, post_id)
        summaries = await record_summaries(session, principal, view)
    context = {
        "view": view,
        "comments": comments,
        "record_summaries": summaries,
        "comment_key": new_client_key(),
    }
    return fragment_or_page(request, "posts/_post.html", "posts/post.html", context)


async def edit_form(request: Request) -> Response:
    principal = require_principal(request)
    post_id = post_id_of(request)
    async with app_state(request)["db"].session() as session:
        view = await post_view(session, principal, post_id)
    if not view.may_edit:
        raise Forbidden(post_id)
    context = {"view": view, "values": {"body": view.post.body}, "errors": {}}
    return fragment_or_page(request, "posts/_edit.html", "posts/edit.html", context)


async def edit_post(request: Request) -> Response:
    principal = require_principal(request)
    post_id = post_id_of(request)
    form = await read_form(request, {"body": BODY_MAX})
    errors = dict(form.errors)
    db = app_state(request)["db"]
    if not errors:
        try:
            async with db.transaction() as session:
                await do_edit_post(session, principal, post_id, form.values["body"])
        except ValidationFailed as exc:
            errors = dict(exc.errors)
    async with db.session() as session:
        view = await post_view(session, principal, post_id)
    if errors:
        context = {"view": view, "values": form.values, "errors": translated(errors)}
        return fragment_or_page(
            request, "posts/_edit.html", "posts/edit.html", context, status_code=422
        )
    if not is_htmx(request):
        return back_to(request, "", post_id)
    return respond(request, "posts/_post.html", {"view": view})


async def delete_post(request: Request) -> Response:
    principal = require_principal(request)
    post_id = post_id_of(request)
    form = await read_form(request, {"next": NEXT_MAX})
    async with app_state(request)["db"].transaction() as session:
        await do_delete_post(session, principal, post_id)
    if not is_htmx(request):
        target = form.values.get("next", "")
        # The post's own page is gone: go home instead.
        if target == request.url_for("post", id=post_id).path:
            target = ""
        return back_to(request, target or "/")
    return respond(request, "posts/_deleted.html", {"post_id": post_id})


async def pin_post(request: Request) -> Response:
    principal = require_principal(request)
    post_id = post_id_of(request)
    form = await read_form(request, {"pinned": 1, "next": NEXT_MAX})
    pinned = form.values.get("pinned") == "1"
    db = app_state(request)["db"]
    try:
        async with db.transaction() as session:
            await do_pin_post(session, principal, post_id, pinned)
    except ValidationFailed as exc:
        message = "; ".join(translated(exc.errors).values())
        return error_response(request, 422, message)
    if not is_htmx(request):
        return back_to(request, form.values.get("next", ""), post_id)
    async with db.session() as session:
        view = await post_view(session, principal, post_id)
    return respond(request, "posts/_post.html", {"view": view})


async def history(request: Request) -> Response:
    principal = require_principal(request)
    post_id = post_id_of(request)
    async with app_state(request)["db"].session() as session:
        view = await post_view(session, principal, post_id)
        revisions = await list_revisions(session, principal, post_id=post_id)
    context = {
        "title": _("Earlier versions of this post"),
        "current": view.post,
        "revisions": revisions,
        "back": request.url_for("post", id=post_id).path,
    }
    return fragment_or_page(request, "posts/_history.html", "posts/history.html", context)


# -- reactions -----------------------------------------------------------------------------------


async def react(request: Request) -> Response:
    """Set one's reaction: ``kind`` with ``state`` "on" sets it, "off" withdraws it if it is
    still the one set (a stale "off" for another kind leaves the current reaction alone)."""
    principal = require_principal(request)
    post_id = post_id_of(request)
    form = await read_form(request, {"kind": 20, "state": 3, "next": NEXT_MAX})
    try:
        kind = ReactionKind(form.values.get("kind", ""))
    except ValueError:
        return error_response(request, 422, _("Choose one of the offered reactions."))
    wanted_on = form.values.get("state", "on") != "off"
    db = app_state(request)["db"]
    async with db.transaction() as session:
        current = (await post_view(session, principal, post_id)).my_reaction
        if wanted_on and current != kind:
            await do_set_reaction(session, principal, post_id, kind)
        elif not wanted_on and current == kind:
            await do_set_reaction(session, principal, post_id, None)
    if not is_htmx(request):
        return back_to(request, form.values.get("next", ""), post_id)
    async with db.session() as session:
        view = await post_view(session, principal, post_id)
    return respond(request, "posts/_reactions.html", {"view": view})


async def reactors(request: Request) -> Response:
    principal = require_principal(request)
    post_id = post_id_of(request)
    async with app_state(request)["db"].session() as session:
        view = await post_view(session, principal, post_id)
        people = await list_reactors(session, principal, post_id)
    context = {"view": view, "reactors": people}
    return fragment_or_page(request, "posts/_reactors.html", "posts/reactors.html", context)


# -- sharing -------------------------------------------------------------------------------------


async def _share_context(
    request: Request, principal: Principal, post_id: int, values: dict[str, str], errors: Any
) -> dict[str, Any]:
    async with app_state(request)["db"].session() as session:
        view = await post_view(session, principal, post_id)
        groups = await postable_groups(session, principal)
    return {
        "view": view,
        "groups": groups,
        "values": values,
        "errors": translated(errors),
        "client_key": values.get("client_key") or new_client_key(),
        "allow_people": principal.is_staff,
    }


async def share_form(request: Request) -> Response:
    principal = require_principal(request)
    post_id = post_id_of(request)
    context = await _share_context(request, principal, post_id, {}, {})
    context["inline"] = is_htmx(request)
    return fragment_or_page(request, "posts/_share_form.html", "posts/share.html", context)


async def share_post(request: Request) -> Response:
    principal = require_principal(request)
    post_id = post_id_of(request)
    form = await read_form(
        request, {"body": BODY_MAX, "group_id": 20, "to": 2_000, "client_key": 64}
    )
    values, errors = form.values, dict(form.errors)
    group_id = parse_id(values.get("group_id", ""), "group_id", errors)
    db = app_state(request)["db"]
    recipients: tuple[int, ...] = ()
    async with db.session() as session:
        await access_post(session, principal, post_id)  # 404 before anything else
        if values.get("to", "").strip():
            recipients = await resolve_handles(session, principal, values["to"], errors)
    if group_id is None and not recipients and not errors:
        errors["group_id"] = N_("Choose a group, or people to share with.")
    shared = None
    if not errors:
        try:
            async with db.transaction() as session:
                shared = await do_share_post(
                    session,
                    principal,
                    post_id,
                    values.get("body", ""),
                    group_id=group_id,
                    recipient_ids=recipients,
                    client_key=values.get("client_key", "").strip() or None,
                )
        except ValidationFailed as exc:
            errors = {("to" if k == "recipient_ids" else k): v for k, v in exc.errors.items()}
        except Forbidden as exc:
            errors = {"": str(exc) or CANNOT_POST}
        except NotFound:
            errors = {"group_id": NO_GROUP}
    if errors or shared is None:
        context = await _share_context(request, principal, post_id, values, errors)
        return respond(request, "posts/share.html", context, status_code=422)
    return RedirectResponse(request.url_for("post", id=shared.id).path, status_code=303)


routes = [
    Route("/posts", create_post, methods=["POST"], name="post_create"),
    Route("/posts/new", new_post_page, methods=["GET"], name="post_new"),
    Route("/posts/{id:int}", post_page, methods=["GET"], name="post"),
    Route("/posts/{id:int}/edit", edit_form, methods=["GET"], name="post_edit_form"),
    Route("/posts/{id:int}/edit", edit_post, methods=["POST"], name="post_edit"),
    Route("/posts/{id:int}/delete", delete_post, methods=["POST"], name="post_delete"),
    Route("/posts/{id:int}/pin", pin_post, methods=["POST"], name="post_pin"),
    Route("/posts/{id:int}/history", history, methods=["GET"], name="post_history"),
    Route("/posts/{id:int}/reactions", react, methods=["POST"], name="post_react"),
    Route("/posts/{id:int}/reactions", reactors, methods=["GET"], name="post_reactors"),
    Route("/posts/{id:int}/share", share_form, methods=["GET"], name="post_share_form"),
    Route("/posts/{id:int}/share", share_post, methods=["POST"], name="post_share"),
]
