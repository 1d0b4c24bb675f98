"""@mentions and #hashtags: who one may mention, the autocomplete, and rendering a text with its
mentions and hashtags linked.

A person's handle is the local part of their email, lowercased (``jan.jansen`` for
jan.jansen@example.com). Who one may mention (and is offered by the autocomplete):

- staff: every active staff user, plus the external members of the group written in, while the
  group is shared with their account;
- customers and partners: the active members of the groups they belong to (the same "shared"
  condition holding for external members).

Two mentionable people with the same handle (jan@a.nl, jan@b.nl) are a known limit: the one
with the lowest id is linked. Mentioning oneself is allowed (and not offered).

Links baked into the stored HTML are fixed site paths, so the stored text needs no request to be
rendered: a mention links to ``/people/<id>/posts`` (portal route ``person_posts``), a hashtag to
``/hashtags/<tag>`` (portal route ``hashtag``). Changing those routes needs the stored HTML
re-rendered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal
from domain.errors import NotFound
from domain.groups.models import GroupMembership, GroupShare, MembershipState
from domain.groups.queries import access_group
from domain.markup import MentionTarget, Rendered, render
from domain.matching import clean_term, like_escape
from domain.people.models import User, UserKind
from domain.records.models import Contact

MENTION_LIMIT = 8
MENTIONS_MAX = 50
# A mention search is a name or handle prefix; longer input cannot match anything useful.
PREFIX_MAX = 60


def person_path(user_id: int) -> str:
    return f"/people/{user_id}/posts"


def hashtag_path(tag: str) -> str:
    return "/hashtags/" + quote(tag.lower(), safe="")


def handle_of(user: User) -> str:
    """The mention handle: the email's local part, lowercased."""
    return user.email.split("@", 1)[0].lower()


@dataclass(frozen=True)
class MentionCandidate:
    user_id: int
    name: str
    handle: str


def group_ids_of(principal: Principal) -> list[int]:
    """The groups the principal is an active member of, from their tokens."""
    ids = []
    for token in principal.tokens:
        kind, _, value = token.partition(":")
        if kind == "group" and value.isdigit():
            ids.append(int(value))
    return sorted(ids)


def _members_of(group_ids: Sequence[int]) -> ColumnElement[bool]:
    """``User`` is an active member of one of the groups (an external only while the group is
    shared with their account, as ``domain.access`` counts it)."""
    if not group_ids:
        return false()
    shared = exists().where(
        GroupShare.group_id == GroupMembership.group_id,
        GroupShare.account_id == Contact.account_id,
        Contact.user_id == User.id,
    )
    return exists().where(
        GroupMembership.user_id == User.id,
        GroupMembership.group_id.in_(group_ids),
        GroupMembership.state == MembershipState.ACTIVE,
        or_(User.kind == UserKind.STAFF, shared),
    )


def mentionable(principal: Principal, group_id: int | None = None) -> ColumnElement[bool]:
    """The SQL condition "the principal may mention this ``User``" (see the module docstring)."""
    if principal.is_staff:
        staff = User.kind == UserKind.STAFF
        if group_id is not None:
            staff = or_(staff, _members_of([group_id]))
        return and_(User.is_active, staff)
    groups = group_ids_of(principal)
    if group_id is not None:
        groups = [g for g in groups if g == group_id]
    return and_(User.is_active, _members_of(groups))


async def mention_candidates(
    session: AsyncSession,
    principal: Principal,
    prefix: str,
    *,
    group_id: int | None = None,
    limit: int = MENTION_LIMIT,
) -> list[MentionCandidate]:
    """People the principal may mention whose name (any word of it) or handle starts with
    ``prefix``, by name. ``group_id`` is the group being written in, if any: ``NotFound`` unless
    the principal may see its content (so its external members are not told to outsiders)."""
    if group_id is not None:
        if not 0 < group_id < 2**31:  # no group has such an id (and a driver would overflow)
            raise NotFound(f"group {group_id}")
        if not (await access_group(session, principal, group_id)).may_see_content:
            raise NotFound(f"group {group_id}")
    prefix = clean_term(prefix, PREFIX_MAX).lstrip("@")
    if not prefix:
        return []
    pattern = like_escape(prefix) + "%"
    name = func.lower(User.name)
    rows = await session.scalars(
        select(User)
        .where(
            mentionable(principal, group_id),
            User.id != principal.user_id,
            or_(
                name.like(pattern, escape="\\"),
                name.like("% " + pattern, escape="\\"),
                func.lower(User.email).like(pattern, escape="\\"),
            ),
        )
        .order_by(User.name, User.id)
        .limit(max(1, min(limit, 50)))
    )
    return [MentionCandidate(u.id, u.name, handle_of(u)) for u in rows]


async def resolve_mentions(
    session: AsyncSession,
    principal: Principal,
    handles: Iterable[str],
    *,
    group_id: int | None = None,
) -> dict[str, User]:
    """The people the principal may mention behind these handles, by lowercased handle."""
    # A text may name any number of handles; only the first ``MENTIONS_MAX`` are linked.
    wanted = list(dict.fromkeys(h.lower() for h in handles))[:MENTIONS_MAX]
    if not wanted:
        return {}
    email = func.lower(User.email)
    matches = or_(*(email.like(like_escape(h) + "@%", escape="\\") for h in wanted))
    rows = await session.scalars(
        select(User).where(mentionable(principal, group_id), matches).order_by(User.id)
    )
    found: dict[str, User] = {}
    for user in rows:
        found.setdefault(handle_of(user), user)
    return found


@dataclass(frozen=True)
class RenderedText:
    rendered: Rendered
    mention_ids: tuple[int, ...]  # the people linked, in order of appearance


async def render_text(
    session: AsyncSession, principal: Principal, text: str, *, group_id: int | None = None
) -> RenderedText:
    """Render a post's or comment's text with the mentions the author may make linked.

    Two passes: the first finds the handles, one query resolves them, the second links them
    (``domain.markup.render`` takes a plain function). Raises ValidationFailed for a text that is
    too long."""
    first = render(text, hashtag_url=hashtag_path)
    if not first.mentions:
        return RenderedText(first, ())
    users = await resolve_mentions(session, principal, first.mentions, group_id=group_id)
    if not users:
        return RenderedText(first, ())

    def lookup(handle: str) -> MentionTarget | None:
        user = users.get(handle.lower())
        return None if user is None else MentionTarget(person_path(user.id), "@" + user.name)

    second = render(text, mention=lookup, hashtag_url=hashtag_path)
    ids = [users[h.lower()].id for h in second.mentions if h.lower() in users]
    return RenderedText(second, tuple(dict.fromkeys(ids)))
