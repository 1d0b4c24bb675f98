"""The social core in a real browser: the demo employee posts with a mention and a linked
customer, the admin comments and reacts, and the customer account's card shows the post on its
wall — while the customer, signed in to the portal, never sees the staff conversation.

Each run writes a text of its own (a random marker), so reruns on the shared server do not
confuse one run's post with another's.
"""

from __future__ import annotations

import secrets

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from domain.db import Database
from domain.demo.logins import ADMIN, CUSTOMER, EMPLOYEE
from domain.people.models import User
from domain.records.relations import Contact
from tests.e2e.conftest import OpenTab
from tests.e2e.test_sign_in import sign_in
from tests.server import Server

pytestmark = pytest.mark.e2e


async def customer_account_id(server: Server) -> int:
    """The demo customer's account, read from the server's database (a person would pick it)."""
    data_dir = server.log_path.parent
    db = Database(f"sqlite+aiosqlite:///{data_dir / 'atrium.sqlite3'}")
    try:
        async with db.session() as session:
            account_id = await session.scalar(
                select(Contact.account_id)
                .join(User, User.id == Contact.user_id)
                .where(User.email == CUSTOMER.email)
            )
    finally:
        await db.dispose()
    assert account_id is not None
    return account_id


async def test_post_with_mention_and_customer_then_comment_and_react(
    open_tab: OpenTab, e2e_server: Server, account_names: dict[str, str]
) -> None:
    marker = f"e2e{secrets.token_hex(4)}"
    account_id = await customer_account_id(e2e_server)
    customer_name = account_names[CUSTOMER.email]
    handle = ADMIN.email.split("@")[0]

    # The employee writes on their timeline, mentioning the admin and linking the customer.
    author = await open_tab()
    await author.page.goto("/")
    await sign_in(author.page, EMPLOYEE.email)
    await author.page.get_by_label("Write a post").fill(
        f"Order confirmed with the customer, thanks @{handle}! #{marker}"
    )
    await author.page.locator("#composer-records").fill(f"account:{account_id}")
    await author.page.get_by_role("button", name="Post", exact=True).click()

    post = author.page.locator("article.post", has_text=marker).first
    await expect(post).to_be_visible()
    mention = post.locator("a.mention")
    await expect(mention).to_have_text(f"@{ADMIN.name}")
    await expect(post.locator(".post-records")).to_contain_text(customer_name)
    await expect(post.locator("a.hashtag")).to_have_text(f"#{marker}")
    post_id = (await post.get_attribute("id") or "").removeprefix("post-")
    assert post_id.isdigit()

    # The admin finds it on their own timeline (they were mentioned), comments and reacts.
    reader = await open_tab()
    await reader.page.goto("/")
    await sign_in(reader.page, ADMIN.email)
    seen = reader.page.locator(f"#post-{post_id}")
    await expect(seen).to_contain_text(marker)
    await seen.locator("a.comments-link").click()
    comments = reader.page.locator(f"#comments-{post_id}")
    await comments.get_by_label("Write a comment").fill(f"Great news — {marker}")
    await comments.get_by_role("button", name="Comment").first.click()
    await expect(comments).to_contain_text(f"Great news — {marker}")
    reactions = reader.page.locator(f"#reactions-{post_id}")
    like = reactions.get_by_role("button", name="Like")
    await like.click()
    await expect(reactions.get_by_role("button", name="Like")).to_have_attribute(
        "aria-pressed", "true"
    )
    await expect(reactions.locator(".reaction-count").first).to_have_text("1")
    # "Share" opens its form under the post, and "Cancel" closes it, without leaving the page.
    await seen.get_by_role("link", name="Share").click()
    share = seen.locator(f"#share-{post_id} form.share-form")
    await expect(share).to_be_visible()
    await share.get_by_role("link", name="Cancel").click()
    await expect(share).to_have_count(0)
    assert reader.page.url.endswith("/")

    # The author sees both on the post's page.
    await author.page.goto(f"/posts/{post_id}")
    await expect(author.page.locator(f"#comments-{post_id}")).to_contain_text(
        f"Great news — {marker}"
    )
    await expect(author.page.locator(f"#reactions-{post_id} .reaction-count").first).to_have_text(
        "1"
    )

    # The customer account's card shows the post on its wall.
    await author.page.goto(f"/records/accounts/{account_id}")
    wall = author.page.locator("#wall")
    await expect(wall.locator(f"#post-{post_id}")).to_contain_text(marker)

    # The customer, signed in to the portal, sees their card without the staff conversation.
    customer = await open_tab()
    await customer.page.goto("/")
    await sign_in(customer.page, CUSTOMER.email)
    await customer.page.goto(f"/records/accounts/{account_id}")
    await expect(customer.page.get_by_role("heading", level=1)).to_contain_text(customer_name)
    await expect(customer.page.locator("body")).not_to_contain_text(marker)
    for tab in (author, reader, customer):
        tab.assert_clean()
    # Nor by the post's own address: the same 404 as for a post that does not exist.
    response = await customer.page.goto(f"/posts/{post_id}")
    assert response is not None and response.status == 404
