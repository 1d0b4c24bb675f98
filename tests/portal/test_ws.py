"""``/ws`` end to end on both backends: who may open it, what a socket replays and receives, and
— for every event kind — what it must never receive.

The app runs behind a real uvicorn in the test's event loop (tests/realtime/live.py); writes go
through the app's own database, so its commit hook wakes the hub as in production. Absence is
proved with marker events sent afterwards, never with sleeps.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
import websockets
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import HR, Principal, load_principal
from domain.db import utcnow
from domain.events import CATALOGUE, Event, GroupChanged, RecordUpdated, record_event
from domain.groups.actions import do_create_group
from domain.groups.membership import do_add_member, do_remove_member
from domain.people.actions import do_set_user_active
from domain.people.admin import do_set_roles
from domain.people.models import Role, User, UserKind
from domain.posts.actions import PostInput, do_create_post, do_delete_post, do_edit_post
from domain.posts.comments import do_add_comment, do_delete_comment, do_edit_comment
from domain.posts.follows import do_follow
from domain.posts.models import ReactionKind
from domain.posts.reactions import do_set_reaction
from domain.posts.viewers import PostViewers
from domain.records.models import Account, AccountType, Contact
from portal.live.render import RENDERERS, Viewer, class_key
from portal.settings import Settings
from realtime.connection import Connection
from realtime.relay import prune_events
from tests.conftest import UserFactory
from tests.realtime.live import LiveApp, LiveSocket, ids, live_app


@pytest.fixture(params=["direct", "queued"])
async def live(settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[LiveApp]:
    """As ``atrium serve`` runs it (the hub writes to the sockets), and as plain uvicorn does
    (each socket's task drains its queue): every test holds for both."""
    async with live_app(settings, direct=request.param == "direct") as running:
        yield running


async def principal(live: LiveApp, user: User) -> Principal:
    async with live.db.session() as session:
        return await load_principal(session, user)


async def company_post(live: LiveApp, author: User, body: str = "Hello everyone") -> int:
    async with live.db.transaction() as session:
        post = await do_create_post(session, await principal(live, author), PostInput(body=body))
        return post.id


async def last_event_id(live: LiveApp) -> int:
    async with live.db.session() as session:
        from realtime.relay import max_event_id

        return await max_event_id(session)


# -- who may open it -----------------------------------------------------------------------------


async def refused(live: LiveApp, cookie: str | None, **kwargs: object) -> None:
    with pytest.raises(websockets.InvalidStatus) as refusal:
        await live.connect(cookie, **kwargs)  # type: ignore[arg-type]
    assert refusal.value.response.status_code == 403


async def test_anonymous_cross_site_and_bad_cursor_are_refused(
    live: LiveApp, make_user: UserFactory
) -> None:
    user = await make_user()
    cookie = await live.sign_in(user.email)
    await refused(live, None)
    await refused(live, "not-a-session")
    await refused(live, cookie, origin="https://evil.example")
    await refused(live, cookie, after=-1)
    socket = await live.connect(cookie)  # the same cookie, same origin: accepted
    await socket.close()


async def test_deactivated_user_is_refused_and_open_socket_closed(
    live: LiveApp, make_user: UserFactory
) -> None:
    user = await make_user()
    cookie = await live.sign_in(user.email)
    socket = await live.connect(cookie)
    started = time.monotonic()
    async with live.db.transaction() as session:
        await do_set_user_active(session, user.id, False)
    assert await socket.closed_code() == 4001
    assert time.monotonic() - started < 5
    await refused(live, cookie)


async def test_logout_elsewhere_closes_the_socket_within_5_seconds(
    live: LiveApp, make_user: UserFactory
) -> None:
    user = await make_user()
    cookie = await live.sign_in(user.email)
    socket = await live.connect(cookie)
    async with live.browser() as browser:
        browser.cookies.set("atrium_session", cookie)
        home = await browser.get("/profile")
        token = home.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        started = time.monotonic()
        out = await browser.post("/logout", data={"csrf_token": token})
        assert out.status_code == 303
    assert await socket.closed_code() == 4001
    assert time.monotonic() - started < 5


async def test_a_role_taken_away_stops_its_events_before_the_next_one_goes_out(
    live: LiveApp, make_user: UserFactory
) -> None:
    admin = await principal(live, await make_user(roles=frozenset({Role.ADMIN})))
    hr = await make_user(roles=frozenset({Role.HR}))
    socket = await live.connect(await live.sign_in(hr.email))

    async def hr_event() -> int:
        async with live.db.transaction() as session:
            event = await record_event(
                session, RecordUpdated("employee", 1, ("salary",)), {HR}, actor_id=None
            )
            return event.id

    seen = await hr_event()
    assert ids(await socket.until(seen))[-1] == seen  # the control: HR events reach them
    async with live.db.transaction() as session:
        assert await do_set_roles(session, admin, hr.id, frozenset())
    # No sleep, no wait for the hub's periodic refresh: the very next event is already judged
    # by the new roles.
    hidden = await hr_event()
    marker = await live.marker(hr.id)
    got = await socket.until(marker)
    assert [f["kind"] for f in got] == ["user.access_changed", "record.updated"]
    assert hidden not in ids(got)
    await socket.close()


async def test_under_atrium_serve_the_hub_writes_to_the_socket_itself(
    settings: Settings, make_user: UserFactory
) -> None:
    async with live_app(settings, direct=True) as live:
        user = await make_user()
        cookie = await live.sign_in(user.email)
        socket = await live.connect(cookie)
        await socket.until(await live.marker(user.id))  # it is replayed and handed over
        hub = live.state["hub"]
        (conn,) = hub.connections
        assert conn.sink is not None, "handed over: no task of its own any more"
        heard = conn.last_heard
        await socket.conn.send("pong")
        post_id = await company_post(live, user)
        assert (await socket.next())["target"] == f"post-{post_id}"
        assert conn.last_heard > heard, "a client message keeps it alive"
        # Clients only answer heartbeats: a long message ends the socket (1009, too big).
        await socket.conn.send("x" * 2000)
        assert await socket.closed_code() == 1009
        await live.marker(user.id)  # the hub goes on; the closed connection is dropped
        hub.housekeeping()
        assert conn.closed and conn not in hub.connections


# -- delivery ------------------------------------------------------------------------------------


async def test_a_post_reaches_another_reader_with_its_html(
    live: LiveApp, make_user: UserFactory
) -> None:
    author = await make_user(name="Ann Author")
    reader = await make_user(name="Rob Reader")
    socket = await live.connect(await live.sign_in(reader.email))
    post_id = await company_post(live, author, "Lunch is *served*")
    frame = await socket.next()
    assert frame["kind"] == "post.created"
    assert frame["target"] == f"post-{post_id}"
    assert "Lunch is <em>served</em>" in frame["html"]
    assert f'id="post-{post_id}"' in frame["html"]
    assert "personal" in frame["timelines"]
    # The reader may not edit it: no edit link in their copy; no one's CSRF token either.
    assert "/edit" not in frame["html"]
    assert 'name="csrf_token" value=""' in frame["html"]
    await socket.close()


async def test_replay_after_a_cursor_in_order_then_live(
    live: LiveApp, make_user: UserFactory
) -> None:
    author = await make_user()
    reader = await make_user()
    cookie = await live.sign_in(reader.email)
    cursor = await last_event_id(live)
    posts = [await company_post(live, author, f"post {n}") for n in range(3)]
    socket = await live.connect(cookie, after=cursor)
    replayed = [await socket.next() for _ in posts]
    assert [f["target"] for f in replayed] == [f"post-{p}" for p in posts]
    assert ids(replayed) == sorted(ids(replayed))
    live_post = await company_post(live, author, "and one more")
    assert (await socket.next())["target"] == f"post-{live_post}"
    await socket.close()


async def test_a_gap_older_than_retention_gets_one_reload(
    live: LiveApp, make_user: UserFactory
) -> None:
    author = await make_user()
    reader = await make_user()
    cookie = await live.sign_in(reader.email)
    cursor = await last_event_id(live)
    for n in range(3):
        await company_post(live, author, f"old {n}")
    async with live.db.transaction() as session:
        await session.execute(update(Event).values(created_at=utcnow() - timedelta(days=30)))
        await prune_events(session, utcnow() - timedelta(days=7))
    socket = await live.connect(cookie, after=cursor)
    assert (await socket.next())["kind"] == "reload"
    assert await socket.closed_code() == 1000


async def test_new_posts_count_for_the_personal_timeline_by_what_the_reader_follows(
    live: LiveApp, make_user: UserFactory
) -> None:
    """A post in a public group the reader is not in is on their personal timeline only if they
    follow its group or author; a post by someone they muted is not, even a company post."""
    author = await make_user(name="Ann Author")
    fan = await make_user(name="Fay Fan")
    muter = await make_user(name="Max Muter")
    bystander = await make_user(name="Bo Bystander")
    async with live.db.transaction() as session:
        group = await do_create_group(
            session, await principal(live, author), name="Open", visibility="public"
        )
        await do_follow(session, await principal(live, fan), f"author:{author.id}", "follow")
        await do_follow(session, await principal(live, muter), f"author:{author.id}", "mute")
    sockets = {
        user.id: await live.connect(await live.sign_in(user.email))
        for user in (fan, muter, bystander)
    }
    async with live.db.transaction() as session:
        who = await principal(live, author)
        in_group = await do_create_post(session, who, PostInput(body="g", group_id=group.id))
        company = await do_create_post(session, who, PostInput(body="c"))
    for post_id, on_personal in ((in_group.id, {fan.id}), (company.id, {fan.id, bystander.id})):
        for user_id, socket in sockets.items():
            frame = await socket.next()
            while frame["kind"] != "post.created":  # the group's own events came first
                frame = await socket.next()
            assert frame["target"] == f"post-{post_id}"
            assert ("personal" in frame["timelines"]) == (user_id in on_personal), user_id
            assert f"person:{author.id}" in frame["timelines"]
    for socket in sockets.values():
        await socket.close()


async def test_edit_delete_comment_and_reaction_frames(
    live: LiveApp, make_user: UserFactory
) -> None:
    author = await make_user()
    reader = await make_user()
    socket = await live.connect(await live.sign_in(reader.email))
    post_id = await company_post(live, author, "first words")
    author_p = await principal(live, author)
    reader_p = await principal(live, reader)
    frames = [await socket.next()]
    # One at a time: a frame is rendered from the state at delivery, and a deleted post's
    # earlier events render nothing any more.
    async with live.db.transaction() as session:
        await do_edit_post(session, author_p, post_id, "second words")
    frames.append(await socket.next())
    async with live.db.transaction() as session:
        await do_add_comment(session, reader_p, post_id, "a comment")
    frames.append(await socket.next())
    async with live.db.transaction() as session:
        await do_set_reaction(session, author_p, post_id, ReactionKind.LIKE)
    frames.append(await socket.next())
    async with live.db.transaction() as session:
        await do_delete_post(session, author_p, post_id)
    frames.append(await socket.next())
    kinds = [f["kind"] for f in frames]
    assert kinds == [
        "post.created",
        "post.changed",
        "comment.added",
        "post.reactions_changed",
        "post.deleted",
    ]
    assert "second words" in frames[1]["html"] and "first words" not in frames[1]["html"]
    assert frames[2]["target"] == f"comments-{post_id}" and "a comment" in frames[2]["html"]
    # Where the comments are collapsed, the link that opens them is relabelled instead.
    assert (frames[2]["count"], frames[2]["link"]) == (1, "1 comment")
    assert frames[3]["target"] == f"reactions-{post_id}"
    # The deletion carries nothing of the post.
    assert frames[4] == {
        "id": frames[4]["id"],
        "kind": "post.deleted",
        "target": f"post-{post_id}",
        "html": "",
    }
    await socket.close()


# -- leaks: for every event kind, three sockets that must hear nothing --------------------------


@dataclass
class Cast:
    staff: User
    member: User
    outsider: User  # staff, not in the private group
    customer: User  # a customer contact with portal access
    revoked: User  # a member removed from the group before the events


async def customer_user(live: LiveApp, make_user: UserFactory) -> User:
    user = await make_user(kind=UserKind.CUSTOMER)
    async with live.db.transaction() as session:
        account = Account(code="C-LIVE", name="Live Customer", type=AccountType.CUSTOMER)
        session.add(account)
        await session.flush()
        session.add(Contact(account_id=account.id, name=user.name, user_id=user.id))
    return user


async def test_no_event_kind_leaks_to_outsiders(live: LiveApp, make_user: UserFactory) -> None:
    cast = Cast(
        staff=await make_user(roles=frozenset({Role.ADMIN})),
        member=await make_user(),
        outsider=await make_user(),
        customer=await customer_user(live, make_user),
        revoked=await make_user(),
    )
    admin = await principal(live, cast.staff)
    async with live.db.transaction() as session:
        group = await do_create_group(session, admin, name="Secret", visibility="private")
        await do_add_member(session, admin, group.id, cast.member.id)
        await do_add_member(session, admin, group.id, cast.revoked.id)
    sockets: dict[str, LiveSocket] = {}
    for name in ("member", "outsider", "customer", "revoked"):
        user = getattr(cast, name)
        sockets[name] = await live.connect(await live.sign_in(user.email))
    async with live.db.transaction() as session:
        await do_remove_member(session, admin, group.id, cast.revoked.id)

    start = await last_event_id(live)
    member = await principal(live, cast.member)
    heard = sockets.pop("member")
    await heard.until(await live.marker(cast.member.id))  # past the removal's own event

    async def step(kind: str, action: Callable[[AsyncSession], Awaitable[object]]) -> None:
        async with live.db.transaction() as session:
            await action(session)
        # The member is the positive control: each event reaches them before the next is made.
        assert (await heard.next())["kind"] == kind

    post_ids: list[int] = []
    comment_ids: list[int] = []

    async def create(session: AsyncSession) -> None:
        post = await do_create_post(session, member, PostInput(body="members", group_id=group.id))
        post_ids.append(post.id)

    async def comment(session: AsyncSession) -> None:
        made = await do_add_comment(session, member, post_ids[0], "psst")
        comment_ids.append(made.id)

    await step("post.created", create)
    await step("post.changed", lambda s: do_edit_post(s, member, post_ids[0], "members, edited"))
    await step("comment.added", comment)
    await step("comment.changed", lambda s: do_edit_comment(s, member, comment_ids[0], "psst!"))
    await step("comment.deleted", lambda s: do_delete_comment(s, member, comment_ids[0]))
    await step(
        "post.reactions_changed",
        lambda s: do_set_reaction(s, member, post_ids[0], ReactionKind.LIKE),
    )
    await step(
        "group.changed",
        lambda s: record_event(
            s, GroupChanged(group.id, ("name",)), {f"group:{group.id}"}, actor_id=None
        ),
    )
    await step("post.deleted", lambda s: do_delete_post(s, member, post_ids[0]))
    await step(
        "user.access_changed",
        lambda s: do_set_roles(s, admin, cast.member.id, frozenset({Role.HR})),
    )
    end = await last_event_id(live)
    await heard.close()

    for name, socket in sockets.items():
        user = getattr(cast, name)
        marker = await live.marker(user.id)
        got = [i for i in ids(await socket.until(marker)) if start < i <= end]
        assert got == [], f"{name} received events of a private group: {got}"
        await socket.close()


# -- rendering once per class of readers ---------------------------------------------------------


def test_every_event_kind_has_a_renderer() -> None:
    assert set(RENDERERS) == set(CATALOGUE)


def test_readers_share_a_render_unless_the_post_singles_them_out() -> None:
    def conn(user_id: int, *tokens: str, language: str = "en") -> Connection:
        p = Principal(
            user_id=user_id,
            name="x",
            kind=UserKind.STAFF,
            tokens=frozenset({f"user:{user_id}", "role:employee", *tokens}),
        )
        return Connection(p, f"t{user_id}", context=Viewer(language, "http", "h"))

    facts = PostViewers(
        post_id=1,
        personal=frozenset({10, 11}),  # the author and a reactor
        audiences=(frozenset({"hr"}),),  # a linked employee record only HR may see
        channels=frozenset({"company", "author:10"}),
    )
    plain = [conn(1), conn(2, "group:5"), conn(3, "project:9")]
    assert len({class_key(c, facts) for c in plain}) == 1, "plain readers share one render"
    assert class_key(conn(4, "hr"), facts) != class_key(plain[0], facts), "HR sees the card"
    assert class_key(conn(5, language="nl"), facts) != class_key(plain[0], facts)
    author, reactor = conn(10), conn(11)
    keys = {class_key(c, facts) for c in (author, reactor, plain[0])}
    assert len(keys) == 3, "the author and the reactor each get their own"
