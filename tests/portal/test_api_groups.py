"""The groups JSON API: creating a group (201 with its id), the keyset list, one group, joining
and leaving — with the pages' rules (hidden groups 404 to non-members, customers see only the
groups shared with their account that they belong to, mandatory groups cannot be left) and JSON
error bodies for every 4xx. Session-cookie calls send ``X-CSRF-Token``, as the pages' scripts do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from domain.access import load_principal
from domain.db import Database
from domain.groups import actions, mandatory, membership
from domain.groups.mandatory import MandatoryRule
from domain.people.models import Role, User, UserKind
from domain.records.models import Account, AccountType, Contact
from tests.conftest import csrf_from, login

ClientFactory = Callable[[], httpx.AsyncClient]


class Api:
    """A signed-in program: the session cookie plus the CSRF header on every write."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client, self.token = client, token

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(path, **kwargs)

    async def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        headers = {"X-CSRF-Token": self.token, **kwargs.pop("headers", {})}
        if body is None and "content" not in kwargs:
            kwargs["json"] = {}
        elif body is not None:
            kwargs["json"] = body
        return await self.client.post(path, headers=headers, **kwargs)


async def api_for(make_client: ClientFactory, user: User) -> Api:
    client = make_client()
    assert (await login(client, user.email)).status_code == 303
    return Api(client, await csrf_from(client, "/profile"))


async def as_user(db: Database, user: User, action: Callable[..., Any], *args: Any) -> Any:
    async with db.transaction() as session:
        fresh = await session.get(User, user.id)
        assert fresh is not None
        return await action(session, await load_principal(session, fresh), *args)


async def make_group(db: Database, owner: User, name: str, visibility: str = "public") -> int:
    async def do(session: Any, principal: Any) -> int:
        group = await actions.do_create_group(session, principal, name=name, visibility=visibility)
        return group.id

    result: int = await as_user(db, owner, do)
    return result


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/json"), response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["status"] == response.status_code and error["message"].strip()
    return error


async def test_create_a_group(db, make_user, make_client):
    api = await api_for(make_client, await make_user())
    created = await api.post(
        "/api/v1/groups",
        {"name": " Book  club ", "visibility": "private", "description": "We read *slowly*"},
    )
    assert created.status_code == 201
    body = created.json()
    assert isinstance(body["id"], int)
    assert created.headers["location"] == f"/api/v1/groups/{body['id']}"
    assert body["name"] == "Book club" and body["visibility"] == "private"
    assert body["description_html"] == "<p>We read <em>slowly</em></p>\n"
    assert body["membership"] == {"state": "active", "role": "owner"}
    assert not body["archived"] and not body["mandatory"]

    detail = await api.get(f"/api/v1/groups/{body['id']}")
    assert detail.status_code == 200
    assert detail.json() == {**body, "member_count": 1}
    minimal = await api.post("/api/v1/groups", {"name": "Chess", "visibility": "hidden"})
    assert minimal.status_code == 201 and minimal.json()["description"] == ""


async def test_bad_bodies_are_refused_with_json_errors(db, make_user, make_client):
    api = await api_for(make_client, await make_user())
    cases: list[tuple[dict[str, Any], int, set[str]]] = [
        ({"content": b"not json"}, 400, set()),
        ({"content": b"[1, 2]"}, 400, set()),
        ({"content": b'"text"'}, 400, set()),
        ({"content": b"\xff\xfe"}, 400, set()),
        ({"json": {}}, 422, {"name", "visibility"}),
        ({"json": {"name": 7, "visibility": "public"}}, 422, {"name"}),
        ({"json": {"name": "X", "visibility": "secret"}}, 422, {"visibility"}),
        ({"json": {"name": "", "visibility": "public"}}, 422, {"name"}),
        ({"json": {"name": "x" * 121, "visibility": "public"}}, 422, {"name"}),
        (
            {"json": {"name": "X", "visibility": "public", "description": ["a"]}},
            422,
            {"description"},
        ),
        (
            {"json": {"name": "X", "visibility": "public", "description": "d" * 5001}},
            422,
            {"description"},
        ),
    ]
    for kwargs, status, fields in cases:
        response = await api.client.post(
            "/api/v1/groups", headers={"X-CSRF-Token": api.token}, **kwargs
        )
        assert response.status_code == status, kwargs
        error = error_of(response)
        if fields:
            assert set(error["fields"]) == fields, kwargs
    huge = await api.client.post(
        "/api/v1/groups",
        headers={"X-CSRF-Token": api.token},
        content=b'{"name": "' + b"x" * 70_000 + b'"}',
    )
    assert huge.status_code == 413 and error_of(huge)
    listing = (await api.get("/api/v1/groups")).json()
    assert listing == {"items": [], "next": None}  # nothing was created


async def test_writes_need_the_csrf_header_and_a_signed_in_staff_user(db, make_user, make_client):
    staff = await make_user()
    api = await api_for(make_client, staff)
    no_header = await api.client.post("/api/v1/groups", json={"name": "X", "visibility": "public"})
    assert no_header.status_code == 403 and error_of(no_header)
    anonymous = make_client()
    assert (await anonymous.get("/api/v1/groups")).status_code == 401
    assert error_of(await anonymous.get("/api/v1/groups/1"))["status"] == 401

    customer = await make_user(kind=UserKind.CUSTOMER)
    external = await api_for(make_client, customer)
    refused = await external.post("/api/v1/groups", {"name": "Ours", "visibility": "public"})
    assert refused.status_code == 403
    assert error_of(refused)["message"] == "Only employees may create groups."


