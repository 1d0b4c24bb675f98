"""Groups on the web: the list, a new group, a group's page, and joining and leaving.

- ``GET /groups`` (``groups``): the groups the reader may find, by name; ``q`` searches names,
  ``show=mine`` keeps the groups they belong to; keyset pages ("Load more" links to
  ``?cursor=…``, htmx fetches the next rows into the table, ``Vary: HX-Request``). Hidden groups
  appear only to their members (and invitees), customers and partners see only the groups
  shared with their account that they belong to. Bad filters answer 400 with the messages.
- ``GET /groups/new`` (``group_new``) and ``POST /groups`` (``group_create``): staff create a
  group (name, description, visibility) and own it; 422 with a message per field. Customers
  and partners get 404, as for any page they may not reach.
- ``GET /groups/{id}`` (``group``): the header (name, description, visibility, member count,
  archived banner) with the reader's own actions, then — for those who may see the content —
  the group's timeline with the composer (members of an open group). A private group shows a
  non-member the header and "Ask to join", never its posts; a hidden group is a 404 to them.
- ``POST /groups/{id}/join`` (``group_join``): join a public group, ask to join a private one, or
  accept an invitation. ``POST /groups/{id}/leave`` (``group_leave``): leave, withdraw a request
  or decline an invitation. Each answers 303 back to the group's page with a notice; a refusal
  (a mandatory group, the last owner, an archived group) re-renders the page with the domain's
  message: 403.

The timeline is ``domain.posts.timeline``'s "group" scope, rendered and paged ("Load older",
``GET /timeline?scope=group&key=<id>``) by ``portal.routes.timelines``, pinned posts first; the
follow and mute buttons are its ``posts/_follow.html`` on the channel ``group:<id>``.

Members, settings, sharing and mandatory rules live in ``portal.routes.group_members`` and
``portal.routes.group_settings``; the rules themselves in ``domain.groups``. Names are escaped
like every text; a description goes through ``domain.markup.render``, the one pipeline for what
people write.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from domain.access import Principal
from domain.errors import Forbidden, NotFound, ValidationFailed
from domain.groups.actions import check_group_input, do_create_group
from domain.groups.membership import do_join_group, do_leave_group
from domain.groups.models import GroupVisibility, MembershipState
from domain.groups.queries import access_group, list_groups, member_counts
from domain.markup import render as render_markup
from domain.posts.audience import group_channel
from domain.posts.follows import follow_state
from domain.posts.timeline import TimelineScope
from portal.auth.guards import require_principal, require_staff
from portal.errors import error_response
from portal.forms import read_form
from portal.i18n import gettext as _
from portal.routes.composer import new_composer
from portal.routes.records_lists import path_with, wants_fragment
from portal.routes.timelines import load_block
from portal.state import app_state

FILTER_MAX = 200
CURSOR_MAX = 4096
SHOW_CHOICES = ("", "all", "mine")
FORM_LIMITS = {"name": 400, "description": 6000, "visibility": 20}
ID_MAX = 2**31  # no row has a larger id; the database would refuse to look one up
# The notices a redirect back to the group's page may ask for (``?done=``).
DONE = ("created", "joined", "requested", "accepted", "left")


def render(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    return app_state(request)["templates"].TemplateResponse(
        request, template, context, status_code=status
    )


def translated(errors: dict[str, str]) -> dict[str, str]:
    return {name: _(message) for name, message in errors.items()}


def path_id(request: Request, name: str = "id") -> int:
    """An id from the path; one no row can have is a 404 before any query."""
    value: int = request.path_params[name]
    if not 0 < value < ID_MAX:
        raise NotFound(request.url.path)
    return value


def incomplete(request: Request) -> Response:
    return error_response(
        request, 400, _("This form was not sent as expected. Reload the page and try again.")
    )


def refusal(exc: Forbidden) -> str:
    """The domain's reason for a refusal, in the reader's language."""
    return _(str(exc)) if str(exc) else _("You may not do this.")


def description_html(text: str) -> Markup:
    """A group's description through the one sanitising pipeline (``domain.markup``): the only
    user text the group pages mark safe, because that pipeline's output is allowlisted HTML."""
    return Markup(render_markup(text).html) if text else Markup("")  # noqa: S704 - sanitised


def back_to(request: Request, name: str, group_id: int, done: str) -> Response:
    target = request.url_for(name, id=group_id).path
    return RedirectResponse(f"{target}?done={done}", 303)


# -- the list ---------------------------------------------------------------------------------


async def group_list(request: Request) -> Response:
    principal = require_principal(request)
    params = request.query_params
    q = params.get("q", "")[:FILTER_MAX]
    show = params.get("show", "")[:FILTER_MAX]
    cursor = params.get("cursor", "")[:CURSOR_MAX]
    page, errors = None, {}
    if show not in SHOW_CHOICES:
        errors["show"] = _("This is not one of the allowed values.")
    else:
        try:
            async with app_state(request)["db"].session() as session:
                page = await list_groups(
                    session, principal, mine=show == "mine", q=q, cursor=cursor
                )
        except ValidationFailed as exc:
            errors = translated(exc.errors)
    kept = {"q": q, "show": show}
    more_url = None
    if page is not None and page.next is not None:
        more_url = path_with(request, "groups", {**kept, "cursor": page.next})
    context: dict[str, Any] = {"rows": page.rows if page else [], "errors": errors}
    context["more_url"] = more_url
    if wants_fragment(request):
        template = "groups/_rows.html"
    else:
        template = "groups/index.html"
        context |= {
            "values": kept,
            "clear_url": path_with(request, "groups", {}),
            "first_url": path_with(request, "groups", kept) if cursor and not errors else None,
            "filtered": bool(q or show == "mine"),
        }
    response = render(request, template, context, 400 if errors else 200)
    response.headers.add_vary_header("HX-Request")
    return response


