"""The JSON API for posts: publish (once per client_key), read, the timeline with its cursor,
comments and reactions; CSRF on session-cookie writes; JSON errors for bad input; and a private
group's post, 404 to a non-member and a customer on every endpoint."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from domain.db import Database
from domain.people.models import Role
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
)


@dataclass
class People:
    ann: Browser
    bob: Browser
    carl: Browser
    customer: Browser
    group_id: int
    secret_post: int


@pytest.fixture
async def people(db: Database, make_user: UserFactory, make_client: ClientFactory) -> People:
    ann = await make_user(name="Ann Admin", email="ann@example.com", roles=frozenset({Role.ADMIN}))
    bob = await make_user(name="Bob Baker", email="bob@example.com")
    carl = await make_user(name="Carl Cook", email="carl@example.com")
    customer, _account = await make_external(db, make_user, "Acme")
    group_id = await make_group(db, ann, bob, name="Secret circle")
    secret = await make_post(db, ann, "Secret plans", group_id=group_id)
    return People(
        ann=await browser(make_client, ann),
        bob=await browser(make_client, bob),
        carl=await browser(make_client, carl),
        customer=await browser(make_client, customer),
        group_id=group_id,
        secret_post=secret,
    )


async def test_publish_read_and_publish_again_with_the_same_key(
    db: Database, people: People
) -> None:
    account = await make_account(db, "Globex")
    created = await people.bob.api(
        "POST",
        "/api/v1/posts",
        {
            "body": "Hello **API** @carl",
            "group_id": people.group_id,
            "records": [{"kind": "account", "id": account}],
            "client_key": "api-1",
        },
    )
    assert created.status_code == 201, created.text
    post = created.json()
    assert isinstance(post["id"], int)
    assert post["group"] == {"id": people.group_id, "name": "Secret circle"}
    assert "<strong>API</strong>" in post["body_html"]
    assert post["records"] == [{"kind": "account", "id": account, "title": "Globex"}]
    assert post["author"]["name"] == "Bob Baker"

    again = await people.bob.api(
        "POST", "/api/v1/posts", {"body": "Hello **API** @carl", "client_key": "api-1"}
    )
    assert again.status_code == 201 and again.json()["id"] == post["id"]

    read = await people.ann.api("GET", f"/api/v1/posts/{post['id']}")
    assert read.status_code == 200 and read.json()["body"] == "Hello **API** @carl"
    assert read.json()["may_delete"] is True and read.json()["may_edit"] is False


async def test_a_poll_and_news_through_the_api(people: People) -> None:
    poll = await people.bob.api(
        "POST",
        "/api/v1/posts",
        {"body": "Lunch?", "poll": {"kind": "single", "options": ["Pizza", "Soup"]}},
    )
    assert poll.status_code == 201, poll.text
    assert [o["label"] for o in poll.json()["poll"]["options"]] == ["Pizza", "Soup"]
    news = await people.ann.api(
        "POST",
        "/api/v1/posts",
        {"body": "Closed Monday", "kind": "news", "news_until": "2099-01-01T00:00:00+00:00"},
    )
    assert news.status_code == 201 and news.json()["kind"] == "news"
    refused = await people.bob.api("POST", "/api/v1/posts", {"body": "Me too", "kind": "news"})
    assert refused.status_code == 403
    assert refused.json()["error"]["status"] == 403


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ("not json", 400, None),
        ([1, 2], 400, None),
        ({"body": 5}, 422, "body"),
        ({"body": ""}, 422, "body"),
        ({"body": "x", "group_id": "7"}, 422, "group_id"),
        ({"body": "x", "recipient_ids": [0]}, 422, "recipient_ids"),
        ({"body": "x", "records": [{"kind": "planet", "id": 1}]}, 422, "records"),
        ({"body": "x", "records": [{"kind": "account", "id": 999999}]}, 422, "records"),
        ({"body": "x", "kind": "rumour"}, 422, "kind"),
        ({"body": "x", "news_until": "tomorrow"}, 422, "news_until"),
        ({"body": "x", "poll": {"kind": "single", "options": ["one"]}}, 422, "poll_options"),
        ({"body": "x", "poll": "yes"}, 422, "poll"),
        ({"body": "x", "client_key": "k" * 65}, 422, "client_key"),
    ],
)
async def test_bad_posts_are_json_errors(
    people: People, body: object, status: int, field: str | None
) -> None:
    if isinstance(body, str):
        answer = await people.bob.client.post(
            "/api/v1/posts",
            content=body,
            headers={"X-CSRF-Token": people.bob.token, "Content-Type": "application/json"},
        )
    else:
        answer = await people.bob.api("POST", "/api/v1/posts", body)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["status"] == status and error["message"]
    if field is not None:
        assert field in error["fields"], error


async def test_writes_need_the_csrf_header_and_a_signed_in_caller(
    people: People, client: httpx.AsyncClient
) -> None:
    no_token = await people.bob.client.post("/api/v1/posts", json={"body": "x"})
    assert no_token.status_code == 403
    anonymous = await client.get("/api/v1/timeline")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["status"] == 401


async def test_the_timeline_pages_with_a_cursor(db: Database, people: People) -> None:
    for n in range(5):
        await make_post(db, people.carl.user, f"Post {n}")
    first = await people.bob.api("GET", "/api/v1/timeline?limit=3")
    assert first.status_code == 200
    page = first.json()
    assert len(page["items"]) == 3 and page["next"]
    second = (await people.bob.api("GET", f"/api/v1/timeline?limit=3&cursor={page['next']}")).json()
    ids = [p["id"] for p in page["items"]] + [p["id"] for p in second["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 6
    assert people.secret_post in ids  # Bob is a member
    carl = (await people.carl.api("GET", "/api/v1/timeline?limit=100")).json()
    assert people.secret_post not in [p["id"] for p in carl["items"]] and carl["next"] is None
    group = await people.bob.api("GET", f"/api/v1/timeline?scope=group&key={people.group_id}")
    assert [p["id"] for p in group.json()["items"]] == [people.secret_post]
    for query in ("cursor=bad", "limit=0", "limit=x", "only=all-of-it", "scope=planet"):
        answer = await people.bob.api("GET", f"/api/v1/timeline?{query}")
        assert answer.status_code == 400, query
        assert answer.json()["error"]["message"]


async def test_comments_and_reactions(people: People) -> None:
    pid = people.secret_post
    added = await people.bob.api(
        "POST", f"/api/v1/posts/{pid}/comments", {"body": "Nice", "client_key": "c1"}
    )
    assert added.status_code == 201 and added.json()["body"] == "Nice"
    comment_id = added.json()["id"]
    twice = await people.bob.api(
        "POST", f"/api/v1/posts/{pid}/comments", {"body": "Nice", "client_key": "c1"}
    )
    assert twice.json()["id"] == comment_id
    reply = await people.ann.api(
        "POST", f"/api/v1/posts/{pid}/comments", {"body": "Thanks", "parent_id": comment_id}
    )
    assert reply.status_code == 201
    listed = (await people.ann.api("GET", f"/api/v1/posts/{pid}/comments")).json()["items"]
    assert len(listed) == 1 and listed[0]["replies"][0]["body"] == "Thanks"
    edited = await people.bob.api("PATCH", f"/api/v1/comments/{comment_id}", {"body": "Nicer"})
    assert edited.status_code == 200 and edited.json()["edited_at"]
    assert (
        await people.ann.api("PATCH", f"/api/v1/comments/{comment_id}", {"body": "x"})
    ).status_code == 403
    assert (
        await people.bob.api("POST", f"/api/v1/posts/{pid}/comments", {"body": ""})
    ).status_code == 422

    for _ in range(2):
        set_ = await people.bob.api("PUT", f"/api/v1/posts/{pid}/reaction", {"kind": "like"})
        assert set_.status_code == 200 and set_.json() == {"counts": {"like": 1}, "mine": "like"}
    read = (await people.ann.api("GET", f"/api/v1/posts/{pid}/reactions")).json()
    assert read["counts"] == {"like": 1} and read["people"] == [
        {"name": "Bob Baker", "kind": "like"}
    ]
    off = await people.bob.api("PUT", f"/api/v1/posts/{pid}/reaction", {"kind": None})
    assert off.json()["mine"] is None and not off.json()["counts"].get("like")
    bad = await people.bob.api("PUT", f"/api/v1/posts/{pid}/reaction", {"kind": "boo"})
    assert bad.status_code == 422

    deleted = await people.bob.api("DELETE", f"/api/v1/comments/{comment_id}")
    assert deleted.status_code == 204
    assert is_not_found(
        await people.bob.api("PATCH", f"/api/v1/comments/{comment_id}", {"body": "x"})
    )


async def test_a_private_groups_post_is_not_found_on_every_endpoint(people: People) -> None:
    pid = people.secret_post
    comment = await people.bob.api("POST", f"/api/v1/posts/{pid}/comments", {"body": "inside"})
    comment_id = comment.json()["id"]
    calls = [
        ("GET", f"/api/v1/posts/{pid}", None),
        ("GET", f"/api/v1/posts/{pid}/comments", None),
        ("POST", f"/api/v1/posts/{pid}/comments", {"body": "outside"}),
        ("GET", f"/api/v1/posts/{pid}/reactions", None),
        ("PUT", f"/api/v1/posts/{pid}/reaction", {"kind": "like"}),
        ("PATCH", f"/api/v1/comments/{comment_id}", {"body": "outside"}),
        ("DELETE", f"/api/v1/comments/{comment_id}", None),
        ("GET", f"/api/v1/timeline?scope=group&key={people.group_id}", None),
        ("GET", "/api/v1/posts/987654", None),
    ]
    for outsider in (people.carl, people.customer):
        for method, path, body in calls:
            answer = await outsider.api(method, path, body)
            assert is_not_found(answer), (outsider.user.name, method, path, answer.status_code)
        hashtag = await outsider.api(
            "GET", "/api/v1/timeline?scope=person&key=" + str(people.ann.user.id)
        )
        assert pid not in [p["id"] for p in hashtag.json()["items"]]
    still = (await people.ann.api("GET", f"/api/v1/posts/{pid}/comments")).json()["items"]
    assert [c["body"] for c in still] == ["inside"]
