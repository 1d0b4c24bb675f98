"""Posts: where one may post, who sees a post (its audience rows) and where it appears (its
channels), mentions, hashtags, linked records, company news, polls and attachments handed on, the
event every post records, and posting twice with one ``client_key``.

Every action runs in its own write transaction and loads the acting principal fresh, as a
request would. The helpers here are shared by the other post test modules.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select

from domain.access import Principal, load_principal
from domain.db import Database, utcnow
from domain.errors import Forbidden, NotFound, ValidationFailed
from domain.events import Event, EventAudience
from domain.groups import actions as group_actions
from domain.groups import membership
from domain.people.models import Role, User, UserKind
from domain.posts import queries
from domain.posts.actions import PostInput, do_create_post
from domain.posts.models import (
    Poll,
    PollKind,
    PollOption,
    PollResults,
    Post,
    PostAudience,
    PostChannel,
    PostKind,
    PostRecord,
)
from domain.posts.polls import PollInput
from domain.records.audience import rebuild_all
from domain.records.models import Account, AccountType, Contact
from tests.conftest import UserFactory

T = TypeVar("T")


async def principal_of(db: Database, user: User) -> Principal:
    async with db.session() as session:
        fresh = await session.get(User, user.id)
        assert fresh is not None
        return await load_principal(session, fresh)


async def act(
    db: Database, user: User, action: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any
) -> T:
    """Run a ``do_*`` (or a query) as ``user`` in one write transaction."""
    async with db.transaction() as session:
        fresh = await session.get(User, user.id)
        assert fresh is not None
        return await action(session, await load_principal(session, fresh), *args, **kwargs)


async def read(
    db: Database, user: User, query: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any
) -> T:
    """Run a query as ``user`` in a read session."""
    async with db.session() as session:
        fresh = await session.get(User, user.id)
        assert fresh is not None
        return await query(session, await load_principal(session, fresh), *args, **kwargs)


async def make_group(
    db: Database, owner: User, visibility: str = "public", members: tuple[User, ...] = ()
) -> int:
    async def do(session: Any, principal: Principal) -> int:
        group = await group_actions.do_create_group(
            session, principal, name=f"G {visibility}", visibility=visibility
        )
        return group.id

    group_id = await act(db, owner, do)
    for member in members:
        await act(db, owner, membership.do_add_member, group_id, member.id)
    return group_id


async def post(db: Database, user: User, body: str = "Hello", **fields: Any) -> Post:
    return await act(db, user, do_create_post, PostInput(body=body, **fields))


async def external(
    db: Database, make_user: UserFactory, account_name: str = "Acme", **kwargs: Any
) -> tuple[User, int]:
    user = await make_user(kind=UserKind.CUSTOMER, name=f"{account_name} Contact", **kwargs)
    async with db.transaction() as session:
        account = Account(code=account_name[:20], name=account_name, type=AccountType.CUSTOMER)
        session.add(account)
        await session.flush()
        session.add(Contact(account_id=account.id, user_id=user.id, name=user.name))
        await session.flush()
        await rebuild_all(session)
        return user, account.id


async def share_with(db: Database, owner: User, group_id: int, account_id: int) -> None:
    await act(db, owner, group_actions.do_share_group, group_id, account_id)


async def index_of(db: Database, post_id: int) -> tuple[set[str], set[str]]:
    """A post's audience tokens and channels, as stored."""
    async with db.session() as session:
        audience = await session.scalars(
            select(PostAudience.token).where(PostAudience.post_id == post_id)
        )
        channels = await session.scalars(
            select(PostChannel.channel).where(PostChannel.post_id == post_id)
        )
        return set(audience.all()), set(channels.all())


async def events(db: Database, kind: str) -> list[tuple[dict[str, Any], set[str]]]:
    """Every event of a kind, oldest first, with its audience."""
    async with db.session() as session:
        rows = (
            await session.scalars(select(Event).where(Event.kind == kind).order_by(Event.id))
        ).all()
        out = []
        for event in rows:
            audience = await session.scalars(
                select(EventAudience.token).where(EventAudience.event_id == event.id)
            )
            out.append((event.payload, set(audience.all())))
        return out


async def sees(db: Database, user: User, post_id: int) -> bool:
    try:
        await read(db, user, queries.access_post, post_id)
    except NotFound:
        return False
    return True


# --- where one may post, and who then sees it ---------------------------------------------------