# -- a new group ------------------------------------------------------------------------------


def _new_form(
    request: Request, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    context = {"values": values, "errors": errors, "visibilities": list(GroupVisibility)}
    return render(request, "groups/new.html", context, status)


async def new_group(request: Request) -> Response:
    require_staff(request)
    return _new_form(request, {"visibility": GroupVisibility.PUBLIC.value}, {})


async def create_group(request: Request) -> Response:
    principal = require_staff(request)
    form = await read_form(request, FORM_LIMITS)
    values = form.values
    errors = translated(form.errors)
    if errors:
        # Every problem at once: the domain's verdict on the other fields too.
        try:
            check_group_input(
                values.get("name", ""), values.get("description", ""), values.get("visibility", "")
            )
        except ValidationFailed as exc:
            errors = translated(exc.errors) | errors
        return _new_form(request, values, errors, 422)
    try:
        async with app_state(request)["db"].transaction() as session:
            group = await do_create_group(
                session,
                principal,
                name=values["name"],
                description=values["description"],
                visibility=values["visibility"],
            )
    except ValidationFailed as exc:
        return _new_form(request, values, translated(exc.errors), 422)
    return back_to(request, "group", group.id, "created")


# -- a group's page ---------------------------------------------------------------------------


async def group_context(
    request: Request, principal: Principal, group_id: int, *, problem: str = ""
) -> dict[str, Any]:
    """Everything the group's page shows, loaded for the reader: the content only for those
    who may see it."""
    async with app_state(request)["db"].session() as session:
        access = await access_group(session, principal, group_id)
        counts = await member_counts(session, access)
        follow = None
        timeline = None
        composer = None
        if access.may_see_content:
            channel = group_channel(group_id)
            follow = {"channel": channel, "state": await follow_state(session, principal, channel)}
            timeline = await load_block(
                request,
                session,
                principal,
                TimelineScope("group", group_id),
                block_id=f"group-{group_id}-timeline",
                empty=_("No posts in this group yet."),
            )
            if access.may_post:
                composer = await new_composer(
                    request,
                    session,
                    principal,
                    next_url=request.url_for("group", id=group_id).path,
                    timeline_id=timeline.id,
                    group_id=group_id,
                )
    done = request.query_params.get("done", "")
    return {
        "access": access,
        "group": access.group,
        "counts": counts,
        "description": description_html(access.group.description),
        "follow": follow,
        "timeline": timeline,
        "composer": composer,
        "done": done if done in DONE and not problem else "",
        "problem": problem,
    }


async def group_page(request: Request) -> Response:
    principal = require_principal(request)
    context = await group_context(request, principal, path_id(request))
    return render(request, "groups/group.html", context)


async def _refused(
    request: Request, principal: Principal, group_id: int, exc: Forbidden | ValidationFailed
) -> Response:
    if isinstance(exc, ValidationFailed):
        message = " ".join(_(m) for m in exc.errors.values())
        status = 422
    else:
        message, status = refusal(exc), 403
    context = await group_context(request, principal, group_id, problem=message)
    return render(request, "groups/group.html", context, status)


async def join(request: Request) -> Response:
    principal = require_principal(request)
    group_id = path_id(request)
    try:
        async with app_state(request)["db"].transaction() as session:
            before = (await access_group(session, principal, group_id)).membership
            invited = before is not None and before.state is MembershipState.INVITED
            membership = await do_join_group(session, principal, group_id)
    except (Forbidden, ValidationFailed) as exc:
        return await _refused(request, principal, group_id, exc)
    if membership.state is MembershipState.REQUESTED:
        done = "requested"
    else:
        done = "accepted" if invited else "joined"
    return back_to(request, "group", group_id, done)


async def leave(request: Request) -> Response:
    principal = require_principal(request)
    group_id = path_id(request)
    try:
        async with app_state(request)["db"].transaction() as session:
            await do_leave_group(session, principal, group_id)
    except (Forbidden, ValidationFailed) as exc:
        return await _refused(request, principal, group_id, exc)
    return back_to(request, "group", group_id, "left")


routes = [
    Route("/groups", group_list, methods=["GET"], name="groups"),
    Route("/groups", create_group, methods=["POST"], name="group_create"),
    Route("/groups/new", new_group, methods=["GET"], name="group_new"),
    Route("/groups/{id:int}", group_page, methods=["GET"], name="group"),
    Route("/groups/{id:int}/join", join, methods=["POST"], name="group_join"),
    Route("/groups/{id:int}/leave", leave, methods=["POST"], name="group_leave"),
]
