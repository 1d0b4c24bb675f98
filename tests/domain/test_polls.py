"""Polls in the domain: what a poll may be, who may vote and how, revoting, closing, counts kept
right under concurrent votes, the event, and which results each reader sees."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from domain.access import Principal
from domain.db import Database, utcnow
from domain.errors import NotFound, ValidationFailed
from domain.events import Event, EventAudience
from domain.people.models import User, UserKind
from domain.posts.models import Poll, PollKind, PollOption, PollResults, Post
from domain.posts.polls import (
    PollInput,
    PollView,
    check_poll_input,
    do_create_poll,
    do_vote,
    poll_view,
    poll_views,
    scale_options,
)
from tests.conftest import UserFactory
from tests.domain.post_rows import make_post, principal_of, private_group

SINGLE = PollKind.SINGLE
AFTER_VOTE, AFTER_CLOSE = PollResults.AFTER_VOTE, PollResults.AFTER_CLOSE


def poll(*options: str, kind: PollKind = SINGLE, results=AFTER_VOTE, closes_at=None) -> PollInput:
    return PollInput(kind, options, closes_at, results)


# -- what a poll may be ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (poll("Only one"), "poll_options"),
        (poll(*(f"Option {i}" for i in range(11))), "poll_options"),
        (poll("Yes", "   "), "poll_options"),
        (poll("Yes", "x" * 201), "poll_options"),
        (poll("Yes", "yes"), "poll_options"),
        (poll("Tea", "Tea ", kind=PollKind.MULTIPLE), "poll_options"),
        (poll("1", "2", "3", kind=PollKind.SCALE), "poll_options"),
        (poll("Good", "Bad", kind=PollKind.SCALE), "poll_options"),
        (poll("Yes", "No", closes_at=utcnow() - timedelta(minutes=1)), "poll_closes_at"),
    ],
)
def test_bad_polls_are_refused_on_their_field(data: PollInput, field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_poll_input(data)
    assert set(refused.value.errors) == {field}


def test_good_polls_pass_with_their_options_tidied() -> None:
    checked = check_poll_input(poll("  Tea ", "Coffee\n  with milk", "x" * 200))
    assert checked.options == ("Tea", "Coffee with milk", "x" * 200)
    for points in (5, 10):
        data = poll(*scale_options(points), kind=PollKind.SCALE)
        assert check_poll_input(data).options == tuple(str(n) for n in range(1, points + 1))
    later = utcnow() + timedelta(days=1)
    assert check_poll_input(poll("a", "b", closes_at=later)).closes_at == later


# -- helpers --------------------------------------------------------------------------------------


async def post_with_poll(
    db: Database, author: User, data: PollInput, *, group_id: int | None = None
) -> tuple[int, list[int]]:
    post_id = await make_post(db, author, group_id=group_id)
    async with db.transaction() as session:
        post = await session.get(Post, post_id)
        assert post is not None
        await do_create_poll(session, post, data)
    async with db.session() as session:
        options = (
            await session.scalars(
                select(PollOption.id)
                .where(PollOption.post_id == post_id)
                .order_by(PollOption.position)
            )
        ).all()
    return post_id, list(options)


async def vote(db: Database, who: Principal, post_id: int, *options: int) -> None:
    async with db.transaction() as session:
        await do_vote(session, who, post_id, list(options))


async def view_of(db: Database, who: Principal, post_id: int) -> PollView:
    async with db.session() as session:
        return await poll_view(session, who, post_id)


def counts(view: PollView) -> list[int | None]:
    return [o.count for o in view.options]


async def close(db: Database, post_id: int) -> None:
    async with db.transaction() as session:
        row = await session.get(Poll, post_id)
        assert row is not None
        row.closes_at = utcnow() - timedelta(seconds=1)


# -- voting ---------------------------------------------------------------------------------------


async def test_a_single_choice_vote_and_a_changed_mind(db: Database, make_user: UserFactory):
    author = await make_user()
    voter = await principal_of(db, await make_user())
    post_id, (tea, coffee) = await post_with_poll(db, author, poll("Tea", "Coffee"))

    await vote(db, voter, post_id, tea)
    view = await view_of(db, voter, post_id)
    assert counts(view) == [1, 0] and view.voter_count == 1 and view.my_votes == {tea}

    await vote(db, voter, post_id, coffee)  # replaces the first vote
    view = await view_of(db, voter, post_id)
    assert counts(view) == [0, 1] and view.voter_count == 1 and view.my_votes == {coffee}

    for wrong in ([], [tea, coffee]):
        with pytest.raises(ValidationFailed):
            await vote(db, voter, post_id, *wrong)
    assert counts(await view_of(db, voter, post_id)) == [0, 1]


async def test_multiple_choice_takes_one_or_more(db: Database, make_user: UserFactory):
    author = await make_user()
    voter = await principal_of(db, await make_user())
    data = poll("Mon", "Tue", "Wed", kind=PollKind.MULTIPLE)
    post_id, (mon, tue, wed) = await post_with_poll(db, author, data)
    await vote(db, voter, post_id, mon, wed)
    assert counts(await view_of(db, voter, post_id)) == [1, 0, 1]
    await vote(db, voter, post_id, tue, wed, wed)
    view = await view_of(db, voter, post_id)
    assert counts(view) == [0, 1, 1] and view.voter_count == 1
    assert view.share(view.options[1]) == 100
    with pytest.raises(ValidationFailed):
        await vote(db, voter, post_id)


async def test_a_scale_takes_one_point(db: Database, make_user: UserFactory):
    author = await make_user()
    voters = [await principal_of(db, await make_user()) for _ in range(2)]
    data = poll(*scale_options(5), kind=PollKind.SCALE)
    post_id, points = await post_with_poll(db, author, data)
    await vote(db, voters[0], post_id, points[3])
    await vote(db, voters[1], post_id, points[4])
    view = await view_of(db, voters[0], post_id)
    assert counts(view) == [0, 0, 0, 1, 1]
    assert view.average == 4.5
    with pytest.raises(ValidationFailed):
        await vote(db, voters[0], post_id, points[0], points[1])


async def test_an_option_of_another_poll_is_refused(db: Database, make_user: UserFactory):
    author = await make_user()
    voter = await principal_of(db, await make_user())
    first, _ = await post_with_poll(db, author, poll("A", "B"))
    _, (other, _b) = await post_with_poll(db, author, poll("C", "D"))
    with pytest.raises(ValidationFailed):
        await vote(db, voter, first, other)


async def test_voting_the_same_again_changes_nothing_and_records_no_event(
    db: Database, make_user: UserFactory
):
    author = await make_user()
    voter = await principal_of(db, await make_user())
    post_id, (yes, _no) = await post_with_poll(db, author, poll("Yes", "No"))
    await vote(db, voter, post_id, yes)
    await vote(db, voter, post_id, yes)
    async with db.session() as session:
        events = (await session.scalars(select(Event).where(Event.kind == "poll.voted"))).all()
        assert len(events) == 1
        assert events[0].payload == {"post_id": post_id}
        assert events[0].actor_id == voter.user_id
        audience = set(
            (
                await session.scalars(
                    select(EventAudience.token).where(EventAudience.event_id == events[0].id)
                )
            ).all()
        )
    assert audience == {"role:employee", f"user:{author.id}"}  # the post's audience
    assert counts(await view_of(db, voter, post_id)) == [1, 0]


async def test_a_closed_poll_refuses_votes(db: Database, make_user: UserFactory):
    author = await make_user()
    voter = await principal_of(db, await make_user())
    later = utcnow() + timedelta(hours=1)
    post_id, (yes, _no) = await post_with_poll(db, author, poll("Yes", "No", closes_at=later))
    await vote(db, voter, post_id, yes)
    await close(db, post_id)
    with pytest.raises(ValidationFailed) as refused:
        await vote(db, voter, post_id, _no)
    assert "closed" in refused.value.errors["poll"]
    view = await view_of(db, voter, post_id)
    assert view.closed and not view.may_vote and counts(view) == [1, 0]


async def test_who_cannot_see_the_post_cannot_vote(db: Database, make_user: UserFactory):
    owner, member, outsider = await make_user(), await make_user(), await make_user()
    customer = await make_user(kind=UserKind.CUSTOMER)
    group_id = await private_group(db, owner, member)
    post_id, (yes, _no) = await post_with_poll(db, owner, poll("Yes", "No"), group_id=group_id)
    await vote(db, await principal_of(db, member), post_id, yes)
    for user in (outsider, customer):
        who = await principal_of(db, user)
        with pytest.raises(NotFound):
            await vote(db, who, post_id, yes)
        with pytest.raises(NotFound):
            await view_of(db, who, post_id)
    # A post without a poll, a deleted post and a missing one answer the same.
    plain = await make_post(db, owner)
    deleted = await make_post(db, owner, deleted=True)
    owner_p = await principal_of(db, owner)
    for missing in (plain, deleted, 999_999, 2**40):
        with pytest.raises(NotFound):
            await vote(db, owner_p, missing, yes)
    assert counts(await view_of(db, owner_p, post_id)) == [1, 0]


async def test_concurrent_votes_are_all_counted(db: Database, make_user: UserFactory):
    author = await make_user()
    voters = [await principal_of(db, await make_user()) for _ in range(8)]
    post_id, (tea, coffee) = await post_with_poll(db, author, poll("Tea", "Coffee"))
    await asyncio.gather(
        *(vote(db, v, post_id, tea if i % 2 else coffee) for i, v in enumerate(voters))
    )
    await asyncio.gather(*(vote(db, v, post_id, tea) for v in voters[:4]))  # change minds
    view = await view_of(db, await principal_of(db, author), post_id)
    assert view.voter_count == 8
    assert counts(view) == [6, 2]


# -- who sees results -----------------------------------------------------------------------------


async def test_results_after_voting(db: Database, make_user: UserFactory):
    author_user = await make_user()
    author = await principal_of(db, author_user)
    voter, reader = [await principal_of(db, await make_user()) for _ in range(2)]
    post_id, (yes, _no) = await post_with_poll(db, author_user, poll("Yes", "No"))
    await vote(db, voter, post_id, yes)

    assert counts(await view_of(db, author, post_id)) == [1, 0]  # the author always sees them
    assert counts(await view_of(db, voter, post_id)) == [1, 0]
    hidden = await view_of(db, reader, post_id)
    assert counts(hidden) == [None, None] and not hidden.may_see_results
    assert hidden.voter_count == 1  # how many voted is no secret
    assert hidden.share(hidden.options[0]) is None
    await close(db, post_id)
    assert counts(await view_of(db, reader, post_id)) == [1, 0]


async def test_results_after_closing(db: Database, make_user: UserFactory):
    author_user = await make_user()
    voter = await principal_of(db, await make_user())
    later = utcnow() + timedelta(days=1)
    data = poll(*scale_options(5), kind=PollKind.SCALE, results=AFTER_CLOSE, closes_at=later)
    post_id, points = await post_with_poll(db, author_user, data)
    await vote(db, voter, post_id, points[2])
    view = await view_of(db, voter, post_id)
    assert not view.may_see_results and view.average is None
    assert view.my_votes == {points[2]}  # one's own vote is shown, the others' are not
    assert counts(await view_of(db, await principal_of(db, author_user), post_id))[2] == 1
    await close(db, post_id)
    view = await view_of(db, voter, post_id)
    assert view.may_see_results and counts(view)[2] == 1 and view.average == 3


async def test_many_polls_in_one_query_only_those_one_may_see(db: Database, make_user: UserFactory):
    owner, outsider = await make_user(), await make_user()
    group_id = await private_group(db, owner)
    public = [(await post_with_poll(db, owner, poll("A", "B")))[0] for _ in range(5)]
    private, _ = await post_with_poll(db, owner, poll("C", "D"), group_id=group_id)
    no_poll = await make_post(db, owner)
    who = await principal_of(db, outsider)

    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with db.session() as session:
            views = await poll_views(session, who, [*public, private, no_poll, 999_999])
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1
    assert sorted(views) == sorted(public)
    assert all([o.label for o in views[p].options] == ["A", "B"] for p in public)
    owner_views = await poll_views_of(db, owner, [private])
    assert [o.label for o in owner_views[private].options] == ["C", "D"]


async def poll_views_of(db: Database, user: User, ids: list[int]) -> dict[int, PollView]:
    who = await principal_of(db, user)
    async with db.session() as session:
        return await poll_views(session, who, ids)


def test_nul_characters_in_options_are_dropped() -> None:
    """PostgreSQL refuses NUL in text: an option must not carry one to the database."""
    data = check_poll_input(
        PollInput(
            kind=PollKind.SINGLE,
            options=("Yes\x00", "N\x00o"),
            closes_at=None,
            results=PollResults.AFTER_VOTE,
        )
    )
    assert data.options == ("Yes", "No")
