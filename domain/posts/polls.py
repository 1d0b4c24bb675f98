"""Polls on posts: creating one with its post, voting, and what each reader sees of it.

A poll belongs to one post and shares its audience: whoever may see the post may vote, and the
vote's event goes to the post's audience. Three kinds:

- ``single``: 2–10 options, one vote per person;
- ``multiple``: 2–10 options, one or more;
- ``scale``: the points "1" … "5" or "1" … "10" as options, one vote.

Voting again replaces one's earlier vote (a person's choices are always their latest), and
voting the same choices again changes nothing and records no event. A closed poll (``closes_at``
passed) refuses votes. Counts live on the rows (``vote_count`` per option, ``voter_count`` per
poll) so showing a page of polls needs no aggregate; they are changed by relative updates while
the poll row is locked (``FOR UPDATE`` on PostgreSQL; SQLite's write transactions already queue).

Results are shown per the author's choice (``PollResults``): ``after_vote`` — once the reader has
voted, or the poll has closed; ``after_close`` — only once it has closed. The author always sees
them. Hidden results leave every count ``None`` in the view; how many people voted is always
shown (it says nothing about how they voted).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal
from domain.db import utcnow
from domain.errors import NotFound, ValidationFailed
from domain.events import PollVoted, record_event
from domain.posts.audience import audience_of
from domain.posts.models import (
    Poll,
    PollKind,
    PollOption,
    PollResults,
    PollVote,
    Post,
    PostAudience,
)
from domain.posts.queries import access_post
from domain.text import N_

MIN_OPTIONS, MAX_OPTIONS = 2, 10
OPTION_MAX = 200
SCALES = (5, 10)

NOT_ENOUGH = N_("A poll needs at least 2 options.")
TOO_MANY = N_("A poll can have at most 10 options.")
OPTION_EMPTY = N_("An option cannot be empty.")
OPTION_TOO_LONG = N_("An option can be at most 200 characters long.")
OPTION_TWICE = N_("Each option can be given only once.")
BAD_SCALE = N_("A scale goes from 1 to 5 or from 1 to 10.")
CLOSES_IN_PAST = N_("The closing date must be in the future.")
CLOSED = N_("This poll is closed.")
CHOOSE_ONE = N_("Choose one option.")
CHOOSE_SOME = N_("Choose at least one option.")
UNKNOWN_OPTION = N_("This option is not in the poll.")


@dataclass(frozen=True)
class PollInput:
    kind: PollKind
    options: tuple[str, ...]
    closes_at: datetime | None
    results: PollResults


def scale_options(points: int) -> tuple[str, ...]:
    """The options of a scale poll of ``points`` points: "1" … "N"."""
    return tuple(str(n) for n in range(1, points + 1))


def check_poll_input(data: PollInput, *, now: datetime | None = None) -> PollInput:
    """Validate a poll; returns it with its options trimmed. Raises ValidationFailed on the
    fields ``poll_options`` and ``poll_closes_at``."""
    errors: dict[str, str] = {}
    options = tuple(" ".join(o.replace("\x00", "").split()) for o in data.options)
    if data.kind is PollKind.SCALE:
        if options not in {scale_options(points) for points in SCALES}:
            errors["poll_options"] = BAD_SCALE
    elif len(options) < MIN_OPTIONS:
        errors["poll_options"] = NOT_ENOUGH
    elif len(options) > MAX_OPTIONS:
        errors["poll_options"] = TOO_MANY
    elif any(not o for o in options):
        errors["poll_options"] = OPTION_EMPTY
    elif any(len(o) > OPTION_MAX for o in options):
        errors["poll_options"] = OPTION_TOO_LONG
    elif len({o.casefold() for o in options}) != len(options):
        errors["poll_options"] = OPTION_TWICE
    if data.closes_at is not None:
        if data.closes_at.tzinfo is None:
            raise ValueError("closes_at must be an aware datetime")
        if data.closes_at <= (now or utcnow()):
            errors["poll_closes_at"] = CLOSES_IN_PAST
    if errors:
        raise ValidationFailed(errors)
    return PollInput(data.kind, options, data.closes_at, data.results)


async def do_create_poll(session: AsyncSession, post: Post, data: PollInput) -> None:
    """Add a poll to a post being created (``do_create_post`` calls this; it records the post's
    event, so none is recorded here)."""
    data = check_poll_input(data)
    session.add(
        Poll(
            post_id=post.id,
            kind=data.kind,
            results=data.results,
            closes_at=data.closes_at,
            voter_count=0,
        )
    )
    await session.flush()
    session.add_all(
        PollOption(post_id=post.id, position=i, label=label, vote_count=0)
        for i, label in enumerate(data.options)
    )
    await session.flush()


async def do_vote(
    session: AsyncSession,
    principal: Principal,
    post_id: int,
    option_ids: Sequence[int],
    *,
    now: datetime | None = None,
) -> None:
    """Cast (or replace) the principal's vote in a post's poll."""
    await access_post(session, principal, post_id)
    poll = await session.scalar(select(Poll).where(Poll.post_id == post_id).with_for_update())
    if poll is None:
        raise NotFound(f"poll {post_id}")
    if poll.closes_at is not None and poll.closes_at <= (now or utcnow()):
        raise ValidationFailed({"poll": CLOSED})
    chosen = set(option_ids)
    if poll.kind is PollKind.MULTIPLE:
        if not chosen:
            raise ValidationFailed({"poll": CHOOSE_SOME})
    elif len(chosen) != 1:
        raise ValidationFailed({"poll": CHOOSE_ONE})
    options = set(
        (await session.scalars(select(PollOption.id).where(PollOption.post_id == post_id))).all()
    )
    if not chosen <= options:
        raise ValidationFailed({"poll": UNKNOWN_OPTION})
    before = set(
        (
            await session.scalars(
                select(PollVote.option_id).where(
                    PollVote.post_id == post_id, PollVote.user_id == principal.user_id
                )
            )
        ).all()
    )
    if before == chosen:
        return
    dropped, added = before - chosen, chosen - before
    if dropped:
        await session.execute(
            delete(PollVote).where(
                PollVote.user_id == principal.user_id, PollVote.option_id.in_(dropped)
            )
        )
        await _count(session, dropped, -1)
    if added:
        session.add_all(
            PollVote(
                option_id=o, user_id=principal.user_id, post_id=post_id, created_at=now or utcnow()
            )
            for o in sorted(added)
        )
        await session.flush()
        await _count(session, added, +1)
    if not before:
        await session.execute(
            update(Poll)
            .where(Poll.post_id == post_id)
            .values(voter_count=Poll.voter_count + 1)
            .execution_options(synchronize_session=False)
        )
    await record_event(
        session,
        PollVoted(post_id),
        await audience_of(session, post_id),
        actor_id=principal.user_id,
    )


async def _count(session: AsyncSession, option_ids: Iterable[int], step: int) -> None:
    await session.execute(
        update(PollOption)
        .where(PollOption.id.in_(sorted(option_ids)))
        .values(vote_count=PollOption.vote_count + step)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class PollOptionView:
    id: int
    label: str
    count: int | None  # None while the reader may not see results
    mine: bool


@dataclass(frozen=True)
class PollView:
    """A poll as one reader sees it."""

    post_id: int
    kind: PollKind
    results: PollResults
    closes_at: datetime | None
    closed: bool
    voter_count: int
    options: tuple[PollOptionView, ...]
    may_see_results: bool

    @property
    def my_votes(self) -> frozenset[int]:
        return frozenset(o.id for o in self.options if o.mine)

    @property
    def voted(self) -> bool:
        return any(o.mine for o in self.options)

    @property
    def may_vote(self) -> bool:
        return not self.closed

    def share(self, option: PollOptionView) -> int | None:
        """An option's votes as a whole percentage of the voters (of a multiple-choice poll's
        voters, so those add up to more than 100)."""
        if option.count is None:
            return None
        return round(100 * option.count / self.voter_count) if self.voter_count else 0

    @property
    def average(self) -> float | None:
        """A scale poll's mean answer, when results are shown and anyone voted."""
        if self.kind is not PollKind.SCALE or not self.may_see_results:
            return None
        total = sum(o.count or 0 for o in self.options)
        if not total:
            return None
        return sum(int(o.label) * (o.count or 0) for o in self.options) / total


