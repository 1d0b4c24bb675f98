"""Polls over HTTP: voting with htmx (the region comes back), without JavaScript (back to the
page), as JSON; refusals with their reasons; 404 for a poll one may not see; the region's
contents (results only when they may be seen, option labels escaped)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import httpx
from sqlalchemy import select

from domain.db import Database, utcnow
from domain.people.models import User, UserKind
from domain.posts.models import Poll, PollKind, PollOption, PollResults, Post
from domain.posts.polls import PollInput, do_create_poll, scale_options
from tests.conftest import csrf_from, login
from tests.domain.post_rows import make_post, private_group

ClientFactory = Callable[[], httpx.AsyncClient]
HOSTILE = '<script>alert("x")</script>'


async def signed_in(make_client: ClientFactory, user: User) -> tuple[httpx.AsyncClient, str]:
    client = make_client()
    assert (await login(client, user.email)).status_code == 303
    return client, await csrf_from(client, "/profile")


async def post_with_poll(
    db: Database,
    author: User,
    *options: str,
    kind: PollKind = PollKind.SINGLE,
    results: PollResults = PollResults.AFTER_VOTE,
    group_id: int | None = None,
) -> tuple[int, list[int]]:
    post_id = await make_post(db, author, group_id=group_id)
    async with db.transaction() as session:
        post = await session.get(Post, post_id)
        assert post is not None
        await do_create_poll(session, post, PollInput(kind, options, None, results))
    async with db.session() as session:
        ids = (
            await session.scalars(
                select(PollOption.id)
                .where(PollOption.post_id == post_id)
                .order_by(PollOption.position)
            )
        ).all()
    return post_id, list(ids)


def vote_headers(token: str, **extra: str) -> dict[str, str]:
    return {"X-CSRF-Token": token, **extra}


async def test_an_htmx_vote_answers_the_region_with_results(db, make_user, make_client):
    author, voter = await make_user(), await make_user()
    post_id, (_tea, coffee) = await post_with_poll(db, author, "Tea", "Coffee")
    client, token = await signed_in(make_client, voter)

    before = await client.get(f"/posts/{post_id}/poll", headers={"HX-Request": "true"})
    assert before.status_code == 200
    assert f'id="poll-{post_id}"' in before.text
    assert "Results are shown after you vote." in before.text
    assert "<progress" not in before.text
    assert 'type="radio" name="option"' in before.text

    response = await client.post(
        f"/posts/{post_id}/poll",
        data={"option": str(coffee)},
        headers=vote_headers(token, **{"HX-Request": "true"}),
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith(
        f'<section class="poll poll-single" id="poll-{post_id}"'
    )
    assert re.search(rf'value="{coffee}" checked', response.text)
    assert 'max="100" value="100"' in response.text  # Coffee: 1 of 1 voter
    assert "1 person voted" in response.text
    assert "Change vote" in response.text


async def test_a_vote_without_javascript_goes_back_to_the_page(db, make_user, make_client):
    author, voter = await make_user(), await make_user()
    post_id, (yes, _no) = await post_with_poll(db, author, "Yes", "No")
    client, token = await signed_in(make_client, voter)
    response = await client.post(
        f"/posts/{post_id}/poll",
        data={"option": str(yes), "csrf_token": token},
        headers={"Referer": "http://testserver/groups/3?tab=posts"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/groups/3?tab=posts#poll-{post_id}"
    elsewhere = await client.post(
        f"/posts/{post_id}/poll",
        data={"option": str(yes), "csrf_token": token},
        headers={"Referer": "https://evil.example/phish"},
    )
    assert elsewhere.headers["location"] == f"/#poll-{post_id}"


async def test_a_json_vote_answers_the_poll(db, make_user, make_client):
    author, voter = await make_user(), await make_user()
    data = scale_options(5)
    post_id, points = await post_with_poll(db, author, *data, kind=PollKind.SCALE)
    client, token = await signed_in(make_client, voter)
    response = await client.post(
        f"/posts/{post_id}/poll",
        json={"option_ids": [points[3]]},
        headers=vote_headers(token, Accept="application/json"),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["kind"] == "scale" and body["voter_count"] == 1 and body["may_see_results"]
    assert [o["count"] for o in body["options"]] == [0, 0, 0, 1, 0]
    assert [o["mine"] for o in body["options"]] == [False, False, False, True, False]
    for bad in ({"option_ids": [points[0], points[1]]}, {"option_ids": "1"}, {"x": 1}, [1]):
        refused = await client.post(
            f"/posts/{post_id}/poll",
            json=bad,
            headers=vote_headers(token, Accept="application/json"),
        )
        assert refused.status_code == 422
        assert refused.json()["error"]["message"]


async def test_refused_votes_say_why(db, make_user, make_client):
    author, voter = await make_user(), await make_user()
    post_id, (yes, _no) = await post_with_poll(db, author, "Yes", "No")
    client, token = await signed_in(make_client, voter)
    htmx = vote_headers(token, **{"HX-Request": "true"})
    nothing = await client.post(f"/posts/{post_id}/poll", data={}, headers=htmx)
    assert nothing.status_code == 422
    assert f'id="poll-{post_id}"' in nothing.text and "Choose one option." in nothing.text
    junk = await client.post(f"/posts/{post_id}/poll", data={"option": "abc"}, headers=htmx)
    assert junk.status_code == 422 and "not in the poll" in junk.text
    async with db.transaction() as session:
        poll = await session.get(Poll, post_id)
        assert poll is not None
        poll.closes_at = utcnow() - timedelta(minutes=5)
    closed = await client.post(f"/posts/{post_id}/poll", data={"option": str(yes)}, headers=htmx)
    assert closed.status_code == 422 and "This poll is closed." in closed.text
    assert "disabled" in closed.text and "<button" not in closed.text
    plain = await client.post(
        f"/posts/{post_id}/poll", data={"option": str(yes), "csrf_token": token}
    )
    assert plain.status_code == 422 and "This poll is closed." in plain.text


async def test_a_poll_one_may_not_see_is_404(db, make_user, make_client):
    owner, member, outsider = await make_user(), await make_user(), await make_user()
    customer = await make_user(kind=UserKind.CUSTOMER)
    group_id = await private_group(db, owner, member)
    post_id, (yes, _no) = await post_with_poll(db, owner, "Yes", "No", group_id=group_id)
    member_client, member_token = await signed_in(make_client, member)
    ok = await member_client.post(
        f"/posts/{post_id}/poll", data={"option": str(yes)}, headers=vote_headers(member_token)
    )
    assert ok.status_code == 303
    for user in (outsider, customer):
        client, token = await signed_in(make_client, user)
        for path in (f"/posts/{post_id}/poll", "/posts/999999/poll"):
            vote = await client.post(path, data={"option": str(yes)}, headers=vote_headers(token))
            assert vote.status_code == 404
            read = await client.get(path, headers={"HX-Request": "true"})
            assert read.status_code == 404 and "Yes" not in read.text
    plain_post = await make_post(db, owner)  # a post without a poll
    owner_client, _ = await signed_in(make_client, owner)
    assert (await owner_client.get(f"/posts/{plain_post}/poll")).status_code == 404


async def test_results_hidden_until_closing_and_labels_escaped(db, make_user, make_client):
    author, voter = await make_user(), await make_user()
    post_id, (hostile, _other) = await post_with_poll(
        db, author, HOSTILE, "Other", kind=PollKind.MULTIPLE, results=PollResults.AFTER_CLOSE
    )
    client, token = await signed_in(make_client, voter)
    response = await client.post(
        f"/posts/{post_id}/poll",
        data={"option": [str(hostile)]},
        headers=vote_headers(token, **{"HX-Request": "true"}),
    )
    assert response.status_code == 200
    assert HOSTILE not in response.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in response.text
    assert 'type="checkbox"' in response.text
    assert "Results are shown when the poll closes." in response.text
    assert "<progress" not in response.text
    author_client, _ = await signed_in(make_client, author)
    seen = await author_client.get(f"/posts/{post_id}/poll", headers={"Accept": "application/json"})
    assert [o["count"] for o in seen.json()["options"]] == [1, 0]


async def test_a_poll_made_in_the_composer_is_voted_on_from_the_post_page(
    db, make_user, make_client
):
    author, reader = await make_user(), await make_user()
    client, token = await signed_in(make_client, author)
    created = await client.post(
        "/posts",
        data={
            "body": "Lunch?",
            "csrf_token": token,
            "poll_kind": "single",
            "poll_options": "Pizza\nSushi",
            "poll_results": "after_vote",
        },
    )
    assert created.status_code == 303, created.text
    async with db.session() as session:
        post_id = await session.scalar(select(Post.id).where(Post.body == "Lunch?"))
    reader_client, reader_token = await signed_in(make_client, reader)
    page = await reader_client.get(f"/posts/{post_id}")
    assert f'id="poll-{post_id}"' in page.text
    assert "Results are shown after you vote." in page.text
    sushi = re.search(r'value="(\d+)"> <span class="poll-label">Sushi', page.text)
    assert sushi, page.text
    voted = await reader_client.post(
        f"/posts/{post_id}/poll",
        data={"option": sushi.group(1), "csrf_token": reader_token},
        headers={"Referer": f"http://testserver/posts/{post_id}"},
    )
    assert voted.headers["location"] == f"/posts/{post_id}#poll-{post_id}"
    again = await reader_client.get(voted.headers["location"])
    assert "1 person voted" in again.text and "<progress" in again.text
