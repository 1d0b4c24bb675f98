"""Posts through HTTP: publishing from the composer (with and without htmx, twice with one key,
with bad input), the post page, editing with its history, deleting, pinning, sharing, comments
with replies and their history, reactions, the record picker — and a private group's post, which
answers 404 to a non-member and to a customer on every route, exactly like a missing post."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from domain.db import Database
from domain.people.models import Role, User
from domain.posts.models import Comment, Post, ReactionKind
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
    text_of,
)


@dataclass
class People:
    ann: Browser  # staff, owner of the private group
    bob: Browser  # staff, member of it
    carl: Browser  # staff, not a member
    customer: Browser
    group_id: int
    secret_post: int  # in the private group


@pytest.fixture
async def people(db: Database, make_user: UserFactory, make_client: ClientFactory) -> People:
    ann = await make_user(name="Ann Admin", email="ann@example.com", roles=frozenset({Role.ADMIN}))
    bob = await make_user(name="Bob Baker", email="bob@example.com")
    carl = await make_user(name="Carl Cook", email="carl@example.com")
    customer, _account = await make_external(db, make_user, "Acme")
    group_id = await make_group(db, ann, bob, name="Secret circle")
    secret = await make_post(db, ann, "Secret plans #hush", group_id=group_id)
    return People(
        ann=await browser(make_client, ann),
        bob=await browser(make_client, bob),
        carl=await browser(make_client, carl),
        customer=await browser(make_client, customer),
        group_id=group_id,
        secret_post=secret,
    )


async def count_posts(db: Database, author: User) -> int:
    async with db.session() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(Post).where(Post.author_id == author.id)
            )
            or 0
        )


# -- publishing ----------------------------------------------------------------------------------


async def test_a_post_from_the_composer_lands_on_the_timeline(people: People) -> None:
    sent = await people.bob.post(
        "/posts", {"body": "Release **today** #launch", "client_key": "k-1", "next": "/"}
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == "/"
    home = text_of(await people.carl.get("/"))
    assert "<strong>today</strong>" in home
    assert 'href="/hashtags/launch"' in home
    assert "Bob Baker" in home


async def test_htmx_gets_a_fresh_composer_and_the_post_on_top(people: People) -> None:
    answer = await people.bob.post(
        "/posts",
        {"body": "Via htmx", "client_key": "k-h", "next": "/", "timeline_id": "home-timeline"},
        htmx=True,
    )
    assert answer.status_code == 201
    assert "<html" not in answer.text
    assert 'hx-swap-oob="afterbegin:#home-timeline"' in answer.text
    assert "Via htmx" in answer.text
    keys = re.findall(r'name="client_key" value="([^"]+)"', answer.text)
    assert keys and "k-h" not in keys  # the next post gets a key of its own
    assert "Vary" in answer.headers and "HX-Request" in answer.headers["Vary"]


async def test_a_double_submit_makes_one_post(db: Database, people: People) -> None:
    before = await count_posts(db, people.bob.user)
    form = {"body": "Only once", "client_key": "same-key", "next": "/"}
    first = await people.bob.post("/posts", form)
    second = await people.bob.post("/posts", form)
    third = await people.bob.post("/posts", form, htmx=True)
    assert (first.status_code, second.status_code, third.status_code) == (303, 303, 201)
    assert "Only once" not in third.text  # not put on the page a second time
    assert await count_posts(db, people.bob.user) == before + 1
    assert text_of(await people.carl.get("/")).count("Only once") == 1


@pytest.mark.parametrize(
    ("fields", "field_id", "message"),
    [
        ({"body": ""}, "composer-body-error", "Write something first."),
        ({"body": "x", "records": "account:abc"}, "composer-records-error", "kind and number"),
        ({"body": "x", "records": "account:999999"}, "composer-records-error", "no such record"),
        ({"body": "x", "to": "@nobody.here"}, "composer-to-error", "Nobody found as @nobody.here"),
        ({"body": "x", "group_id": "seven"}, "composer-group_id-error", "offered values"),
        ({"body": "x" * 20_001}, "composer-body-error", "too long"),
        (
            {"body": "x", "poll_kind": "single", "poll_options": "only one"},
            "composer-poll_options-error",
            "",
        ),
        ({"body": "x", "poll_kind": "weird"}, "composer-poll_kind-error", "offered values"),
        ({"body": "x", "attachment_ids": "abc"}, "composer-attachment_ids-error", "offered"),
        ({"body": "x", "attachment_ids": "424242"}, "composer-attachment_ids-error", ""),
        (
            {"body": "x", "kind": "news", "news_until": "yesterday"},
            "composer-news_until-error",
            "2026-12-31",
        ),
    ],
)
async def test_bad_input_comes_back_in_the_composer_with_422(
    db: Database, people: People, fields: dict[str, str], field_id: str, message: str
) -> None:
    before = await count_posts(db, people.ann.user)
    page = await people.ann.post("/posts", {"client_key": "bad", **fields})
    assert page.status_code == 422
    assert "<html" in page.text  # without htmx: a page with the composer
    assert f'id="{field_id}"' in page.text
    assert message in text_of(page)
    fragment = await people.ann.post("/posts", {"client_key": "bad", **fields}, htmx=True)
    assert fragment.status_code == 422
    assert "<html" not in fragment.text and f'id="{field_id}"' in fragment.text
    assert await count_posts(db, people.ann.user) == before


async def test_news_and_groups_are_refused_with_a_message(people: People) -> None:
    news = await people.bob.post("/posts", {"body": "Big news", "kind": "news"})
    assert news.status_code == 422
    assert "Only administrators and the communication team" in text_of(news)
    elsewhere = await people.carl.post("/posts", {"body": "Let me in", "group_id": people.group_id})
    assert elsewhere.status_code == 422
    assert "Let me in" in elsewhere.text  # the text is kept
    external = await people.customer.post("/posts", {"body": "Hello company"})
    assert external.status_code == 422
    stale = await people.bob.post("/posts", {"body": "x", "client_key": "bad\tkey"})
    assert stale.status_code == 422 and "This form is out of date" in text_of(stale)


async def test_an_admin_posts_news_with_an_end_date(people: People) -> None:
    sent = await people.ann.post(
        "/posts", {"body": "Friday drinks", "kind": "news", "news_until": "2099-12-31"}
    )
    assert sent.status_code == 303
    home = text_of(await people.carl.get("/"))
    news = home[home.index('id="news-title"') : home.index('id="home-feed"')]
    assert "Friday drinks" in news


async def test_a_poll_from_the_composer(people: People) -> None:
    sent = await people.bob.post(
        "/posts",
        {"body": "How was the offsite?", "poll_kind": "scale", "poll_results": "after_vote"},
    )
    assert sent.status_code == 303
    pid = post_ids_in((await people.carl.get("/")).text)[0]
    page = text_of(await people.carl.get(f"/posts/{pid}"))
    assert "How was the offsite?" in page and f'id="poll-{pid}"' in page


# -- the post page, and what a non-member and a customer get ---------------------------------


async def test_the_post_page_shows_the_post_with_its_comments(people: People) -> None:
    page = await people.bob.get(f"/posts/{people.secret_post}")
    assert page.status_code == 200
    assert "Secret plans" in page.text
    assert f'id="comments-{people.secret_post}"' in page.text
    assert 'name="body"' in page.text  # the comment form
    fragment = await people.bob.get(f"/posts/{people.secret_post}", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "HX-Request" in fragment.headers["Vary"]


async def test_a_private_groups_post_is_not_found_for_outsiders_on_every_route(
    db: Database, people: People
) -> None:
    pid = people.secret_post
    async with db.session() as session:
        comment = Comment(post_id=pid, author_id=people.ann.user.id, body="c", body_html="<p>c</p>")
        session.add(comment)
        await session.commit()
        comment_id = comment.id
    reads = [
        f"/posts/{pid}",
        f"/posts/{pid}/edit",
        f"/posts/{pid}/history",
        f"/posts/{pid}/reactions",
        f"/posts/{pid}/share",
        f"/posts/{pid}/comments",
        f"/comments/{comment_id}/history",
    ]
    writes = [
        (f"/posts/{pid}/edit", {"body": "mine now"}),
        (f"/posts/{pid}/delete", {}),
        (f"/posts/{pid}/pin", {"pinned": "1"}),
        (f"/posts/{pid}/reactions", {"kind": "like", "state": "on"}),
        (f"/posts/{pid}/share", {"body": "look", "group_id": ""}),
        (f"/posts/{pid}/comments", {"body": "I was not there"}),
        (f"/comments/{comment_id}/edit", {"body": "changed"}),
        (f"/comments/{comment_id}/delete", {}),
    ]
    for outsider in (people.carl, people.customer):
        for path in reads:
            for htmx in (False, True):
                headers = {"HX-Request": "true"} if htmx else {}
                answer = await outsider.get(path, headers=headers)
                assert is_not_found(answer), (outsider.user.name, path, answer.status_code)
        for path, form in writes:
            answer = await outsider.post(path, form)
            assert is_not_found(answer), (outsider.user.name, path, answer.status_code)
        missing = await outsider.get("/posts/987654")
        assert is_not_found(missing)
    # Nothing changed.
    page = text_of(await people.bob.get(f"/posts/{pid}"))
    assert "Secret plans" in page and "I was not there" not in page and "mine now" not in page


# -- editing and deleting ----------------------------------------------------------------------


async def test_the_author_edits_and_the_earlier_text_stays_visible(people: People) -> None:
    pid = people.secret_post
    form = await people.ann.get(f"/posts/{pid}/edit", headers={"HX-Request": "true"})
    assert form.status_code == 200 and "Secret plans #hush" in form.text
    saved = await people.ann.post(f"/posts/{pid}/edit", {"body": "Open plans"}, htmx=True)
    assert saved.status_code == 200
    assert f'id="post-{pid}"' in saved.text and "Open plans" in saved.text
    page = text_of(await people.bob.get(f"/posts/{pid}"))
    assert "Open plans" in page and ">edited</a>" in page
    history = text_of(await people.bob.get(f"/posts/{pid}/history"))
    assert "Secret plans" in history and "Open plans" in history
    # Not the author: 403, and an empty text is refused with 422.
    assert (await people.bob.post(f"/posts/{pid}/edit", {"body": "Bob's now"})).status_code == 403
    empty = await people.ann.post(f"/posts/{pid}/edit", {"body": "  "})
    assert empty.status_code == 422 and 'aria-invalid="true"' in empty.text
    plain = await people.ann.post(f"/posts/{pid}/edit", {"body": "Plain again"})
    assert plain.status_code == 303 and plain.headers["location"] == f"/posts/{pid}"


async def test_deleting_a_post_takes_it_away(people: People) -> None:
    pid = people.secret_post
    assert (await people.bob.post(f"/posts/{pid}/delete", {})).status_code == 403
    gone = await people.ann.post(f"/posts/{pid}/delete", {"next": f"/posts/{pid}"}, htmx=True)
    assert gone.status_code == 200 and f'id="post-{pid}"' in gone.text
    assert "deleted" in gone.text
    assert is_not_found(await people.bob.get(f"/posts/{pid}"))
    again = await people.ann.post(f"/posts/{pid}/delete", {})
    assert is_not_found(again)


async def test_group_owners_pin_and_members_do_not(people: People) -> None:
    pid = people.secret_post
    assert (await people.bob.post(f"/posts/{pid}/pin", {"pinned": "1"})).status_code == 403
    pinned = await people.ann.post(f"/posts/{pid}/pin", {"pinned": "1"}, htmx=True)
    assert pinned.status_code == 200 and "Pinned" in pinned.text and "Unpin" in pinned.text
    twice = await people.ann.post(f"/posts/{pid}/pin", {"pinned": "1"}, htmx=True)
    assert "Unpin" in twice.text  # the form says the state wanted: no toggling back
    unpinned = await people.ann.post(f"/posts/{pid}/pin", {"pinned": "0", "next": "/"})
    assert unpinned.status_code == 303 and unpinned.headers["location"] == "/"
    company = await make_post_via(people.carl, "Company post")
    refused = await people.ann.post(f"/posts/{company}/pin", {"pinned": "1"})
    assert refused.status_code == 422


async def make_post_via(who: Browser, body: str) -> int:
    sent = await who.post("/posts", {"body": body})
    assert sent.status_code == 303, sent.text[:500]
    match = re.search(r"/posts/(\d+)", sent.headers["location"])
    if match:
        return int(match.group(1))
    ids = post_ids_in((await who.get("/")).text)
    return ids[0]


# -- sharing -----------------------------------------------------------------------------------


async def test_sharing_a_post_to_a_group_or_a_person(people: People) -> None:
    original = await make_post_via(people.carl, "Worth reading")
    shared = await people.ann.post(
        f"/posts/{original}/share", {"body": "Look at this", "group_id": people.group_id}
    )
    assert shared.status_code == 303
    page = text_of(await people.bob.get(shared.headers["location"]))
    assert "Look at this" in page and "Worth reading" in page and "Secret circle" in page
    to_person = await people.carl.post(
        f"/posts/{original}/share", {"body": "For you", "to": "@bob"}
    )
    assert to_person.status_code == 303
    assert "For you" in text_of(await people.bob.get(to_person.headers["location"]))
    assert is_not_found(await people.ann.get(to_person.headers["location"]))
    nowhere = await people.ann.post(f"/posts/{original}/share", {"body": "x"})
    assert nowhere.status_code == 422 and "Choose a group" in text_of(nowhere)
    outsider = await people.carl.post(
        f"/posts/{original}/share", {"body": "x", "group_id": people.group_id}
    )
    assert outsider.status_code == 422


async def test_the_share_form_opens_under_the_post_or_as_its_own_page(people: People) -> None:
    original = await make_post_via(people.carl, "Worth reading")
    timeline = (await people.ann.get("/")).text
    assert f'hx-target="#share-{original}"' in timeline and f'id="share-{original}"' in timeline
    inline = await people.ann.get(f"/posts/{original}/share", headers={"HX-Request": "true"})
    assert inline.status_code == 200 and "<html" not in inline.text
    assert f'action="/posts/{original}/share"' in inline.text
    assert "data-share-cancel" in inline.text and f'id="share-body-{original}"' in inline.text
    page = await people.ann.get(f"/posts/{original}/share")
    assert "<html" in page.text and "Share a post" in page.text
    assert "data-share-cancel" not in page.text
    assert is_not_found(await people.customer.get(f"/posts/{original}/share"))


# -- comments ----------------------------------------------------------------------------------


async def test_comments_replies_edits_and_deletes(db: Database, people: People) -> None:
    pid = people.secret_post
    added = await people.bob.post(
        f"/posts/{pid}/comments", {"body": "First!", "client_key": "c-1"}, htmx=True
    )
    assert added.status_code == 200
    assert f'id="comments-{pid}"' in added.text and "First!" in added.text
    again = await people.bob.post(
        f"/posts/{pid}/comments", {"body": "First!", "client_key": "c-1"}, htmx=True
    )
    assert again.text.count("First!</p>") == 1  # a double submit: one comment
    async with db.session() as session:
        first = await session.scalar(select(Comment.id).where(Comment.body == "First!"))
    assert first is not None
    reply = await people.ann.post(
        f"/posts/{pid}/comments", {"body": "A reply", "parent_id": str(first)}
    )
    assert reply.status_code == 303 and reply.headers["location"].startswith(f"/posts/{pid}#")
    page = text_of(await people.bob.get(f"/posts/{pid}"))
    replies = page[page.index('class="comment-list replies"') :]
    assert "A reply" in replies

    edited = await people.bob.post(f"/comments/{first}/edit", {"body": "First, edited"}, htmx=True)
    assert "First, edited" in edited.text and ">edited</a>" in edited.text
    history = text_of(await people.ann.get(f"/comments/{first}/history"))
    assert "First!" in history and "First, edited" in history
    assert (await people.ann.post(f"/comments/{first}/edit", {"body": "x"})).status_code == 403

    empty = await people.bob.post(f"/posts/{pid}/comments", {"body": " "}, htmx=True)
    assert empty.status_code == 422 and "Write" in text_of(empty)
    bad_parent = await people.bob.post(f"/posts/{pid}/comments", {"body": "x", "parent_id": "no"})
    assert bad_parent.status_code == 422

    deleted = await people.bob.post(f"/comments/{first}/delete", {}, htmx=True)
    assert deleted.status_code == 200 and "First, edited" not in deleted.text
    assert is_not_found(await people.ann.get(f"/comments/{first}/history"))


# -- reactions ---------------------------------------------------------------------------------


async def test_reactions_are_set_not_toggled(people: People) -> None:
    pid = people.secret_post
    like = {"kind": "like", "state": "on"}
    first = await people.bob.post(f"/posts/{pid}/reactions", like, htmx=True)
    second = await people.bob.post(f"/posts/{pid}/reactions", like, htmx=True)
    for answer in (first, second):
        assert answer.status_code == 200 and f'id="reactions-{pid}"' in answer.text
        assert '<span class="reaction-count">1</span>' in answer.text
        assert 'aria-pressed="true"' in answer.text
    # A stale "off" for another kind leaves the reaction alone.
    stale = await people.bob.post(f"/posts/{pid}/reactions", {"kind": "thanks", "state": "off"})
    assert stale.status_code == 303
    await people.ann.post(f"/posts/{pid}/reactions", {"kind": "celebrate", "state": "on"})
    who = text_of(await people.ann.get(f"/posts/{pid}/reactions"))
    assert "Bob Baker" in who and "Ann Admin" in who and "Celebrate" in who
    off = await people.bob.post(
        f"/posts/{pid}/reactions", {"kind": "like", "state": "off"}, htmx=True
    )
    assert '<span class="reaction-count">1</span>' in off.text  # Ann's celebrate remains
    assert 'aria-pressed="true"' not in off.text
    bad = await people.bob.post(f"/posts/{pid}/reactions", {"kind": "boo", "state": "on"})
    assert bad.status_code == 422


def test_every_reaction_kind_has_a_button() -> None:
    template = Path("templates/posts/_reactions.html").read_text(encoding="utf-8")
    labels = Path("templates/posts/_labels.html").read_text(encoding="utf-8")
    for kind in ReactionKind:
        assert f'"{kind.value}"' in template and f'kind == "{kind.value}"' in labels


# -- the record picker and the mention autocomplete --------------------------------------------


async def test_the_record_picker_offers_only_what_the_reader_may_see(
    db: Database, people: People
) -> None:
    other = await make_account(db, "Acme Rival")
    staff = await people.carl.get(
        "/posts/records", params={"q": "Acme"}, headers={"HX-Request": "true"}
    )
    assert staff.status_code == 200 and "<html" not in staff.text
    assert f'data-reference="account:{other}"' in staff.text
    customer = await people.customer.get("/posts/records", params={"q": "Acme"})
    assert customer.status_code == 200
    assert "Acme Rival" not in customer.text
    empty = await people.carl.get("/posts/records", params={"q": ""})
    assert empty.status_code == 200 and "data-reference" not in empty.text


async def test_mention_autocomplete_offers_people_one_may_mention(people: People) -> None:
    staff = await people.carl.get(
        "/posts/mentions", params={"q": "bo"}, headers={"HX-Request": "true"}
    )
    assert staff.status_code == 200 and 'data-handle="bob"' in staff.text
    assert "<html" not in staff.text
    page = await people.carl.get("/posts/mentions", params={"q": "bo"})
    assert "<html" in page.text and 'data-handle="bob"' in page.text
    # A customer belongs to no group here: nobody to mention.
    customer = await people.customer.get("/posts/mentions", params={"q": "bo"})
    assert customer.status_code == 200 and "data-handle" not in customer.text


async def test_nul_in_a_search_term_is_dropped_not_a_server_error(people: People) -> None:
    """PostgreSQL refuses NUL in text: the typed term loses it before it reaches SQL."""
    staff = await people.carl.get(
        "/posts/mentions", params={"q": "b\x00o"}, headers={"HX-Request": "true"}
    )
    assert staff.status_code == 200 and 'data-handle="bob"' in staff.text
    picker = await people.carl.get("/posts/records", params={"q": "Ac\x00me"})
    assert picker.status_code == 200
    groups = await people.carl.get("/groups", params={"q": "\x00"})
    assert groups.status_code == 200
    tag = await people.carl.get("/hashtags/%00")
    assert 400 <= tag.status_code < 500
    api = await people.carl.get("/api/v1/timeline", params={"scope": "hashtag", "key": "\x00"})
    assert api.status_code == 400 and api.json()["error"]["message"]


async def test_anonymous_visitors_are_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    for path in ("/posts/1", "/posts/mentions?q=a", "/posts/records?q=a", "/posts/1/comments"):
        answer = await client.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