async def poll_views(
    session: AsyncSession,
    principal: Principal,
    post_ids: Sequence[int],
    *,
    now: datetime | None = None,
) -> dict[int, PollView]:
    """The polls of the given posts that the principal may see, by post id — one query."""
    ids = sorted({i for i in post_ids if 0 < i < 2**31})
    if not ids:
        return {}
    mine = exists().where(
        PollVote.option_id == PollOption.id, PollVote.user_id == principal.user_id
    )
    visible = exists().where(
        PostAudience.post_id == Poll.post_id, PostAudience.token.in_(sorted(principal.tokens))
    )
    rows = await session.execute(
        select(
            Poll.post_id,
            Poll.kind,
            Poll.results,
            Poll.closes_at,
            Poll.voter_count,
            Post.author_id,
            PollOption.id,
            PollOption.label,
            PollOption.vote_count,
            mine.label("mine"),
        )
        .join(Post, and_(Post.id == Poll.post_id, Post.deleted_at.is_(None)))
        .join(PollOption, PollOption.post_id == Poll.post_id)
        .where(Poll.post_id.in_(ids), visible)
        .order_by(Poll.post_id, PollOption.position, PollOption.id)
    )
    now = now or utcnow()
    grouped: dict[int, list[tuple[int, str, int, bool]]] = {}
    heads: dict[int, tuple[PollKind, PollResults, datetime | None, int, int | None]] = {}
    for post_id, kind, results, closes_at, voters, author, oid, label, count, voted in rows:
        heads[post_id] = (kind, results, closes_at, voters, author)
        grouped.setdefault(post_id, []).append((oid, label, count, bool(voted)))
    views: dict[int, PollView] = {}
    for post_id, (kind, results, closes_at, voters, author) in heads.items():
        options = grouped[post_id]
        closed = closes_at is not None and closes_at <= now
        voted = any(m for *_, m in options)
        shown = (
            author == principal.user_id or closed or (results is PollResults.AFTER_VOTE and voted)
        )
        views[post_id] = PollView(
            post_id=post_id,
            kind=kind,
            results=results,
            closes_at=closes_at,
            closed=closed,
            voter_count=voters,
            options=tuple(
                PollOptionView(oid, label, count if shown else None, m)
                for oid, label, count, m in options
            ),
            may_see_results=shown,
        )
    return views


async def poll_view(
    session: AsyncSession, principal: Principal, post_id: int, *, now: datetime | None = None
) -> PollView:
    """One post's poll as the principal sees it; NotFound when there is none they may see."""
    view = (await poll_views(session, principal, [post_id], now=now)).get(post_id)
    if view is None:
        raise NotFound(f"poll {post_id}")
    return view
