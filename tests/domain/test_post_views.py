"""What a reader sees of a post: ``load_post_views`` — order and visibility, linked records only
when the reader may see them, shares whose original is gone or hidden, the reader's reaction,
recipients, attachments, polls, and which moderation links they get."""

from __future__ import annotations

from typing import Any

from domain.access import Principal, load_principal
from domain.db import Database
from domain.groups.actions import do_archive_group, do_share_group
from domain.groups.membership import do_add_member
from domain.people.models import Role, User
from domain.posts.actions import do_delete_post
from domain.posts.models import Attachment, PollKind, PollResults, Reaction, ReactionKind
from domain.posts.polls import PollInput
from domain.posts.views import PostView, load_post_views
from tests.conftest import UserFactory
from tests.domain.test_timeline import account, act, customer_of, group, post, statements


async def views(db: Database, user: User, post_ids: list[int]) -> list[PostView]:
    async with db.session() as session:
        fresh = await session.get(User, user.id)
        assert fresh is not None
        return await load_post_views(session, await load_principal(session, fresh), post_ids)


async def test_order_is_kept_and_what_the_reader_may_not_see_is_left_out(
    db: Database, make_user: UserFactory
) -> None:
    author = await make_user(email="author@example.com", name="Ann Author")
    reader = await make_user(email="reader@example.com")
    private = await group(db, author, "Private", "private")
    first = await post(db, author, "First")
    hidden = await post(db, author, "Hidden", group_id=private)
    gone = await post(db, author, "Gone")
    last = await post(db, author, "Last")
    await act(db, author, do_delete_post, gone)

    seen = await views(db, reader, [last, hidden, 999_999, first, gone, last])
    assert [v.post.id for v in seen] == [last, first]
    assert seen[0].author_name == "Ann Author" and seen[0].group_name is None
    assert [v.post.id for v in await views(db, author, [hidden])] == [hidden]
    assert (await views(db, author, [hidden]))[0].group_name == "Private"
    assert await views(db, reader, []) == []


async def test_a_linked_record_the_reader_may_not_see_is_left_off_the_post(
    db: Database, make_user: UserFactory
) -> None:
    staff = await make_user(email="staff@example.com")
    acme = await account(db, "Acme")
    globex = await account(db, "Globex")
    customer = await customer_of(db, make_user, acme)
    shared = await group(db, staff, "With Acme", "private")

    async def share(session: Any, principal: Principal) -> None:
        await do_share_group(session, principal, shared, acme)
        await session.flush()
        await do_add_member(session, principal, shared, customer.id)

    await act(db, staff, share)
    made = await post(
        db, staff, "Both", group_id=shared, records=(("account", globex), ("account", acme))
    )

    (for_staff,) = await views(db, staff, [made])
    assert [(r.kind, r.id, r.title) for r in for_staff.records] == [
        ("account", globex, "Globex"),
        ("account", acme, "Acme"),
    ]
    (for_customer,) = await views(db, customer, [made])
    assert for_customer.post.id == made
    assert [(r.kind, r.id, r.title) for r in for_customer.records] == [("account", acme, "Acme")]


async def test_a_share_shows_its_original_only_while_the_reader_may_see_it(
    db: Database, make_user: UserFactory
) -> None:
    member = await make_user(email="member@example.com", name="Mo Member")
    outsider = await make_user(email="outsider@example.com")
    private = await group(db, member, "Private", "private")
    original = await post(db, member, "Inside", group_id=private)
    share = await post(db, member, "Worth a read", shared_post_id=original)
    public_original = await post(db, member, "Outside")
    share_public = await post(db, member, "Also", shared_post_id=public_original)

    (mine,) = await views(db, member, [share])
    assert mine.shared is not None and mine.shared.post.id == original
    assert mine.shared.author_name == "Mo Member" and mine.shared.group_name == "Private"
    assert not mine.shared_unavailable
    (theirs,) = await views(db, outsider, [share])
    assert theirs.shared is None and theirs.shared_unavailable

    await act(db, member, do_delete_post, public_original)
    (after,) = await views(db, outsider, [share_public])
    assert after.shared is None and after.shared_unavailable


