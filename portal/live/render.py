"""The render function the hub calls: one event in, JSON frames out, each for a group of sockets.

Every kind in ``domain.events.CATALOGUE`` has a renderer in ``RENDERERS`` (a test checks it).
A frame is ``{"id", "kind", "target", "html"}``: ``target`` is the id of the region the HTML
replaces whole (``post-<id>``, ``comments-<id>``, ``reactions-<id>``, ``poll-<id>``), so applying
a frame twice is harmless. A deleted post's frame is empty HTML (the region goes away); kinds that
change nothing on screen (records, groups) send an empty frame that only moves the client's
cursor. A new post's frame also says in which timelines it appears for that reader
(``timelines``: "personal", "group:7", "person:42", "record:account:31", "hashtag:x").

Fragments differ per reader (edit and delete links, their own reaction and votes, which linked
cards they may see). Rendering once per socket would cost thousands of renders per post, so
readers are grouped into *classes* (``domain.posts.viewers``): everyone the post's facts single
out (author, moderators, reactors, voters, commenters, addressees) is a class of their own;
everyone else shares a class with those of the same language, kind and reach of the post's cards.
Each class is rendered once, for one of its members, through the same partials and domain
queries as the pages — so a reader never gets a card their own page would not show them.

Fragments are rendered without a CSRF token (it is per session: putting one reader's in another's
page would hand it out); static/js/live.js fills in the page's own token.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from domain.access import Principal
from domain.db import Database
from domain.posts.follows import FollowState, channel_followers
from domain.posts.moderation import MODERATOR_ROLES
from domain.posts.queries import list_comments
from domain.posts.viewers import PostViewers, post_viewers
from domain.posts.views import PostView, load_post_views
from portal import i18n
from realtime.connection import Connection
from realtime.hub import Frames
from realtime.relay import LoggedEvent


@dataclass(frozen=True)
class Viewer:
    """What the portal knows of a socket's page beside its principal: the language it renders
    in and the origin its links point to."""

    language: str
    scheme: str  # http or https
    host: str


@functools.lru_cache(maxsize=256)
def viewer_for(language: str, scheme: str, host: str) -> Viewer:
    """One shared ``Viewer`` per kind of page (thousands of sockets, a handful of kinds)."""
    return Viewer(language, scheme, host)


def frame(event: LoggedEvent, target: str | None, html: str = "", **extra: Any) -> str:
    return json.dumps(
        {"id": event.id, "kind": event.kind, "target": target, "html": html, **extra},
        separators=(",", ":"),
    )


def viewer_of(conn: Connection) -> Viewer:
    viewer = conn.context
    if not isinstance(viewer, Viewer):
        raise TypeError("a live connection must carry a portal.live.Viewer")
    return viewer


_NO_GROUPS: frozenset[str] = frozenset()


def class_key(
    conn: Connection,
    facts: PostViewers,
    groups: frozenset[str] | None = None,
    follow: FollowState = "none",
) -> tuple[Any, ...]:
    """Readers with the same key see the same fragment of this post. (``groups``: the post's
    group channels, ``facts.groups``, when the caller has them already; ``follow``: the reader's
    follow state of the post's channels, where it matters.) This runs once per socket for every
    live event, so it reads each attribute once and builds one tuple."""
    principal = conn.principal
    viewer = conn.context
    if not isinstance(viewer, Viewer):
        raise TypeError("a live connection must carry a portal.live.Viewer")
    user_id = principal.user_id
    if user_id in facts.personal or not MODERATOR_ROLES.isdisjoint(principal.roles):
        return ("user", user_id, principal.tokens, viewer, follow)
    tokens = principal.tokens
    audiences = facts.audiences
    reach = tuple([not tokens.isdisjoint(a) for a in audiences]) if audiences else ()
    if groups is None:
        groups = facts.groups
    mine = tokens.intersection(groups) if groups else _NO_GROUPS
    return ("class", viewer, principal.kind, principal.roles, reach, mine, follow)


def timelines_for(
    view: PostView, principal: Principal, facts: PostViewers, follow: FollowState = "none"
) -> list[str]:
    """The timelines a new post appears in for this reader: as ``domain.posts.timeline`` pages
    them, the personal one holds their own channels and groups and what they follow, minus what
    they muted (``follow``: their state for the post's channels)."""
    post = view.post
    found = []
    mine = {f"to:{principal.user_id}", f"mention:{principal.user_id}"}
    mine.add(f"author:{principal.user_id}")
    in_group = post.group_id is not None and f"group:{post.group_id}" in principal.tokens
    own = bool(facts.channels & ({"company", "news"} | mine)) or in_group
    if follow != "mute" and (own or follow == "follow"):
        found.append("personal")
    if post.group_id is not None:
        found.append(f"group:{post.group_id}")
    if post.author_id is not None:
        found.append(f"person:{post.author_id}")
    found += [f"record:{r.kind}:{r.id}" for r in view.records]
    found += [f"hashtag:{c[4:]}" for c in sorted(facts.channels) if c.startswith("tag:")]
    return found


# draw(session, one reader of a class, the post's facts, that class's follow state)
Draw = Callable[[Any, Connection, PostViewers, FollowState], Awaitable[str | None]]


class LiveRenderer:
    def __init__(self, db: Database, templates: Jinja2Templates, app: Starlette) -> None:
        self.db = db
        self.templates = templates
        self.app = app

    async def __call__(self, event: LoggedEvent, conns: Sequence[Connection]) -> Frames:
        return await RENDERERS[event.kind](self, event, conns)

    def render(self, name: str, conn: Connection, context: dict[str, Any]) -> str:
        viewer = viewer_of(conn)
        i18n.set_language(viewer.language)
        request = Request(
            {
                "type": "http",
                "method": "GET",
                "path": "/",
                "root_path": "",
                "scheme": viewer.scheme,
                "server": None,
                "query_string": b"",
                "headers": [(b"host", viewer.host.encode("latin-1"))],
                "app": self.app,
                "router": self.app.router,
                "state": {},
            }
        )
        full = {
            "request": request,
            "principal": conn.principal,
            "user": None,
            "csrf_token": "",
            "csp_nonce": "",
            "language": viewer.language,
            **context,
        }
        return self.templates.get_template(name).render(full)

    async def per_class(
        self,
        event: LoggedEvent,
        conns: Sequence[Connection],
        draw: Draw,
        *,
        follows: bool = False,
    ) -> Frames:
        """Group ``conns`` by class, call ``draw(session, representative, facts, follow)`` once
        per class; a None result sends that class nothing. With ``follows``, whether a reader
        follows or muted the post's channels splits the classes too (``follow``; "none"
        otherwise)."""
        post_id = int(event.payload["post_id"])
        async with self.db.session() as session:
            facts = await post_viewers(session, post_id)
            if facts is None:
                return []
            followers = await channel_followers(session, facts.channels) if follows else None
            classes: dict[tuple[Any, ...], list[Connection]] = {}
            groups = facts.groups
            for conn in conns:
                follow = "none" if followers is None else followers.state(conn.principal.user_id)
                key = class_key(conn, facts, groups, follow)
                members = classes.get(key)
                if members is None:
                    classes[key] = [conn]
                else:
                    members.append(conn)
            frames = []
            for members in classes.values():
                first = members[0]
                follow = followers.state(first.user_id) if followers is not None else "none"
                text = await draw(session, first, facts, follow)
                if text is not None:
                    frames.append((text, members))
            return frames


Render = Callable[[LiveRenderer, LoggedEvent, Sequence[Connection]], Awaitable[Frames]]


async def _one_view(session: Any, conn: Connection, post_id: int) -> PostView | None:
    views = await load_post_views(session, conn.principal, [post_id])
    return views[0] if views else None


async def render_post(
    renderer: LiveRenderer, event: LoggedEvent, conns: Sequence[Connection]
) -> Frames:
    post_id = int(event.payload["post_id"])

    created = event.kind == "post.created"

    async def draw(
        session: Any, conn: Connection, facts: PostViewers, follow: FollowState
    ) -> str | None:
        view = await _one_view(session, conn, post_id)
        if view is None:
            return None
        html = renderer.render("posts/_post.html", conn, {"view": view})
        extra = {}
        if created:
            extra["timelines"] = timelines_for(view, conn.principal, facts, follow)
        return frame(event, f"post-{post_id}", html, **extra)

    return await renderer.per_class(event, conns, draw, follows=created)


async def render_post_deleted(
    renderer: LiveRenderer, event: LoggedEvent, conns: Sequence[Connection]
) -> Frames:
    return [(frame(event, f"post-{int(event.payload['post_id'])}"), conns)]


async def render_comments(
    renderer: LiveRenderer, event: LoggedEvent, conns: Sequence[Connection]
) -> Frames:
    post_id = int(event.payload["post_id"])

    async def draw(
        session: Any, conn: Connection, facts: PostViewers, follow: FollowState
    ) -> str | None:
        view = await _one_view(session, conn, post_id)
        if view is None:
            return None
        comments = await list_comments(session, conn.principal, post_id)
        html = renderer.render("posts/_comments.html", conn, {"view": view, "comments": comments})
        count = view.post.comment_count
        # Where the comments are collapsed, only the link that opens them changes.
        link = i18n.ngettext("%(num)d comment", "%(num)d comments", count) % {"num": count}
        return frame(
            event,
            f"comments-{post_id}",
            html,
            count=count,
            link=link if count else i18n.gettext("Comment"),
        )

    return await renderer.per_class(event, conns, draw)


def _region(template: str, target: str) -> Render:
    async def render_region(
        renderer: LiveRenderer, event: LoggedEvent, conns: Sequence[Connection]
    ) -> Frames:
        post_id = int(event.payload["post_id"])

        async def draw(
            session: Any, conn: Connection, facts: PostViewers, follow: FollowState
        ) -> str | None:
            view = await _one_view(session, conn, post_id)
            if view is None:
                return None
            html = renderer.render(template, conn, {"view": view})
            return frame(event, f"{target}-{post_id}", html)

        return await renderer.per_class(event, conns, draw)

    return render_region


async def render_nothing(
    renderer: LiveRenderer, event: LoggedEvent, conns: Sequence[Connection]
) -> Frames:
    """Records and groups have no live region yet: an empty frame, so the client's cursor moves
    on and it never asks for this event again."""
    return [(frame(event, None), conns)]


RENDERERS: dict[str, Render] = {
    "record.updated": render_nothing,
    "group.changed": render_nothing,
    "group.membership_changed": render_nothing,
    "user.access_changed": render_nothing,
    "post.created": render_post,
    "post.changed": render_post,
    "post.deleted": render_post_deleted,
    "comment.added": render_comments,
    "comment.changed": render_comments,
    "comment.deleted": render_comments,
    "post.reactions_changed": _region("posts/_reactions.html", "reactions"),
    "poll.voted": _region("posts/_poll.html", "poll"),
}
