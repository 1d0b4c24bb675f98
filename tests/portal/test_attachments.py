"""Attachments over HTTP: uploading (htmx fragment, JSON), the limits' messages, removing a
pending upload, and downloading — only for those who may see the post, as a download unless it
is a raster image, with headers that keep a file from ever running in our origin."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import httpx

from domain.db import Database
from domain.people.models import User, UserKind
from domain.posts.attachments import MAX_BYTES, MAX_PER_POST
from domain.posts.models import Post
from tests.conftest import UserFactory, csrf_from, login
from tests.domain.post_rows import PDF, make_post, png, principal_of, private_group

ClientFactory = Callable[[], httpx.AsyncClient]
XSS_NAME = "<img src=x onerror=alert(1)>.html"


async def signed_in(make_client: ClientFactory, user: User) -> tuple[httpx.AsyncClient, str]:
    client = make_client()
    assert (await login(client, user.email)).status_code == 303
    return client, await csrf_from(client, "/profile")


async def upload(
    client: httpx.AsyncClient,
    token: str,
    *files: tuple[str, bytes],
    htmx: bool = False,
    json: bool = False,
    data: dict[str, Any] | None = None,
) -> httpx.Response:
    headers = {"X-CSRF-Token": token}
    if htmx:
        headers["HX-Request"] = "true"
    if json:
        headers["Accept"] = "application/json"
    return await client.post(
        "/attachments",
        files=[("file", (name, content, "application/octet-stream")) for name, content in files],
        data=data or {},
        headers=headers,
    )


async def attach(db: Database, user: User, post_id: int, ids: list[int]) -> None:
    from domain.posts.attachments import do_attach

    principal = await principal_of(db, user)
    async with db.transaction() as session:
        post = await session.get(Post, post_id)
        assert post is not None
        await do_attach(session, principal, post, ids)


def main_of(response: httpx.Response) -> str:
    match = re.search(r"<main[^>]*>(.*)</main>", response.text, re.S)
    assert match, response.text
    return match.group(1)


def error_message(response: httpx.Response) -> str:
    return str(response.json()["error"]["message"])


# -- uploading ------------------------------------------------------------------------------------


async def test_an_htmx_upload_answers_the_composer_item(db, make_user, make_client) -> None:
    client, token = await signed_in(make_client, await make_user())
    response = await upload(client, token, ("chart.png", png(40, 30)), htmx=True)
    assert response.status_code == 201
    match = re.search(r'<input type="hidden" name="attachment_ids" value="(\d+)">', response.text)
    assert match, response.text
    assert "chart.png" in response.text
    assert 'width="40" height="30"' in response.text  # the preview keeps the image's shape
    # The uploader may fetch it at once; the preview's URL works.
    src = re.search(r'<img src="([^"]+)"', response.text)
    assert src
    image = await client.get(html.unescape(src.group(1)))
    assert image.status_code == 200 and image.content == png(40, 30)


async def test_a_json_upload_answers_the_items(db, make_user, make_client) -> None:
    client, token = await signed_in(make_client, await make_user())
    response = await upload(client, token, ("a.png", png(2, 3)), ("b.pdf", PDF), json=True)
    assert response.status_code == 201
    items = response.json()["items"]
    assert [(i["filename"], i["content_type"], i["is_image"]) for i in items] == [
        ("a.png", "image/png", True),
        ("b.pdf", "application/pdf", False),
    ]
    assert (items[0]["width"], items[0]["height"], items[1]["size"]) == (2, 3, len(PDF))
    assert (await client.get(items[1]["url"])).content == PDF


async def test_limits_answer_clear_4xx_messages(db, make_user, make_client) -> None:
    client, token = await signed_in(make_client, await make_user())
    wrong = await upload(client, token, ("tool.exe", b"MZ\x90\x00\x03"), json=True)
    assert wrong.status_code == 415
    assert "cannot be attached" in error_message(wrong)
    page = await upload(client, token, ("page.html", b"<html><p>hi</p></html>"), json=True)
    assert page.status_code == 415 and "HTML" in error_message(page)
    empty = await upload(client, token, ("empty.txt", b""), json=True)
    assert empty.status_code == 422 and "empty" in error_message(empty)
    big = await upload(client, token, ("big.pdf", PDF + b" " * MAX_BYTES), json=True)
    assert big.status_code == 413 and "too large" in error_message(big)
    held = {"attachment_ids": [str(i) for i in range(1, MAX_PER_POST)]}
    many = await upload(client, token, ("a.txt", b"a\n"), ("b.txt", b"b\n"), json=True, data=held)
    assert many.status_code == 422 and "at most 10" in error_message(many)
    nothing = await upload(client, token, json=True)
    assert nothing.status_code == 400 and error_message(nothing)
    # In a browser the same refusals come as a message the composer shows (htmx swaps 422).
    shown = await upload(client, token, ("tool.exe", b"MZ\x90\x00\x03"), htmx=True)
    assert shown.status_code == 422
    assert 'role="alert"' in shown.text and "cannot be attached" in shown.text
    # And a plain form gets the error page.
    plain = await upload(client, token, ("tool.exe", b"MZ\x90\x00\x03"))
    assert plain.status_code == 415 and "cannot be attached" in plain.text


async def test_a_file_of_exactly_the_largest_size_is_taken(db, make_user, make_client) -> None:
    client, token = await signed_in(make_client, await make_user())
    notes = b"meeting notes\n" * (MAX_BYTES // 14) + b"x" * (MAX_BYTES % 14)
    assert len(notes) == MAX_BYTES
    taken = await upload(client, token, ("notes.txt", notes), json=True)
    assert taken.status_code in (200, 201), taken.text


async def test_an_upload_needs_the_csrf_token_and_a_sign_in(db, make_user, make_client) -> None:
    client, _token = await signed_in(make_client, await make_user())
    refused = await client.post("/attachments", files={"file": ("a.txt", b"hi\n")})
    assert refused.status_code == 403
    anonymous = make_client()
    token = await csrf_from(anonymous, "/login")
    response = await upload(anonymous, token, ("a.txt", b"hi\n"))
    assert response.status_code == 303 and "/login" in response.headers["location"]


async def test_removing_a_pending_upload(db, make_user, make_client) -> None:
    me, other = await make_user(), await make_user()
    client, token = await signed_in(make_client, me)
    other_client, other_token = await signed_in(make_client, other)
    item = (await upload(client, token, ("a.txt", b"draft\n"), json=True)).json()["items"][0]
    stranger = await other_client.post(
        f"/attachments/{item['id']}/remove", headers={"X-CSRF-Token": other_token}
    )
    assert stranger.status_code == 404
    removed = await client.post(
        f"/attachments/{item['id']}/remove", headers={"X-CSRF-Token": token, "HX-Request": "true"}
    )
    assert removed.status_code == 200 and removed.text == ""
    assert (await client.get(item["url"])).status_code == 404


# -- downloading ----------------------------------------------------------------------------------


async def posted_file(
    db: Database,
    client: httpx.AsyncClient,
    token: str,
    author: User,
    name: str,
    content: bytes,
    **kw,
) -> dict[str, Any]:
    item: dict[str, Any] = (await upload(client, token, (name, content), json=True)).json()[
        "items"
    ][0]
    post_id = await make_post(db, author, **kw)
    await attach(db, author, post_id, [item["id"]])
    return item


async def test_a_private_groups_file_is_404_to_a_non_member_and_a_customer(
    db, make_user: UserFactory, make_client
) -> None:
    owner, member, outsider = await make_user(), await make_user(), await make_user()
    customer = await make_user(kind=UserKind.CUSTOMER)
    group_id = await private_group(db, owner, member)
    client, token = await signed_in(make_client, owner)
    item = await posted_file(db, client, token, owner, "plan.pdf", PDF, group_id=group_id)
    member_client, _ = await signed_in(make_client, member)
    assert (await member_client.get(item["url"])).content == PDF

    missing_url = item["url"].replace(f"/{item['id']}/", "/999999/")
    for user in (outsider, customer):
        other, _ = await signed_in(make_client, user)
        hidden = await other.get(item["url"])
        missing = await other.get(missing_url)
        assert hidden.status_code == missing.status_code == 404
        assert main_of(hidden) == main_of(missing)
        assert PDF not in hidden.content
        as_json = await other.get(item["url"], headers={"Accept": "application/json"})
        assert as_json.status_code == 404
    # Nobody signed in is sent to sign in, whatever the id.
    anonymous = make_client()
    response = await anonymous.get(item["url"])
    assert response.status_code == 303 and "/login" in response.headers["location"]


async def test_someone_elses_pending_upload_is_404(db, make_user, make_client) -> None:
    client, token = await signed_in(make_client, await make_user())
    item = (await upload(client, token, ("a.txt", b"draft\n"), json=True)).json()["items"][0]
    colleague, _ = await signed_in(make_client, await make_user())
    assert (await colleague.get(item["url"])).status_code == 404


async def test_file_headers(db, make_user, make_client) -> None:
    author = await make_user()
    client, token = await signed_in(make_client, author)
    image = await posted_file(db, client, token, author, "photo.png", png())
    document = await posted_file(db, client, token, author, "Offerte Müller.pdf", PDF)

    shown = await client.get(image["url"])
    assert shown.headers["content-type"] == "image/png"
    assert shown.headers["content-disposition"].startswith("inline;")
    saved = await client.get(document["url"])
    assert saved.headers["content-type"] == "application/pdf"
    assert saved.headers["content-disposition"] == (
        "attachment; filename=\"Offerte M_ller.pdf\"; filename*=UTF-8''Offerte%20M%C3%BCller.pdf"
    )
    for response in (shown, saved):
        assert response.status_code == 200
        assert response.headers["x-content-type-options"] == "nosniff"
        policies = response.headers.get_list("content-security-policy")
        assert any(p.startswith("sandbox") for p in policies), policies
        assert any("frame-ancestors 'none'" in p for p in policies)
        assert response.headers["cache-control"] == "private, no-cache"
        etag = response.headers["etag"]
        again = await client.get(response.url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""


async def test_a_hostile_file_name_is_a_download_and_escaped_everywhere(
    db, make_user, make_client
) -> None:
    author = await make_user()
    client, token = await signed_in(make_client, author)
    fragment = await upload(client, token, (XSS_NAME, b"just text\n"), htmx=True)
    assert fragment.status_code == 201
    assert "<img src=x" not in fragment.text
    assert html.escape(XSS_NAME, quote=False) in fragment.text

    item = await posted_file(db, client, token, author, XSS_NAME, b"just text\n")
    assert item["filename"] == XSS_NAME and item["content_type"] == "text/plain"
    response = await client.get(item["url"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert disposition.count('"') == 2  # the name cannot break out of its quotes
    assert "filename*=UTF-8''%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.html" in disposition
    assert response.content == b"just text\n"


async def test_posted_through_the_composer_and_shown_on_the_post_page(
    db, make_user, make_client
) -> None:
    """The whole path: upload, post with the ids the fragment handed out, read the post."""
    author, reader = await make_user(), await make_user()
    client, token = await signed_in(make_client, author)
    composer = await client.get("/posts/new")
    assert 'id="composer-uploads"' in composer.text
    assert re.search(
        r'<input id="composer-files" type="file" name="file"[^>]* hx-post="[^"]*/attachments"',
        composer.text,
    )
    ids = []
    for name, content in (("photo.png", png(800, 400)), (XSS_NAME, b"just text\n")):
        fragment = await upload(client, token, (name, content), htmx=True)
        match = re.search(r'name="attachment_ids" value="(\d+)"', fragment.text)
        assert match, fragment.text
        ids.append(match.group(1))
    created = await client.post(
        "/posts",
        data={"body": "Files!", "csrf_token": token, "attachment_ids": ids},
        headers={"Accept": "application/json"},
    )
    assert created.status_code in (201, 303), created.text
    async with db.session() as session:
        from sqlalchemy import select

        post_id = await session.scalar(select(Post.id).where(Post.body == "Files!"))
    reader_client, _ = await signed_in(make_client, reader)
    page = await reader_client.get(f"/posts/{post_id}")
    assert page.status_code == 200
    assert "<img src=x" not in page.text
    assert html.escape(XSS_NAME, quote=False) in page.text
    assert re.search(
        r'<img src="[^"]*/attachments/\d+/photo.png" alt="photo.png" width="600" '
        r'height="300"',
        page.text,
    )
    link = re.search(r'<a href="([^"]*/attachments/\d+/[^"]+)" download>', page.text)
    assert link, page.text
    download = await reader_client.get(html.unescape(link.group(1)))
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment;")