async def test_a_company_post_is_seen_by_staff_and_recorded(
    db: Database, make_user: UserFactory
) -> None:
    author, colleague = await make_user(), await make_user()
    customer, _ = await external(db, make_user)
    made = await post(db, author, "**Hello** all")
    assert made.body == "**Hello** all" and made.body_html == "<p><strong>Hello</strong> all</p>\n"
    assert await index_of(db, made.id) == (
        {"role:employee", f"user:{author.id}"},
        {"company", f"author:{author.id}"},
    )
    assert await sees(db, colleague, made.id)
    assert not await sees(db, customer, made.id)
    assert await events(db, "post.created") == [
        ({"post_id": made.id, "group_id": None}, {"role:employee", f"user:{author.id}"})
    ]


async def test_group_posts_follow_the_groups_visibility(
    db: Database, make_user: UserFactory
) -> None:
    owner, member, outsider = await make_user(), await make_user(), await make_user()
    public = await make_group(db, owner, "public", (member,))
    private = await make_group(db, owner, "private", (member,))
    in_public = await post(db, member, "open", group_id=public)
    in_private = await post(db, member, "closed", group_id=private)
    assert await index_of(db, in_public.id) == (
        {f"group:{public}", "role:employee", f"user:{member.id}"},
        {f"group:{public}", f"author:{member.id}"},
    )
    assert await index_of(db, in_private.id) == (
        {f"group:{private}", f"user:{member.id}"},
        {f"group:{private}", f"author:{member.id}"},
    )
    assert await sees(db, outsider, in_public.id)
    assert not await sees(db, outsider, in_private.id)
    assert await sees(db, owner, in_private.id)
    assert (await events(db, "post.created"))[-1] == (
        {"post_id": in_private.id, "group_id": private},
        {f"group:{private}", f"user:{member.id}"},
    )
    # Leaving the group takes the post away at once.
    await act(db, member, membership.do_leave_group, private)
    assert await sees(db, member, in_private.id)  # still its author
    assert not await sees(db, outsider, in_private.id)


async def test_only_active_members_post_in_open_groups(
    db: Database, make_user: UserFactory
) -> None:
    owner, staff = await make_user(), await make_user()
    public = await make_group(db, owner, "public")
    hidden = await make_group(db, owner, "hidden")
    with pytest.raises(Forbidden):
        await post(db, staff, group_id=public)
    with pytest.raises(NotFound):
        await post(db, staff, group_id=hidden)
    with pytest.raises(NotFound):
        await post(db, staff, group_id=999_999)
    await act(db, owner, group_actions.do_archive_group, public)
    with pytest.raises(Forbidden, match="archived"):
        await post(db, owner, group_id=public)
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Post)) == 0


async def test_posts_to_people_are_seen_by_them_alone(db: Database, make_user: UserFactory) -> None:
    author, to, bystander = await make_user(), await make_user(), await make_user()
    customer, _ = await external(db, make_user)
    made = await post(db, author, "for you", recipient_ids=(to.id, customer.id, to.id))
    assert await index_of(db, made.id) == (
        {f"user:{author.id}", f"user:{to.id}", f"user:{customer.id}"},
        {f"author:{author.id}", f"to:{to.id}", f"to:{customer.id}"},
    )
    assert await sees(db, to, made.id) and await sees(db, customer, made.id)
    assert not await sees(db, bystander, made.id)


async def test_bad_places_are_refused(db: Database, make_user: UserFactory) -> None:
    author, to = await make_user(), await make_user()
    gone = await make_user()
    group_id = await make_group(db, author)
    async with db.transaction() as session:
        row = await session.get(User, gone.id)
        assert row is not None
        row.is_active = False
    with pytest.raises(ValidationFailed) as error:
        await post(db, author, recipient_ids=(to.id, gone.id))
    assert set(error.value.errors) == {"recipient_ids"}
    with pytest.raises(ValidationFailed) as error:
        await post(db, author, recipient_ids=(to.id, 2**40))
    assert set(error.value.errors) == {"recipient_ids"}
    with pytest.raises(ValidationFailed) as error:
        await post(db, author, recipient_ids=(to.id,), group_id=group_id)
    assert set(error.value.errors) == {"recipient_ids"}
    with pytest.raises(ValidationFailed) as error:
        await post(db, author, "  \x00 ", group_id=group_id)
    assert set(error.value.errors) == {"body"}
    with pytest.raises(ValidationFailed) as error:
        await post(db, author, "x" * 20_001)
    assert set(error.value.errors) == {"body"}
    with pytest.raises(ValidationFailed) as error:
        await post(db, author, client_key="k" * 65)
    assert set(error.value.errors) == {"client_key"}
    with pytest.raises(ValidationFailed) as error:
        await post(db, author, kind="bulletin")
    assert set(error.value.errors) == {"kind"}
    with pytest.raises(ValidationFailed) as error:
        await post(db, author, attachment_ids=("1",))
    assert set(error.value.errors) == {"attachment_ids"}
    with pytest.raises(NotFound):
        await post(db, author, group_id=2**40)
    with pytest.raises(NotFound):
        await read(db, author, queries.mention_candidates, "a", group_id=2**40)
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Post)) == 0


