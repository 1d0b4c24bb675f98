"""Timelines: the personal one and the one-channel ones (group, record wall, person, hashtag) —
who sees which post where, follows and mutes, filters, pinned posts, keyset pages, and the cost
of a page in SQL statements.

Posts are made with ``do_create_post`` as a request would; each reader's principal is loaded
fresh, so a token gained or lost shows at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import event, update

from domain.access import Principal, load_principal
from domain.db import Database, utcnow
from domain.errors import ValidationFailed
from domain.groups.actions import do_create_group, do_share_group
from domain.groups.membership import do_add_member, do_leave_group
from domain.people.models import Role, User, UserKind
from domain.posts.actions import PostInput, do_create_post, do_delete_post, do_pin_post
from domain.posts.models import Follow, PollKind, PollResults, Post, PostKind
from domain.posts.polls import PollInput
from domain.posts.timeline import (
    Only,
    TimelineScope,
    current_news,
    encode_cursor,
    timeline,
)
from domain.records.audience import RecordKind, refresh
from domain.records.models import Account, AccountType, Contact
from tests.conftest import UserFactory

T = TypeVar("T")
PERSONAL = TimelineScope("personal")


async def principal_of(db: Database, user: User) -> Principal:
    async with db.session() as session:
        fresh = await session.get(User, user.id)
        assert fresh is not None
        return await load_principal(session, fresh)


async def act(db: Database, user: User, action: Callable[..., Awaitable[T]], *args: Any) -> T:
    async with db.transaction() as session:
        fresh = await session.get(User, user.id)
        assert fresh is not None
        return await action(session, await load_principal(session, fresh), *args)


async def post(db: Database, user: User, body: str, **fields: Any) -> int:
    async def do(session: Any, principal: Principal) -> int:
        return (await do_create_post(session, principal, PostInput(body=body, **fields))).id

    return await act(db, user, do)


async def group(db: Database, owner: User, name: str, visibility: str, *members: User) -> int:
    async def do(session: Any, principal: Principal) -> int:
        created = await do_create_group(session, principal, name=name, visibility=visibility)
        await session.flush()
        for member in members:
            await do_add_member(session, principal, created.id, member.id)
        return created.id

    return await act(db, owner, do)


async def ids(
    db: Database,
    user: User,
    scope: TimelineScope = PERSONAL,
    only: Only = "all",
    limit: int = 100,
) -> list[int]:
    """Every post id of a timeline, page after page."""
    principal = await principal_of(db, user)
    found: list[int] = []
    cursor: str | None = None
    async with db.session() as session:
        while True:
            page = await timeline(session, principal, scope, only=only, cursor=cursor, limit=limit)
            found += [view.post.id for view in page.items]
            if page.next is None:
                return found
            cursor = page.next


async def follow(db: Database, user: User, channel: str, *, muted: bool = False) -> None:
    async with db.transaction() as session:
        await session.merge(Follow(user_id=user.id, channel=channel, muted=muted))


async def account(db: Database, name: str) -> int:
    async with db.transaction() as session:
        row = Account(code=name[:20], name=name, type=AccountType.CUSTOMER)
        session.add(row)
        await session.flush()
        await refresh(session, RecordKind.ACCOUNT, [row.id])
        return row.id


async def customer_of(db: Database, make_user: UserFactory, account_id: int) -> User:
    user = await make_user(kind=UserKind.CUSTOMER, name="Cass Customer")
    async with db.transaction() as session:
        session.add(Contact(account_id=account_id, user_id=user.id, name=user.name))
    return user


def every_scope_of(group_id: int, author: User, tag: str, record: str) -> list[TimelineScope]:
    return [
        PERSONAL,
        TimelineScope("group", group_id),
        TimelineScope("person", author.id),
        TimelineScope("hashtag", tag),
        TimelineScope("record", record),
    ]


# -- who sees what, where -------------------------------------------------------------------------


async def test_the_personal_timeline_holds_my_groups_company_posts_and_posts_to_me(
    db: Database, make_user: UserFactory
) -> None:
    me = await make_user(email="me@example.com", name="Mia Me")
    other = await make_user(email="other@example.com")
    mine = await group(db, other, "Mine", "public", me)
    elsewhere = await group(db, other, "Elsewhere", "public")

    company = await post(db, other, "For everyone")
    in_mine = await post(db, other, "In my group", group_id=mine)
    in_elsewhere = await post(db, other, "In a group I am not in", group_id=elsewhere)
    to_me = await post(db, other, "Just for you", recipient_ids=(me.id,))
    mentioning = await post(db, other, "Hello @me", group_id=elsewhere)
    my_own = await post(db, me, "My own words")

    assert await ids(db, me) == [my_own, mentioning, to_me, in_mine, company]
    assert in_elsewhere in await ids(db, me, TimelineScope("group", elsewhere))
    assert await ids(db, me, only="mentions") == [mentioning]


async def test_a_private_groups_post_never_reaches_a_non_member_in_any_scope(
    db: Database, make_user: UserFactory
) -> None:
    member = await make_user(email="member@example.com")
    outsider = await make_user(email="outsider@example.com")
    admin = await make_user(roles=frozenset({Role.ADMIN}))
    acme = await account(db, "Acme")
    for visibility in ("private", "hidden"):
        secret_group = await group(db, member, f"Secret {visibility}", visibility)
        secret = await post(
            db, member, "Plans #launch", group_id=secret_group, records=(("account", acme),)
        )
        public = await post(db, member, "Public #launch", records=(("account", acme),))
        # Following the group or its author changes nothing for one who may not see it.
        await follow(db, outsider, f"group:{secret_group}")
        await follow(db, outsider, f"author:{member.id}")
        for scope in every_scope_of(secret_group, member, "launch", f"account:{acme}"):
            assert secret not in await ids(db, outsider, scope), scope
            assert secret in await ids(db, member, scope), scope
            if scope.kind != "group":
                assert public in await ids(db, outsider, scope), scope
        # Not even an admin reads a private group's content without being in it.
        assert secret not in await ids(db, admin, TimelineScope("group", secret_group))


async def test_externals_see_only_the_posts_of_groups_shared_with_them(
    db: Database, make_user: UserFactory
) -> None:
    staff = await make_user(email="staff@example.com")
    acme = await account(db, "Acme")
    customer = await customer_of(db, make_user, acme)
    shared = await group(db, staff, "With Acme", "private")
    public = await group(db, staff, "Staff room", "public")

    async def share(session: Any, principal: Principal) -> None:
        await do_share_group(session, principal, shared, acme)
        await session.flush()
        await do_add_member(session, principal, shared, customer.id)

    await act(db, staff, share)
    company = await post(db, staff, "Company #news")
    in_public = await post(db, staff, "Staff only #news", group_id=public)
    with_acme = await post(db, staff, "Hello Acme #news", group_id=shared)
    await follow(db, customer, f"author:{staff.id}")

    assert await ids(db, customer) == [with_acme]
    assert await ids(db, customer, TimelineScope("person", staff.id)) == [with_acme]
    assert await ids(db, customer, TimelineScope("hashtag", "news")) == [with_acme]
    assert await ids(db, customer, TimelineScope("group", public)) == []
    assert await ids(db, customer, TimelineScope("group", shared)) == [with_acme]
    assert await ids(db, staff) == [with_acme, in_public, company]


async def test_outside_a_group_staff_see_it_if_public_and_everyone_their_own_posts(
    db: Database, make_user: UserFactory
) -> None:
    owner = await make_user(email="owner@example.com")
    leaver = await make_user(email="leaver@example.com")
    outsider = await make_user(email="outsider@example.com")
    public = await group(db, owner, "Open", "public")
    private = await group(db, owner, "Closed", "private", leaver)
    in_public = await post(db, owner, "Open words", group_id=public)
    theirs = await post(db, owner, "Closed words", group_id=private)
    mine = await post(db, leaver, "My closed words", group_id=private)
    await act(db, leaver, do_leave_group, private)

    assert await ids(db, outsider, TimelineScope("group", public)) == [in_public]
    assert await ids(db, outsider, TimelineScope("group", private)) == []
    assert await ids(db, leaver, TimelineScope("group", private)) == [mine]
    assert theirs not in await ids(db, leaver)
    assert await ids(db, owner, TimelineScope("group", private)) == [mine, theirs]


# -- follows, mutes, deletes, pins, filters -------------------------------------------------------


async def test_follows_add_channels_and_mutes_take_posts_out(
    db: Database, make_user: UserFactory
) -> None:
    me = await make_user(email="me@example.com")
    bea = await make_user(email="bea@example.com")
    mine = await group(db, bea, "Mine", "public", me)
    other = await group(db, bea, "Other", "public")
    acme = await account(db, "Acme")
    in_mine = await post(db, bea, "In mine", group_id=mine)
    in_other = await post(db, bea, "In other", group_id=other)
    on_acme = await post(db, bea, "About Acme", group_id=other, records=(("account", acme),))
    company = await post(db, bea, "Company")

    assert await ids(db, me) == [company, in_mine]
    await follow(db, me, f"record:account:{acme}")
    assert await ids(db, me) == [company, on_acme, in_mine]
    await follow(db, me, f"group:{other}")
    assert await ids(db, me) == [company, on_acme, in_other, in_mine]
    await follow(db, me, f"group:{mine}", muted=True)
    assert await ids(db, me) == [company, on_acme, in_other]
    # Muting is for the personal timeline: the group's own timeline still shows everything.
    assert await ids(db, me, TimelineScope("group", mine)) == [in_mine]
    await follow(db, me, f"author:{bea.id}", muted=True)
    assert await ids(db, me) == []


async def test_deleted_posts_leave_every_timeline(db: Database, make_user: UserFactory) -> None:
    author = await make_user(email="author@example.com")
    team = await group(db, author, "Team", "public")
    kept = await post(db, author, "Kept #topic", group_id=team)
    gone = await post(db, author, "Gone #topic", group_id=team)
    await act(db, author, do_delete_post, gone)
    for scope in (
        PERSONAL,
        TimelineScope("group", team),
        TimelineScope("person", author.id),
        TimelineScope("hashtag", "topic"),
    ):
        assert await ids(db, author, scope) == [kept], scope


async def test_pinned_posts_come_first_on_the_groups_first_page_only(
    db: Database, make_user: UserFactory
) -> None:
    owner = await make_user(email="owner@example.com")
    team = await group(db, owner, "Team", "public")
    posts = [await post(db, owner, f"Post {n}", group_id=team) for n in range(6)]
    await act(db, owner, do_pin_post, posts[1], True)
    await act(db, owner, do_pin_post, posts[3], True)

    principal = await principal_of(db, owner)
    async with db.session() as session:
        scope = TimelineScope("group", team)
        first = await timeline(session, principal, scope, limit=2)
        assert [v.post.id for v in first.items] == [posts[3], posts[1], posts[5], posts[4]]
        assert first.next is not None
        second = await timeline(session, principal, scope, cursor=first.next, limit=2)
        assert [v.post.id for v in second.items] == [posts[2], posts[0]]
        assert second.next is None
        # The personal timeline keeps plain time order.
        personal = await timeline(session, principal, PERSONAL)
        assert [v.post.id for v in personal.items] == posts[::-1]


async def test_filters_posts_news_and_mentions(db: Database, make_user: UserFactory) -> None:
    me = await make_user(email="me@example.com")
    comms = await make_user(email="comms@example.com", roles=frozenset({Role.COMMUNICATION}))
    team = await group(db, comms, "Team", "public", me)
    plain = await post(db, comms, "Plain", group_id=team)
    news = await post(db, comms, "Big news", kind=PostKind.NEWS)
    mention = await post(db, comms, "Ping @me", group_id=team)

    assert await ids(db, me) == [mention, news, plain]
    assert await ids(db, me, only="posts") == [mention, plain]
    assert await ids(db, me, only="news") == [news]
    assert await ids(db, me, only="mentions") == [mention]
    group_scope = TimelineScope("group", team)
    assert await ids(db, me, group_scope, only="mentions") == [mention]
    assert await ids(db, me, group_scope, only="news") == []


async def test_current_news_is_what_runs_now(db: Database, make_user: UserFactory) -> None:
    admin = await make_user(roles=frozenset({Role.ADMIN}))
    reader = await make_user()
    acme = await account(db, "Acme")
    customer = await customer_of(db, make_user, acme)
    running = await post(db, admin, "Running", kind=PostKind.NEWS)
    ended = await post(db, admin, "Ended", kind=PostKind.NEWS)
    async with db.transaction() as session:
        await session.execute(
            update(Post).where(Post.id == ended).values(news_until=utcnow() - timedelta(hours=1))
        )
    async with db.session() as session:
        principal = await load_principal(session, reader)
        assert [v.post.id for v in await current_news(session, principal, utcnow())] == [running]
        outsider = await load_principal(session, customer)
        assert await current_news(session, outsider, utcnow()) == []


# -- pages ----------------------------------------------------------------------------------------


async def test_keyset_pages_are_disjoint_and_complete(db: Database, make_user: UserFactory) -> None:
    me = await make_user(email="me@example.com")
    team = await group(db, me, "Team", "public")
    made = [await post(db, me, f"Post {n}", group_id=team if n % 2 else None) for n in range(17)]
    for scope in (PERSONAL, TimelineScope("person", me.id)):
        pages: list[list[int]] = []
        principal = await principal_of(db, me)
        cursor: str | None = None
        async with db.session() as session:
            while True:
                page = await timeline(session, principal, scope, cursor=cursor, limit=5)
                pages.append([v.post.id for v in page.items])
                if page.next is None:
                    break
                cursor = page.next
        assert [len(p) for p in pages] == [5, 5, 5, 2]
        assert [i for p in pages for i in p] == made[::-1]
    assert await ids(db, me, TimelineScope("group", team), limit=3) == made[1::2][::-1]


@pytest.mark.parametrize(
    "cursor", ["nonsense", "", encode_cursor(2**31), "eyJ4IjogMX0", "W1wicFwiLCAtMV0"]
)
async def test_a_bad_cursor_is_refused(db: Database, make_user: UserFactory, cursor: str) -> None:
    me = await make_user()
    principal = await principal_of(db, me)
    async with db.session() as session:
        if cursor == "":
            # No cursor at all is the first page.
            assert (await timeline(session, principal, PERSONAL, cursor=cursor)).items == []
            return
        with pytest.raises(ValidationFailed) as error:
            await timeline(session, principal, PERSONAL, cursor=cursor)
        assert "cursor" in error.value.errors


@pytest.mark.parametrize(
    "scope",
    [
        TimelineScope("group", "seven"),
        TimelineScope("group", 2**40),
        TimelineScope("record", "planet:4"),
        TimelineScope("record", "account:x"),
        TimelineScope("hashtag", "#"),
        TimelineScope("person", -3),
    ],
)
async def test_a_bad_scope_is_refused(
    db: Database, make_user: UserFactory, scope: TimelineScope
) -> None:
    principal = await principal_of(db, await make_user())
    async with db.session() as session:
        with pytest.raises(ValidationFailed):
            await timeline(session, principal, scope)


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    sent: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", before)
    try:
        yield sent
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", before)


async def test_a_page_costs_at_most_three_statements(db: Database, make_user: UserFactory) -> None:
    me = await make_user(email="me@example.com")
    other = await make_user(email="other@example.com")
    acme = await account(db, "Acme")
    team = await group(db, me, "Team", "private", other)
    poll = PollInput(PollKind.SINGLE, ("Yes", "No"), None, PollResults.AFTER_VOTE)
    for n in range(30):
        made = await post(
            db,
            other,
            f"Post {n} @me #tag",
            group_id=team if n % 3 else None,
            records=(("account", acme),) if n % 2 else (),
            poll=poll if n % 5 == 0 else None,
        )
        if n % 7 == 0:
            await post(db, me, "Look", shared_post_id=made, group_id=team)
    for user in (me, other):
        principal = await principal_of(db, user)
        for scope in (PERSONAL, TimelineScope("group", team), TimelineScope("hashtag", "tag")):
            cursor: str | None = None
            pages = 0
            async with db.session() as session:
                await session.get(User, user.id)  # the transaction is open before counting
                while True:
                    with statements(db) as sent:
                        page = await timeline(session, principal, scope, cursor=cursor, limit=6)
                    assert 1 <= len(sent) <= 3, (scope, pages, sent)
                    pages += 1
                    if page.next is None:
                        break
                    cursor = page.next
            assert pages >= 3
