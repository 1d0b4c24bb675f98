"""Timelines through HTTP: the home page of staff (news, composer, filters, the overview beside)
and of customers (their portal plus their groups' posts), "Load older" without JavaScript and
with htmx, hashtag pages, a person's posts, follow and mute — and a private group's post, which
no timeline shows to a non-member or a customer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from domain.db import Database
from domain.groups.membership import do_add_member
from domain.people.models import Role
from domain.posts.models import PostKind
from tests.conftest import UserFactory
from tests.portal.posting import (
    Browser,
    ClientFactory,
    browser,
    is_not_found,
    make_external,
    make_group,
    make_post,
    post_ids_in,
    principal_of,
    share_group,
    text_of,
)

MORE = re.compile(r'class="more timeline-more" href="([^"]+)"')


@dataclass
class World:
    ann: Browser  # staff, admin, owns the private group
    bob: Browser  # staff, member
    carl: Browser  # staff, outsider
    customer: Browser  # a member of the shared group
    stranger: Browser  # a customer of another account
    private_group: int
    shared_group: int
    secret_post: int
    shared_post: int
    company_post: int


@pytest.fixture
async def world(db: Database, make_user: UserFactory, make_client: ClientFactory) -> World:
    ann = await make_user(name="Ann Admin", email="ann@example.com", roles=frozenset({Role.ADMIN}))
    bob = await make_user(name="Bob Baker", email="bob@example.com")
    carl = await make_user(name="Carl Cook", email="carl@example.com")
    customer, account = await make_external(db, make_user, "Acme")
    stranger, _other = await make_external(db, make_user, "Other")
    private_group = await make_group(db, ann, bob, name="Secret circle")
    shared_group = await make_group(db, ann, name="Acme project room")
    await share_group(db, ann, shared_group, account)
    owner = await principal_of(db, ann)
    async with db.transaction() as session:
        await do_add_member(session, owner, shared_group, customer.id)
    secret = await make_post(db, ann, "Secret plans #roadmap @bob", group_id=private_group)
    shared = await make_post(db, ann, "Welcome Acme #roadmap", group_id=shared_group)
    company = await make_post(db, bob, "Lunch at noon #roadmap")
    return World(
        ann=await browser(make_client, ann),
        bob=await browser(make_client, bob),
        carl=await browser(make_client, carl),
        customer=await browser(make_client, customer),
        stranger=await browser(make_client, stranger),
        private_group=private_group,
        shared_group=shared_group,
        secret_post=secret,
        shared_post=shared,
        company_post=company,
    )


# -- home ----------------------------------------------------------------------------------------


async def test_staff_home_has_news_composer_filters_timeline_and_overview(
    db: Database, world: World
) -> None:
    until = datetime.now(UTC) + timedelta(days=3)
    await make_post(db, world.ann.user, "All hands on Friday", kind=PostKind.NEWS, news_until=until)
    page = text_of(await world.bob.get("/"))
    news = page.index('id="news-title"')
    composer = page.index('id="composer"')
    feed = page.index('id="home-feed"')
    side = page.index('class="home-side"')
    assert news < composer < feed < side
    assert "All hands on Friday" in page[news:composer]
    assert "The company at a glance" in page[side:]
    for only in ("posts", "news", "mentions"):
        assert f'href="/?only={only}"' in page
    assert "Secret plans" in page and "Lunch at noon" in page
    assert "Welcome Acme" not in page  # Bob is not in the shared group


async def test_home_filters(db: Database, world: World) -> None:
    until = datetime.now(UTC) + timedelta(days=3)
    await make_post(db, world.ann.user, "News of the week", kind=PostKind.NEWS, news_until=until)
    news = text_of(await world.bob.get("/?only=news", headers={"HX-Request": "true"}))
    assert "<html" not in news and 'id="home-feed"' in news
    assert "News of the week" in news and "Lunch at noon" not in news
    mentions = text_of(await world.bob.get("/?only=mentions"))
    feed = mentions[mentions.index('id="home-feed"') :]
    assert "Secret plans" in feed and "Lunch at noon" not in feed
    posts = text_of(await world.bob.get("/?only=posts"))
    feed = posts[posts.index('id="home-feed"') :]
    assert "News of the week" not in feed and "Lunch at noon" in feed
    assert (await world.bob.get("/?only=everything")).status_code == 400
    assert (await world.bob.get("/?cursor=garbage")).status_code == 400


async def test_outsiders_home_never_shows_the_private_post(world: World) -> None:
    carl = text_of(await world.carl.get("/"))
    assert "Lunch at noon" in carl and "Secret plans" not in carl
    customer = text_of(await world.customer.get("/"))
    assert "Secret plans" not in customer and "Lunch at noon" not in customer


async def test_a_customer_home_is_their_portal_and_their_groups_posts(world: World) -> None:
    page = await world.customer.get("/")
    assert page.status_code == 200
    text = text_of(page)
    assert "Welcome, Acme Contact" in text
    assert "Your invoices" in text  # the portal home is still there
    timeline = text[text.index('id="portal-timeline-title"') :]
    assert "Welcome Acme" in timeline
    assert 'id="composer"' in timeline  # they may post in their group
    other = text_of(await world.stranger.get("/"))
    assert "Welcome Acme" not in other and 'id="composer"' not in other
    sent = await world.customer.post(
        "/posts", {"body": "Thanks!", "group_id": str(world.shared_group)}
    )
    assert sent.status_code == 303
    assert "Thanks!" in text_of(
        await world.ann.get(f"/timeline?scope=group&key={world.shared_group}")
    )


# -- load older ----------------------------------------------------------------------------------


async def test_load_older_pages_with_and_without_htmx(db: Database, world: World) -> None:
    made = [await make_post(db, world.carl.user, f"Numbered post {n}") for n in range(25)]
    first = text_of(await world.bob.get("/"))
    shown = post_ids_in(first)
    assert len(shown) == 20 and shown == sorted(shown, reverse=True)
    match = MORE.search(first)
    assert match, "no Load older link"
    more_url = match.group(1)
    assert 'hx-trigger="revealed, click"' in first
    plain = text_of(await world.bob.get(more_url))
    assert "<html" in plain
    older = post_ids_in(plain)
    assert older and not set(older) & set(shown) and max(older) < min(shown)
    fragment = await world.bob.get(more_url, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert post_ids_in(fragment.text) == older
    assert "HX-Request" in fragment.headers["Vary"]
    everything = set(shown) | set(older)
    assert set(made) <= everything | set(post_ids_in(fragment.text))


async def test_bad_timeline_queries_are_4xx(world: World) -> None:
    assert (await world.bob.get("/timeline?cursor=nope")).status_code == 400
    assert (await world.bob.get("/timeline?only=nope")).status_code == 400
    assert is_not_found(await world.bob.get("/timeline?scope=galaxy"))
    assert is_not_found(await world.bob.get("/timeline?scope=group&key=abc"))
    assert is_not_found(await world.bob.get("/timeline?scope=record&key=planet:1"))
    # A private group's timeline is not there for a non-member or a customer.
    for outsider in (world.carl, world.customer):
        answer = await outsider.get(f"/timeline?scope=group&key={world.private_group}")
        assert is_not_found(answer), outsider.user.name
    member = text_of(await world.bob.get(f"/timeline?scope=group&key={world.private_group}"))
    assert "Secret plans" in member


# -- hashtags and people -------------------------------------------------------------------------


async def test_a_hashtag_page_shows_only_what_the_reader_may_see(world: World) -> None:
    bob = text_of(await world.bob.get("/hashtags/roadmap"))
    assert "#roadmap" in bob and "Secret plans" in bob and "Lunch at noon" in bob
    assert "Welcome Acme" not in bob
    carl = text_of(await world.carl.get("/hashtags/RoadMap"))
    assert "Lunch at noon" in carl and "Secret plans" not in carl
    customer = text_of(await world.customer.get("/hashtags/roadmap"))
    assert "Welcome Acme" in customer
    assert "Secret plans" not in customer and "Lunch at noon" not in customer
    fragment = await world.bob.get("/hashtags/roadmap", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and "Secret plans" in fragment.text
    empty = text_of(await world.bob.get("/hashtags/nothing-here"))
    assert "No posts with this tag yet." in empty


async def test_a_persons_page_shows_their_posts_the_reader_may_see(world: World) -> None:
    ann_id = world.ann.user.id
    bob = text_of(await world.bob.get(f"/people/{ann_id}/posts"))
    assert "Posts by Ann Admin" in bob and "Secret plans" in bob
    assert "Lunch at noon" not in bob  # that is Bob's
    carl = text_of(await world.carl.get(f"/people/{ann_id}/posts"))
    assert "Secret plans" not in carl
    customer = text_of(await world.customer.get(f"/people/{ann_id}/posts"))
    assert "Welcome Acme" in customer and "Secret plans" not in customer
    assert is_not_found(await world.bob.get("/people/0/posts"))
    # Nobody by that id, or nobody the reader may see with no post the reader may see: a 404,
    # not an empty page that tells the id exists.
    assert is_not_found(await world.bob.get("/people/999999/posts"))
    assert is_not_found(await world.stranger.get(f"/people/{ann_id}/posts"))
    mine = await world.carl.get(f"/people/{world.carl.user.id}/posts")
    assert mine.status_code == 200, "one's own page, even without posts"


# -- follow and mute -----------------------------------------------------------------------------


async def test_following_a_public_group_and_muting_a_person(db: Database, world: World) -> None:
    public = await make_group(db, world.ann.user, visibility="public", name="Book club")
    await make_post(db, world.ann.user, "Book of the month", group_id=public)
    assert "Book of the month" not in text_of(await world.carl.get("/"))
    followed = await world.carl.post(
        "/follows", {"channel": f"group:{public}", "state": "follow", "next": "/"}
    )
    assert followed.status_code == 303 and followed.headers["location"] == "/"
    assert "Book of the month" in text_of(await world.carl.get("/"))

    bob_channel = f"author:{world.bob.user.id}"
    page = text_of(await world.carl.get(f"/people/{world.bob.user.id}/posts"))
    assert f'value="{bob_channel}"' in page  # the follow buttons
    muted = await world.carl.post("/follows", {"channel": bob_channel, "state": "mute"}, htmx=True)
    assert (
        muted.status_code == 200 and 'aria-pressed="true"' in muted.text and "Muted" in muted.text
    )
    assert "Lunch at noon" not in text_of(await world.carl.get("/"))
    await world.carl.post("/follows", {"channel": bob_channel, "state": "none"})
    assert "Lunch at noon" in text_of(await world.carl.get("/"))


async def test_following_what_one_may_not_see_is_not_found(world: World) -> None:
    secret = f"group:{world.private_group}"
    assert is_not_found(await world.carl.post("/follows", {"channel": secret, "state": "follow"}))
    assert is_not_found(
        await world.customer.post("/follows", {"channel": secret, "state": "follow"})
    )
    bad = await world.carl.post("/follows", {"channel": secret, "state": "love"})
    assert bad.status_code == 422
    assert (await world.carl.post("/follows", {"state": "follow"})).status_code == 422