async def test_reaction_recipients_attachments_and_poll(
    db: Database, make_user: UserFactory
) -> None:
    author = await make_user(email="author@example.com")
    bo = await make_user(email="bo@example.com", name="Bo")
    al = await make_user(email="al@example.com", name="Al")
    poll = PollInput(PollKind.SINGLE, ("Yes", "No"), None, PollResults.AFTER_VOTE)
    made = await post(db, author, "To you two", recipient_ids=(bo.id, al.id), poll=poll)
    async with db.transaction() as session:
        session.add(Reaction(post_id=made, user_id=bo.id, kind=ReactionKind.THANKS))
        for position, name in ((1, "b.pdf"), (0, "a.png")):
            session.add(
                Attachment(
                    post_id=made,
                    uploader_id=author.id,
                    filename=name,
                    content_type="application/pdf",
                    size=10,
                    sha256="0" * 64,
                    storage_key=name,
                    is_image=name.endswith(".png"),
                    width=4 if name.endswith(".png") else None,
                    height=3 if name.endswith(".png") else None,
                    position=position,
                )
            )

    (for_bo,) = await views(db, bo, [made])
    assert for_bo.my_reaction is ReactionKind.THANKS
    assert for_bo.recipients == [(al.id, "Al"), (bo.id, "Bo")]
    assert [a.filename for a in for_bo.attachments] == ["a.png", "b.pdf"]
    assert for_bo.attachments[0].is_image and for_bo.attachments[0].width == 4
    assert for_bo.poll is not None and [o.label for o in for_bo.poll.options] == ["Yes", "No"]
    (for_al,) = await views(db, al, [made])
    assert for_al.my_reaction is None
    assert await views(db, await make_user(), [made]) == []


async def test_many_posts_cost_three_statements(db: Database, make_user: UserFactory) -> None:
    author = await make_user(email="author@example.com")
    acme = await account(db, "Acme")
    poll = PollInput(PollKind.SINGLE, ("Yes", "No"), None, PollResults.AFTER_VOTE)
    made = [
        await post(db, author, f"Post {n}", records=(("account", acme),), poll=poll)
        for n in range(12)
    ]
    made.append(await post(db, author, "Share", shared_post_id=made[0]))
    async with db.session() as session:
        principal = await load_principal(session, author)
        with statements(db) as sent:
            seen = await load_post_views(session, principal, made)
    assert len(sent) == 3
    assert [v.post.id for v in seen] == made
    assert all(v.poll is not None and v.records for v in seen[:-1])


async def test_who_gets_edit_delete_and_pin(db: Database, make_user: UserFactory) -> None:
    owner = await make_user(email="owner@example.com")
    author = await make_user(email="author@example.com")
    member = await make_user(email="member@example.com")
    comms = await make_user(email="comms@example.com", roles=frozenset({Role.COMMUNICATION}))
    admin = await make_user(email="admin@example.com", roles=frozenset({Role.ADMIN}))
    team = await group(db, owner, "Team", "public", author, member)
    made = await post(db, author, "Hi", group_id=team)

    async def links(user: User) -> tuple[bool, bool, bool]:
        (view,) = await views(db, user, [made])
        return view.may_edit, view.may_delete, view.may_pin

    assert await links(author) == (True, True, False)
    assert await links(owner) == (False, True, True)
    assert await links(member) == (False, False, False)
    assert await links(comms) == (False, True, False)
    assert await links(admin) == (False, True, True)

    await act(db, owner, do_archive_group, team)
    assert await links(author) == (False, False, False)
    assert await links(owner) == (False, False, False)
    assert await links(admin) == (False, True, True)
