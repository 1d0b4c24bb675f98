"""Record walls through HTTP: a record's card page shows the posts linked to it with a composer
that links new posts to it (staff), linked records show as their compact cards, and a reader
sees a post without the cards of records they may not see — never their content. A private
group's post is on no outsider's wall."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from domain.db import Database
from domain.groups.membership import do_add_member
from domain.people.models import Role
from domain.records.models import Contact
from tests.conftest import UserFactory
from tests.portal.posting import (
    Browser,
    ClientFactory,
    browser,
    is_not_found,
    make_account,
    make_external,
    make_group,
    make_post,
    post_ids_in,
    principal_of,
    share_group,
    text_of,
)


@dataclass
class World:
    ann: Browser  # staff admin, owns both groups
    bob: Browser  # staff, member of the private group
    carl: Browser  # staff outsider
    customer: Browser  # contact of Acme, member of the shared group
    acme: int
    rival: int
    private_group: int
    shared_group: int


@pytest.fixture
async def world(db: Database, make_user: UserFactory, make_client: ClientFactory) -> World:
    ann = await make_user(name="Ann Admin", email="ann@example.com", roles=frozenset({Role.ADMIN}))
    bob = await make_user(name="Bob Baker", email="bob@example.com")
    carl = await make_user(name="Carl Cook", email="carl@example.com")
    customer, acme = await make_external(db, make_user, "Acme")
    rival = await make_account(db, "Rival Corp")
    private_group = await make_group(db, ann, bob, name="Secret circle")
    shared_group = await make_group(db, ann, name="Acme room")
    await share_group(db, ann, shared_group, acme)
    owner = await principal_of(db, ann)
    async with db.transaction() as session:
        await do_add_member(session, owner, shared_group, customer.id)
    return World(
        ann=await browser(make_client, ann),
        bob=await browser(make_client, bob),
        carl=await browser(make_client, carl),
        customer=await browser(make_client, customer),
        acme=acme,
        rival=rival,
        private_group=private_group,
        shared_group=shared_group,
    )


def wall_of(page: str) -> str:
    start = page.find('id="wall"')
    assert start >= 0, "the card page has no wall"
    return page[start:]


async def test_a_card_shows_its_wall_with_a_prefilled_composer(db: Database, world: World) -> None:
    linked = await make_post(
        db, world.bob.user, "Signed the Acme deal", records=(("account", world.acme),)
    )
    await make_post(db, world.bob.user, "Unrelated lunch")
    page = text_of(await world.carl.get(f"/records/accounts/{world.acme}"))
    wall = wall_of(page)
    assert post_ids_in(wall) == [linked]
    assert "Unrelated lunch" not in wall
    records_field = re.search(r'<input id="composer-records" [^>]*>', wall)
    assert records_field and f'value="account:{world.acme}"' in records_field.group(0)
    assert f'value="record:account:{world.acme}"' in wall  # follow buttons

    sent = await world.carl.post(
        "/posts",
        {
            "body": "Follow-up call booked",
            "records": f"account:{world.acme}",
            "next": f"/records/accounts/{world.acme}",
        },
    )
    assert sent.status_code == 303 and sent.headers["location"] == f"/records/accounts/{world.acme}"
    wall = wall_of(text_of(await world.carl.get(f"/records/accounts/{world.acme}")))
    assert "Follow-up call booked" in wall and "Signed the Acme deal" in wall
    assert "Follow-up call booked" not in wall_of(
        text_of(await world.carl.get(f"/records/accounts/{world.rival}"))
    )


async def test_linked_records_show_as_cards_only_to_who_may_see_them(
    db: Database, world: World
) -> None:
    both = (("account", world.acme), ("account", world.rival))
    pid = await make_post(
        db, world.ann.user, "Acme meets Rival", group_id=world.shared_group, records=both
    )
    staff = text_of(await world.ann.get(f"/posts/{pid}"))
    assert staff.count('class="record-fragment"') == 2
    assert "Rival Corp" in staff and 'data-record="account-' in staff

    customer_post = text_of(await world.customer.get(f"/posts/{pid}"))
    assert "Acme meets Rival" in customer_post
    assert customer_post.count('class="record-fragment"') == 1
    assert "Rival Corp" not in customer_post and f"accounts/{world.rival}" not in customer_post

    wall = wall_of(text_of(await world.customer.get(f"/records/accounts/{world.acme}")))
    assert "Acme meets Rival" in wall and "Rival Corp" not in wall
    assert 'id="composer"' not in wall  # the wall's composer is for staff
    # On a timeline the cards load lazily (htmx), with a plain link to each card meanwhile.
    home = text_of(await world.ann.get("/"))
    assert f'hx-get="http://testserver/records/accounts/{world.rival}/card"' in home
    assert is_not_found(await world.customer.get(f"/records/accounts/{world.rival}"))


async def test_a_private_groups_post_is_on_no_outsiders_wall(db: Database, world: World) -> None:
    await make_post(
        db,
        world.ann.user,
        "Acme is in trouble",
        group_id=world.private_group,
        records=(("account", world.acme),),
    )
    member = wall_of(text_of(await world.bob.get(f"/records/accounts/{world.acme}")))
    assert "Acme is in trouble" in member
    for outsider in (world.carl, world.customer):
        page = text_of(await outsider.get(f"/records/accounts/{world.acme}"))
        assert "Acme is in trouble" not in page, outsider.user.name
        older = await outsider.get(f"/timeline?scope=record&key=account:{world.acme}")
        assert older.status_code == 200 and "Acme is in trouble" not in older.text


async def test_walls_on_other_kinds_and_their_older_pages(db: Database, world: World) -> None:
    async with db.session() as session:
        contact_id = (
            await session.scalars(
                Contact.__table__.select()
                .with_only_columns(Contact.id)
                .where(Contact.account_id == world.acme)
            )
        ).one()
    made = [
        await make_post(db, world.bob.user, f"Call note {n}", records=(("contact", contact_id),))
        for n in range(22)
    ]
    page = text_of(await world.carl.get(f"/records/contacts/{contact_id}"))
    wall = wall_of(page)
    shown = post_ids_in(wall)
    assert len(shown) == 20
    more = re.search(r'class="more timeline-more" href="([^"]+)"', wall)
    assert more and "scope=record" in more.group(1) and f"contact%3A{contact_id}" in more.group(1)
    older = post_ids_in(text_of(await world.carl.get(more.group(1))))
    assert sorted(shown + older) == sorted(made)
    # The record's timeline is only there for who may see the record.
    assert is_not_found(
        await world.customer.get(f"/timeline?scope=record&key=account:{world.rival}")
    )
