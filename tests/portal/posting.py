"""Helpers for the post and timeline HTTP tests (test_posts, test_timeline_pages,
test_api_posts, test_record_walls): people signed in as browsers with their CSRF token, groups,
posts made through the domain, and reading a page's regions."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from domain.access import Principal, load_principal
from domain.db import Database
from domain.groups.actions import do_create_group, do_share_group
from domain.groups.membership import do_add_member
from domain.people.models import User, UserKind
from domain.posts.actions import PostInput, do_create_post
from domain.records.audience import rebuild_all
from domain.records.models import Account, AccountType, Contact
from tests.conftest import UserFactory, csrf_from, login

ClientFactory = Callable[[], httpx.AsyncClient]
HTMX = {"HX-Request": "true"}
NOT_FOUND = "This page does not exist, or you do not have access to it."


@dataclass
class Browser:
    """A signed-in browser: its client, CSRF token and user."""

    client: httpx.AsyncClient
    token: str
    user: User

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(path, **kwargs)

    async def post(
        self, path: str, data: dict[str, Any] | None = None, *, htmx: bool = False, **kwargs: Any
    ) -> httpx.Response:
        form = {"csrf_token": self.token, **(data or {})}
        headers = {**HTMX} if htmx else {}
        return await self.client.post(path, data=form, headers=headers, **kwargs)

    async def api(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return await self.client.request(
            method, path, json=body, headers={"X-CSRF-Token": self.token}
        )


async def browser(make_client: ClientFactory, user: User, password: str | None = None) -> Browser:
    client = make_client()
    if password is None:
        response = await login(client, user.email)
    else:
        response = await login(client, user.email, password)
    assert response.status_code == 303, response.text[:300]
    return Browser(client, await csrf_from(client, "/profile"), user)


async def principal_of(db: Database, user: User) -> Principal:
    async with db.session() as session:
        fresh = await session.get(User, user.id)
        assert fresh is not None
        return await load_principal(session, fresh)


async def make_group(
    db: Database, owner: User, *members: User, visibility: str = "private", name: str = ""
) -> int:
    owner_principal = await principal_of(db, owner)
    async with db.transaction() as session:
        group = await do_create_group(
            session, owner_principal, name=name or f"Group of {owner.name}", visibility=visibility
        )
        for member in members:
            await do_add_member(session, owner_principal, group.id, member.id)
        return group.id


async def share_group(db: Database, owner: User, group_id: int, account_id: int) -> None:
    owner_principal = await principal_of(db, owner)
    async with db.transaction() as session:
        await do_share_group(session, owner_principal, group_id, account_id)


async def make_post(db: Database, author: User, body: str, **fields: Any) -> int:
    principal = await principal_of(db, author)
    async with db.transaction() as session:
        post = await do_create_post(session, principal, PostInput(body=body, **fields))
        return post.id


async def make_account(db: Database, name: str) -> int:
    async with db.transaction() as session:
        account = Account(code=name[:20], name=name, type=AccountType.CUSTOMER)
        session.add(account)
        await session.flush()
        await rebuild_all(session)
        return account.id


async def make_external(
    db: Database, make_user: UserFactory, account_name: str
) -> tuple[User, int]:
    """A customer contact who signs in, with their own account."""
    user = await make_user(kind=UserKind.CUSTOMER, name=f"{account_name} Contact")
    async with db.transaction() as session:
        account = Account(code=account_name[:20], name=account_name, type=AccountType.CUSTOMER)
        session.add(account)
        await session.flush()
        session.add(Contact(account_id=account.id, user_id=user.id, name=user.name))
        await session.flush()
        await rebuild_all(session)
        return user, account.id


def text_of(response: httpx.Response) -> str:
    return html.unescape(response.text)


def post_ids_in(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<article class="post[^"]*" id="post-(\d+)"', page)]


def is_not_found(response: httpx.Response) -> bool:
    if response.status_code != 404:
        return False
    if response.headers.get("content-type", "").startswith("application/json"):
        return bool(response.json()["error"]["status"] == 404)
    return NOT_FOUND in response.text