async def test_externals_post_only_in_their_shared_groups(
    db: Database, make_user: UserFactory
) -> None:
    owner, staff = await make_user(), await make_user()
    customer, account_id = await external(db, make_user)
    with pytest.raises(Forbidden):
        await post(db, customer, "hi all")
    with pytest.raises(Forbidden):
        await post(db, customer, "hi you", recipient_ids=(staff.id,))
    group_id = await make_group(db, owner, "private")
    await share_with(db, owner, group_id, account_id)
    await act(db, owner, membership.do_add_member, group_id, customer.id)
    made = await post(db, customer, "hello team", group_id=group_id)
    assert await sees(db, owner, made.id)
    assert not await sees(db, staff, made.id)


# --- mentions and hashtags ------------------------------------------------------------------------


async def test_mentions_link_people_the_author_may_mention(
    db: Database, make_user: UserFactory
) -> None:
    author = await make_user(name="Ann Author")
    jan = await make_user(email="Jan.Jansen@example.com", name="Jan Jansen")
    customer, account_id = await external(db, make_user, email="cas@acme.example")
    made = await post(db, author, "Hi @jan.jansen and @cas and @nobody, see `@jan.jansen`")
    assert made.body_html == (
        f'<p>Hi <a href="/people/{jan.id}/posts" class="mention" '
        'rel="nofollow noopener noreferrer">'
        "@Jan Jansen</a> and @cas and @nobody, see <code>@jan.jansen</code></p>\n"
    )
    _, channels = await index_of(db, made.id)
    assert f"mention:{jan.id}" in channels
    assert f"mention:{customer.id}" not in channels
    # In a group shared with the customer's account, its external members may be mentioned.
    group_id = await make_group(db, author, "private")
    await share_with(db, author, group_id, account_id)
    await act(db, author, membership.do_add_member, group_id, customer.id)
    in_group = await post(db, author, "welcome @cas", group_id=group_id)
    assert f"/people/{customer.id}/posts" in in_group.body_html
    assert f"mention:{customer.id}" in (await index_of(db, in_group.id))[1]
    # The customer may mention fellow members only: the author, not Jan.
    reply = await post(db, customer, "thanks @ann? and @jan.jansen", group_id=group_id)
    assert "class=" not in reply.body_html
    handle = author.email.split("@")[0]
    reply = await post(db, customer, f"thanks @{handle}", group_id=group_id)
    assert f"/people/{author.id}/posts" in reply.body_html


async def test_hashtags_are_linked_and_indexed(db: Database, make_user: UserFactory) -> None:
    author = await make_user()
    made = await post(db, author, "Shipped #Release and #release, not #1 or `#code`")
    assert '<a href="/hashtags/release" class="hashtag"' in made.body_html
    _, channels = await index_of(db, made.id)
    assert {c for c in channels if c.startswith("tag:")} == {"tag:release"}


async def test_mention_candidates_are_the_people_one_may_mention(
    db: Database, make_user: UserFactory
) -> None:
    author = await make_user(email="ann@example.com", name="Ann Author")
    await make_user(email="jan.jansen@example.com", name="Jan Jansen")
    await make_user(email="piet@example.com", name="Piet Janssen")
    customer, account_id = await external(db, make_user, email="jane@acme.example")
    outsider = await make_user(email="olaf@example.com", name="Olaf Outsider")

    async def names(user: User, prefix: str, **kwargs: Any) -> list[tuple[str, str]]:
        found = await read(db, user, queries.mention_candidates, prefix, **kwargs)
        return [(c.name, c.handle) for c in found]

    assert await names(author, "jan") == [
        ("Jan Jansen", "jan.jansen"),
        ("Piet Janssen", "piet"),
    ]
    assert await names(author, "@JAN.J") == [("Jan Jansen", "jan.jansen")]
    assert await names(author, "%") == [] and await names(author, "") == []
    private = await make_group(db, author, "private")
    await share_with(db, author, private, account_id)
    await act(db, author, membership.do_add_member, private, customer.id)
    assert ("Acme Contact", "jane") not in await names(author, "ja")
    assert ("Acme Contact", "jane") in await names(author, "ja", group_id=private)
    # A non-member learns nothing about who is in a private group.
    with pytest.raises(NotFound):
        await names(outsider, "ja", group_id=private)
    # The customer finds the members of their groups only.
    assert await names(customer, "a") == [("Ann Author", "ann")]
    assert await names(customer, "jan") == []


# --- linked records ------------------------------------------------------------------------------


