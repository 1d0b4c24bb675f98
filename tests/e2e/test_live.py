"""Live updates in a real browser: two colleagues side by side.

Daan (employee) writes; Anna (admin) watches. A new post shows as a "1 new post" bar on her
timeline and appears when she clicks it; on the post's page a comment and a reaction count appear
without reload. Then her socket is cut (``window.atrium.live.pause()``, the debugging hook of
static/js/live.js), Daan makes 50 posts, the socket comes back, and all 50 appear once, in order.
Live frames re-render whole regions, yet what the reader opened (a share form, the comments) and
typed (a comment not sent yet) stays, with the focus.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import Page, expect

from domain.demo.logins import ADMIN, EMPLOYEE
from tests.e2e.conftest import OpenTab, Tab
from tests.e2e.test_sign_in import sign_in

pytestmark = pytest.mark.e2e


async def signed_in(open_tab: OpenTab, email: str) -> Tab:
    tab = await open_tab()
    await tab.page.goto("/login")
    await sign_in(tab.page, email)
    await expect(tab.page.locator("details.profile-menu")).to_be_visible()
    return tab


async def api(page: Page, method: str, path: str, data: dict[str, Any]) -> dict[str, Any]:
    """A JSON API call from the page's own context (its cookie and CSRF token)."""
    token = await page.locator('meta[name="csrf-token"]').get_attribute("content")
    response = await page.request.fetch(
        path, method=method, data=data, headers={"X-CSRF-Token": token or ""}
    )
    assert response.ok, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def live(page: Page) -> None:
    await expect(page.locator(".live-status")).to_have_attribute("data-state", "live")


async def test_post_comment_and_reaction_appear_without_reload(open_tab: OpenTab) -> None:
    writer = await signed_in(open_tab, EMPLOYEE.email)
    reader = await signed_in(open_tab, ADMIN.email)
    await reader.page.goto("/")
    await live(reader.page)
    marker = await reader.page.evaluate("performance.getEntriesByType('navigation').length")

    post = await api(writer.page, "POST", "/api/v1/posts", {"body": "Live from the browser test"})
    bar = reader.page.locator(".live-new-posts")
    await expect(bar).to_have_text("1 new post")
    await bar.click()
    article = reader.page.locator(f"#post-{post['id']}")
    await expect(article).to_contain_text("Live from the browser test")
    await expect(bar).to_have_count(0)
    # On the timeline its comments are collapsed: only the link that opens them counts up.
    await api(writer.page, "POST", f"/api/v1/posts/{post['id']}/comments", {"body": "Early!"})
    await expect(article.locator(".comments-link")).to_have_text("1 comment")

    await reader.page.goto(f"/posts/{post['id']}")
    await live(reader.page)
    await api(writer.page, "POST", f"/api/v1/posts/{post['id']}/comments", {"body": "First!"})
    await expect(reader.page.locator(f"#comments-{post['id']}")).to_contain_text("First!")
    await api(writer.page, "PUT", f"/api/v1/posts/{post['id']}/reaction", {"kind": "celebrate"})
    reactions = reader.page.locator(f"#reactions-{post['id']}")
    await expect(reactions.locator(".reaction-count")).to_have_text("1")
    # Forms that arrived live carry the reader's own CSRF token, filled in by live.js.
    token = await reader.page.locator('meta[name="csrf-token"]').get_attribute("content")
    field = reactions.locator('input[name="csrf_token"]').first
    await expect(field).to_have_value(token or "")
    # Same page all along: nothing was reloaded.
    assert await reader.page.evaluate("performance.getEntriesByType('navigation').length") == marker
    reader.assert_clean()
    writer.assert_clean()


async def test_fifty_posts_made_while_cut_off_appear_once_in_order(open_tab: OpenTab) -> None:
    writer = await signed_in(open_tab, EMPLOYEE.email)
    reader = await signed_in(open_tab, ADMIN.email)
    page = reader.page
    await page.goto("/")
    await live(page)
    await page.evaluate("window.atrium.live.pause()")
    await expect(page.locator(".live-status")).to_have_attribute("data-state", "reconnecting")

    made = [
        (await api(writer.page, "POST", "/api/v1/posts", {"body": f"Offline post {n}"}))["id"]
        for n in range(50)
    ]
    await page.evaluate("window.atrium.live.resume()")
    await live(page)
    bar = page.locator(".live-new-posts")
    await expect(bar).to_have_text("50 new posts")
    await bar.click()
    shown = await page.locator(".timeline-list article.post").evaluate_all(
        "nodes => nodes.map(n => n.id)"
    )
    newest_first = [f"post-{i}" for i in reversed(made)]
    assert shown[:50] == newest_first, "all 50, newest first, in order"
    assert len(set(shown)) == len(shown), "none twice"
    texts = await page.locator(".timeline-list article.post .post-body").all_inner_texts()
    assert [int(re.sub(r"\D", "", t)) for t in texts[:50]] == list(range(49, -1, -1))
    reader.assert_clean()


async def test_what_the_reader_opened_or_typed_survives_live_updates(open_tab: OpenTab) -> None:
    writer = await signed_in(open_tab, EMPLOYEE.email)
    reader = await signed_in(open_tab, ADMIN.email)
    post = await api(writer.page, "POST", "/api/v1/posts", {"body": "Before the edit"})
    page = reader.page
    await page.goto(f"/posts/{post['id']}")
    await live(page)
    article = page.locator(f"#post-{post['id']}")
    await article.get_by_role("link", name="Share").click()
    share_form = page.locator(f"#share-{post['id']} form.share-form")
    await expect(share_form).to_be_visible()
    draft = page.locator(f"#comment-body-{post['id']}-new")
    await draft.fill("Half a thought")

    # The author edits the post: its whole region is re-rendered live, without comments and
    # without a share form; what the reader had open and typed stays.
    token = await writer.page.locator('meta[name="csrf-token"]').get_attribute("content")
    edited = await writer.page.request.post(
        f"/posts/{post['id']}/edit", form={"csrf_token": token or "", "body": "After the edit"}
    )
    assert edited.ok, await edited.text()
    await expect(article.locator(".post-body")).to_have_text("After the edit")
    await expect(share_form).to_be_visible()
    await expect(draft).to_have_value("Half a thought")
    await expect(draft).to_be_focused()

    # A colleague's comment re-renders the comments region: the draft is still there.
    await api(writer.page, "POST", f"/api/v1/posts/{post['id']}/comments", {"body": "Me first"})
    await expect(page.locator(f"#comments-{post['id']}")).to_contain_text("Me first")
    await expect(draft).to_have_value("Half a thought")
    reader.assert_clean()
    writer.assert_clean()