async def test_the_list_is_keyset_paged_and_filtered(db, make_user, make_client):
    owner, staff = await make_user(), await make_user()
    for name in ("delta", "alpha", "echo", "charlie", "bravo"):
        await make_group(db, owner, name)
    hidden = await make_group(db, owner, "foxtrot", "hidden")
    joined = await make_group(db, owner, "golf")
    await as_user(db, staff, membership.do_join_group, joined)
    api = await api_for(make_client, staff)

    seen: list[str] = []
    url = "/api/v1/groups?limit=2"
    while True:
        page = await api.get(url)
        assert page.status_code == 200
        body = page.json()
        assert set(body) == {"items", "next"} and len(body["items"]) <= 2
        seen += [item["name"] for item in body["items"]]
        if body["next"] is None:
            break
        url = f"/api/v1/groups?limit=2&cursor={body['next']}"
    assert seen == ["alpha", "bravo", "charlie", "delta", "echo", "golf"]  # not the hidden one

    mine = (await api.get("/api/v1/groups?mine=true")).json()["items"]
    assert [(g["name"], g["membership"]) for g in mine] == [
        ("golf", {"state": "active", "role": "member"})
    ]
    assert [g["name"] for g in (await api.get("/api/v1/groups?q=CHAR")).json()["items"]] == [
        "charlie"
    ]
    for query, field in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("mine=maybe", "mine"),
        ("cursor=garbage", "cursor"),
    ]:
        response = await api.get(f"/api/v1/groups?{query}")
        assert response.status_code == 400, query
        assert set(error_of(response)["fields"]) == {field}, query

    missing = await api.get("/api/v1/groups/999999")
    secret = await api.get(f"/api/v1/groups/{hidden}")
    assert secret.status_code == missing.status_code == 404
    assert secret.json() == missing.json()
    for bad in ("/api/v1/groups/0", "/api/v1/groups/99999999999999999999"):
        assert (await api.get(bad)).status_code == 404, bad


async def test_customers_find_only_their_shared_groups(db, make_user, make_client):
    owner = await make_user()
    customer = await make_user(kind=UserKind.CUSTOMER, name="Cass")
    async with db.transaction() as session:
        account = Account(code="ACME", name="Acme", type=AccountType.CUSTOMER)
        session.add(account)
        await session.flush()
        session.add(Contact(account_id=account.id, user_id=customer.id, name="Cass"))
        account_id = account.id
    shared = await make_group(db, owner, "Acme room", "private")
    await make_group(db, owner, "Staff room")
    only_shared = await make_group(db, owner, "Shared, not joined")
    for group_id in (shared, only_shared):
        await as_user(db, owner, actions.do_share_group, group_id, account_id)
    await as_user(db, owner, membership.do_invite_member, shared, customer.id)
    api = await api_for(make_client, customer)

    listing = (await api.get("/api/v1/groups")).json()["items"]
    assert [(g["name"], g["membership"]["state"]) for g in listing] == [("Acme room", "invited")]
    accepted = await api.post(f"/api/v1/groups/{shared}/join")
    assert accepted.status_code == 200
    assert accepted.json() == {"group_id": shared, "state": "active", "role": "member"}
    assert (await api.get(f"/api/v1/groups/{only_shared}")).status_code == 404
    assert (await api.post(f"/api/v1/groups/{only_shared}/join")).status_code == 404


async def test_join_and_leave(db, make_user, make_client):
    owner, staff = await make_user(), await make_user()
    admin = await make_user(roles=frozenset({Role.ADMIN}))
    public = await make_group(db, owner, "Open")
    private = await make_group(db, owner, "Closed", "private")
    api = await api_for(make_client, staff)

    joined = await api.post(f"/api/v1/groups/{public}/join")
    assert joined.json() == {"group_id": public, "state": "active", "role": "member"}
    assert (await api.get(f"/api/v1/groups/{public}")).json()["member_count"] == 2
    asked = await api.post(f"/api/v1/groups/{private}/join")
    assert asked.json()["state"] == "requested"
    left = await api.post(f"/api/v1/groups/{public}/leave")
    assert left.status_code == 200 and left.json() == {"group_id": public, "state": None}
    again = await api.post(f"/api/v1/groups/{public}/leave")
    assert again.status_code == 404 and error_of(again)

    boss = await api_for(make_client, owner)
    last = await boss.post(f"/api/v1/groups/{public}/leave")
    assert last.status_code == 403
    assert error_of(last)["message"].startswith("A group needs at least one owner.")

    everyone = await make_group(db, admin, "Everyone")
    rules = [MandatoryRule(role="employee")]
    await as_user(db, admin, mandatory.do_set_mandatory_rules, everyone, rules)
    stuck = await api.post(f"/api/v1/groups/{everyone}/leave")
    assert stuck.status_code == 403
    assert error_of(stuck)["message"] == "Membership of this group is mandatory."

    await as_user(db, owner, actions.do_archive_group, private)
    archived = await api.post(f"/api/v1/groups/{private}/leave")
    assert archived.status_code == 403 and "archived" in error_of(archived)["message"]
    assert (await api.get(f"/api/v1/groups/{private}")).json()["archived"] is True