async def test_records_are_linked_when_the_author_may_see_them(
    db: Database, make_user: UserFactory
) -> None:
    author = await make_user()
    customer, own_account = await external(db, make_user, "Acme")
    _, other_account = await external(db, make_user, "Other")
    made = await post(
        db, author, "deal", records=(("account", own_account), ("account", own_account))
    )
    assert f"record:account:{own_account}" in (await index_of(db, made.id))[1]
    async with db.session() as session:
        linked = (
            await session.scalars(select(PostRecord).where(PostRecord.post_id == made.id))
        ).all()
        assert [(r.record_kind, r.record_id) for r in linked] == [("account", own_account)]
    group_id = await make_group(db, author, "private")
    await share_with(db, author, group_id, own_account)
    await act(db, author, membership.do_add_member, group_id, customer.id)
    await post(db, customer, "ours", group_id=group_id, records=(("account", own_account),))
    for records in (
        (("account", other_account),),
        (("account", 999_999),),
        (("nonsense", own_account),),
    ):
        with pytest.raises(ValidationFailed) as error:
            await post(db, customer, "theirs", group_id=group_id, records=records)
        assert set(error.value.errors) == {"records"}
    with pytest.raises(ValidationFailed) as error:
        await post(db, author, "many", records=tuple(("account", i) for i in range(1, 12)))
    assert set(error.value.errors) == {"records"}


# --- company news -----------------------------------------------------------------------------


async def test_news_is_for_admins_and_communication(db: Database, make_user: UserFactory) -> None:
    staff = await make_user()
    comms = await make_user(roles=frozenset({Role.COMMUNICATION}))
    with pytest.raises(Forbidden):
        await post(db, staff, "Big news", kind="news")
    before = utcnow()
    news = await post(db, comms, "Big news", kind=PostKind.NEWS)
    assert news.kind is PostKind.NEWS and news.news_until is not None
    assert timedelta(days=7) <= news.news_until - before < timedelta(days=7, minutes=1)
    assert await index_of(db, news.id) == (
        {"role:employee", f"user:{comms.id}"},
        {"company", "news", f"author:{comms.id}"},
    )
    with pytest.raises(ValidationFailed) as error:
        await post(db, comms, "Old", kind=PostKind.NEWS, news_until=utcnow() - timedelta(hours=1))
    assert set(error.value.errors) == {"news_until"}
    group_id = await make_group(db, comms)
    with pytest.raises(ValidationFailed) as error:
        await post(db, comms, "In a group", kind=PostKind.NEWS, group_id=group_id)
    assert set(error.value.errors) == {"group_id"}


# --- polls and attachments are handed on ---------------------------------------------------------


async def test_a_post_with_a_poll(db: Database, make_user: UserFactory) -> None:
    author = await make_user()
    poll = PollInput(PollKind.SINGLE, ("Tea", "Coffee"), None, PollResults.AFTER_VOTE)
    made = await post(db, author, "", poll=poll)
    async with db.session() as session:
        assert await session.get(Poll, made.id) is not None
        labels = await session.scalars(
            select(PollOption.label)
            .where(PollOption.post_id == made.id)
            .order_by(PollOption.position)
        )
        assert labels.all() == ["Tea", "Coffee"]
    bad = PollInput(PollKind.SINGLE, ("Only",), None, PollResults.AFTER_VOTE)
    with pytest.raises(ValidationFailed) as error:
        await post(db, author, "", poll=bad)
    assert set(error.value.errors) == {"poll_options"}


async def test_someone_elses_attachment_refuses_the_post(
    db: Database, make_user: UserFactory
) -> None:
    author = await make_user()
    with pytest.raises(ValidationFailed) as error:
        await post(db, author, "see file", attachment_ids=(12345,))
    assert set(error.value.errors) == {"attachment_ids"}
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Post)) == 0


# --- posting twice ---------------------------------------------------------------------------


async def test_the_same_client_key_makes_one_post(db: Database, make_user: UserFactory) -> None:
    author, other = await make_user(), await make_user()
    first = await post(db, author, "once", client_key="key-1")
    again = await post(db, author, "once", client_key="key-1")
    assert again.id == first.id
    # The key is the author's own: someone else's same key is another post.
    assert (await post(db, other, "mine", client_key="key-1")).id != first.id
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Post)) == 2
    assert len(await events(db, "post.created")) == 2


async def test_concurrent_submits_with_one_key_make_one_post(
    db: Database, make_user: UserFactory
) -> None:
    author = await make_user()
    made = await asyncio.gather(*(post(db, author, "racing", client_key="race") for _ in range(4)))
    assert len({p.id for p in made}) == 1
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Post)) == 1
    assert len(await events(db, "post.created")) == 1
