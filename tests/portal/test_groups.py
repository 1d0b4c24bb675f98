"""Groups through the pages: the list (search, mine, pages), creating a group, a group's page with
its timeline, joining and leaving, members and their management, settings, sharing with
customers, mandatory rules and the archive — and who may see what: a hidden group is a 404 to
non-members, a private group's posts and members never reach a non-member, customers see only
the groups shared with their account that they belong to.

Each test runs on both backends. Groups and posts are made through the domain where the page
that makes them is not what the test is about.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import httpx

from domain.access import load_principal
from domain.db import Database
from domain.groups import actions, mandatory, membership
from domain.groups.mandatory import MandatoryRule
from domain.groups.models import GroupMembership, MembershipState
from domain.people.models import Role, User, UserKind
from domain.posts.actions import PostInput, do_create_post, do_pin_post
from domain.records.models import Account, AccountType, Contact
from tests.conftest import UserFactory, csrf_from, login

ClientFactory = Callable[[], httpx.AsyncClient]
ADMIN = frozenset({Role.ADMIN})
NAME_CELL = re.compile(r'<td data-label="Name" class="col-link"><a href="[^"]*">([^<]*)</a>')
MORE = re.compile(r'<a class="more" href="([^"]+)"')


def main_of(page: str) -> str:
    return page.split('<main id="main">', 1)[1].split("</main>", 1)[0]


def text_of(response: httpx.Response) -> str:
    return html.unescape(main_of(response.text))


def words_of(response: httpx.Response) -> str:
    """The main part's text as a reader sees it: no tags, single spaces."""
    return " ".join(re.sub(r"<[^>]+>", " ", text_of(response)).split())


def listed(page: str) -> list[str]:
    return [html.unescape(name) for name in NAME_CELL.findall(page)]


async def signed_in(make_client: ClientFactory, user: User) -> httpx.AsyncClient:
    client = make_client()
    assert (await login(client, user.email)).status_code == 303
    return client


async def post(client: httpx.AsyncClient, path: str, data: dict[str, Any]) -> httpx.Response:
    token = await csrf_from(client, "/profile")
    return await client.post(path, data={**data, "csrf_token": token})


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


async def post_in(db: Database, author: User, group_id: int, body: str) -> int:
    async def do(session: Any, principal: Any) -> int:
        created = await do_create_post(session, principal, PostInput(body=body, group_id=group_id))
        return created.id

    result: int = await as_user(db, author, do)
    return result


async def state_of(db: Database, group_id: int, user: User) -> MembershipState | None:
    async with db.session() as session:
        row = await session.get(GroupMembership, (group_id, user.id))
        return None if row is None else row.state


async def customer_of(db: Database, make_user: UserFactory, account: str) -> tuple[User, int]:
    user = await make_user(kind=UserKind.CUSTOMER, name=f"Cass of {account}")
    async with db.transaction() as session:
        row = Account(code=account[:20], name=account, type=AccountType.CUSTOMER)
        session.add(row)
        await session.flush()
        session.add(Contact(account_id=row.id, user_id=user.id, name=user.name))
        return user, row.id


# -- creating -----------------------------------------------------------------------------------


async def test_staff_create_a_group_and_own_it(db, make_user, make_client):
    anna = await make_user(name="Anna")
    client = await signed_in(make_client, anna)
    form = await client.get("/groups/new")
    assert form.status_code == 200 and 'name="visibility" value="hidden"' in form.text

    created = await post(
        client,
        "/groups",
        {"name": "  Cycling   club ", "description": "Rides on *Sundays*", "visibility": "private"},
    )
    assert created.status_code == 303
    page = await client.get(created.headers["location"])
    assert page.status_code == 200
    text = text_of(page)
    assert "Cycling club" in text and "Private" in text and "1 member" in text
    assert "<em>Sundays</em>" in page.text
    assert "The group has been created." in text
    assert "Leave group" in text  # the owner's own actions
    assert 'id="composer"' in page.text  # members of an open group post here
    assert "Settings" in text


async def test_bad_group_forms_answer_422_with_every_message(db, make_user, make_client):
    client = await signed_in(make_client, await make_user())
    response = await post(client, "/groups", {"name": " ", "visibility": "secret"})
    assert response.status_code == 422
    text = text_of(response)
    assert "The group was not created." in text
    assert "This field is required." in text and "This value is not allowed." in text
    too_long = await post(
        client, "/groups", {"name": "x" * 500, "description": "", "visibility": "public"}
    )
    assert too_long.status_code == 422 and "too long" in text_of(too_long)
    assert 'value="' + "x" * 400 in too_long.text  # what was typed comes back
    missing = await post(client, "/groups", {})
    assert missing.status_code == 422
    page = await client.get("/groups")
    assert "No groups match these filters." in text_of(page)


async def test_customers_create_no_groups(db, make_user, make_client):
    customer, _ = await customer_of(db, make_user, "Acme")
    client = await signed_in(make_client, customer)
    assert (await client.get("/groups/new")).status_code == 404
    refused = await post(client, "/groups", {"name": "Ours", "visibility": "public"})
    assert refused.status_code == 404
    assert "New group" not in text_of(await client.get("/groups"))


# -- the list -----------------------------------------------------------------------------------


async def test_the_list_searches_filters_and_comes_in_pages(db, make_user, make_client):
    owner, staff = await make_user(), await make_user()
    names = [f"Team {n:02d}" for n in range(55)]
    for name in names:
        await make_group(db, owner, name)
    mine = await make_group(db, owner, "Zebra crossing")
    await as_user(db, staff, membership.do_join_group, mine)
    await as_user(db, owner, actions.do_archive_group, mine)
    client = await signed_in(make_client, staff)

    first = await client.get("/groups")
    assert first.status_code == 200 and "HX-Request" in first.headers["vary"]
    assert listed(first.text) == names[:50]
    more = MORE.search(first.text)
    assert more is not None
    rest = await client.get(html.unescape(more.group(1)))
    assert listed(rest.text) == [*names[50:], "Zebra crossing"]
    assert "Archived" in text_of(rest) and "Back to the first page" in text_of(rest)
    fragment = await client.get(html.unescape(more.group(1)), headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and listed(fragment.text) == listed(rest.text)

    assert listed((await client.get("/groups?q=team 0")).text) == names[:10]
    assert listed((await client.get("/groups?q=ZEBRA")).text) == ["Zebra crossing"]
    assert listed((await client.get("/groups?show=mine")).text) == ["Zebra crossing"]
    for query, message in [
        ("show=everything", "This is not one of the allowed values."),
        ("cursor=garbage", "This page link is no longer valid."),
    ]:
        response = await client.get(f"/groups?{query}")
        assert response.status_code == 400 and message in text_of(response), query
    for query in ("q=%00%25_", "q=" + "y" * 6000, "show=&cursor="):
        assert (await client.get(f"/groups?{query}")).status_code == 200, query


async def test_groups_are_in_the_main_navigation(db, make_user, make_client):
    client = await signed_in(make_client, await make_user())
    page = await client.get("/profile")
    assert 'href="http://testserver/groups"' in page.text
    assert (
        'href="http://testserver/groups" aria-current="page"' in (await client.get("/groups")).text
    )


# -- who sees what ------------------------------------------------------------------------------


async def test_a_hidden_group_is_404_to_non_members(db, make_user, make_client):
    owner, member, staff = await make_user(), await make_user(), await make_user()
    group_id = await make_group(db, owner, "Secret council", "hidden")
    await as_user(db, owner, membership.do_add_member, group_id, member.id)
    outsider = await signed_in(make_client, staff)
    missing = await outsider.get("/groups/999999")
    for path in (
        f"/groups/{group_id}",
        f"/groups/{group_id}/members",
        f"/groups/{group_id}/settings",
    ):
        response = await outsider.get(path)
        assert response.status_code == 404, path
        assert text_of(response) == text_of(missing)
    for path in (f"/groups/{group_id}/join", f"/groups/{group_id}/leave"):
        assert (await post(outsider, path, {})).status_code == 404, path
    assert "Secret council" not in (await outsider.get("/groups?q=secret")).text

    insider = await signed_in(make_client, member)
    page = await insider.get(f"/groups/{group_id}")
    assert page.status_code == 200 and "Hidden" in text_of(page)
    assert listed((await insider.get("/groups")).text) == ["Secret council"]
    for bad in ("/groups/0", "/groups/99999999999999999999", "/groups/2147483648/members"):
        assert (await insider.get(bad)).status_code == 404, bad


async def test_a_private_groups_content_never_reaches_non_members(db, make_user, make_client):
    owner, staff = await make_user(name="Olga Owner"), await make_user(name="Sam Staff")
    group_id = await make_group(db, owner, "Board room", "private")
    await post_in(db, owner, group_id, "Quarterly numbers: confidential-7731")
    outsider = await signed_in(make_client, staff)

    page = await outsider.get(f"/groups/{group_id}")
    assert page.status_code == 200
    text = text_of(page)
    assert "Board room" in text and "Ask to join" in text
    assert "The posts of this group are for its members only." in text
    assert "confidential-7731" not in page.text and 'id="composer"' not in page.text
    assert "Olga Owner" not in page.text  # not even who is in it
    assert (await outsider.get(f"/groups/{group_id}/members")).status_code == 404
    timeline = await outsider.get(f"/timeline?scope=group&key={group_id}")
    assert timeline.status_code == 404 and "confidential-7731" not in timeline.text

    asked = await post(outsider, f"/groups/{group_id}/join", {})
    assert asked.status_code == 303
    pending = await outsider.get(asked.headers["location"])
    assert "Your request to join has been sent" in text_of(pending)
    assert "confidential-7731" not in pending.text and "Withdraw request" in text_of(pending)

    boss = await signed_in(make_client, owner)
    members = await boss.get(f"/groups/{group_id}/members")
    assert "Requests to join" in text_of(members) and "Sam Staff" in text_of(members)
    assert "1 request to join" in text_of(await boss.get(f"/groups/{group_id}"))
    approved = await post(boss, f"/groups/{group_id}/members/{staff.id}", {"action": "approve"})
    assert approved.status_code == 303
    assert "The request has been approved." in text_of(await boss.get(approved.headers["location"]))
    assert "confidential-7731" in (await outsider.get(f"/groups/{group_id}")).text

    latecomer = await make_user(name="Lee Late")
    await as_user(db, latecomer, membership.do_join_group, group_id)
    declined = await post(boss, f"/groups/{group_id}/members/{latecomer.id}", {"action": "decline"})
    assert declined.status_code == 303
    assert "The request has been declined." in text_of(await boss.get(declined.headers["location"]))
    assert await state_of(db, group_id, latecomer) is None


async def test_the_timeline_shows_pinned_posts_first(db, make_user, make_client):
    owner = await make_user()
    group_id = await make_group(db, owner, "News desk")
    pinned = await post_in(db, owner, group_id, "pinned-first-post")
    await post_in(db, owner, group_id, "newer-post")
    await as_user(db, owner, do_pin_post, pinned, True)
    page = (await (await signed_in(make_client, owner)).get(f"/groups/{group_id}")).text
    assert page.index("pinned-first-post") < page.index("newer-post")


# -- joining and leaving ------------------------------------------------------------------------


async def test_join_and_leave_a_public_group(db, make_user, make_client):
    owner, staff = await make_user(), await make_user()
    group_id = await make_group(db, owner, "Open")
    client = await signed_in(make_client, staff)
    assert "Join" in text_of(await client.get(f"/groups/{group_id}"))
    joined = await post(client, f"/groups/{group_id}/join", {})
    assert joined.status_code == 303 and joined.headers["location"].endswith("?done=joined")
    page = await client.get(joined.headers["location"])
    assert "You joined the group." in text_of(page) and "2 members" in text_of(page)
    assert await state_of(db, group_id, staff) is MembershipState.ACTIVE
    left = await post(client, f"/groups/{group_id}/leave", {})
    assert left.status_code == 303
    assert "You are no longer in this group." in text_of(await client.get(left.headers["location"]))
    assert await state_of(db, group_id, staff) is None
    again = await post(client, f"/groups/{group_id}/leave", {})
    assert again.status_code == 404  # not a member any more


async def test_the_last_owner_and_mandatory_members_are_told_why_they_stay(
    db, make_user, make_client
):
    owner = await make_user()
    admin = await make_user(roles=ADMIN)
    group_id = await make_group(db, owner, "Team")
    client = await signed_in(make_client, owner)
    refused = await post(client, f"/groups/{group_id}/leave", {})
    assert refused.status_code == 403
    assert "A group needs at least one owner." in text_of(refused)
    assert "Team" in text_of(refused)  # the group's page, with the reason on it

    everyone = await make_group(db, admin, "Everyone")
    rules = [MandatoryRule(role="employee")]
    await as_user(db, admin, mandatory.do_set_mandatory_rules, everyone, rules)
    page = await client.get(f"/groups/{everyone}")
    assert "Membership of this group is mandatory." in text_of(page)
    assert "Leave group" not in text_of(page)
    refused = await post(client, f"/groups/{everyone}/leave", {})
    assert refused.status_code == 403
    assert "Membership of this group is mandatory." in text_of(refused)
    assert await state_of(db, everyone, owner) is MembershipState.ACTIVE


async def test_invitations_are_accepted_or_declined_on_the_group_page(db, make_user, make_client):
    owner, guest, other = await make_user(), await make_user(), await make_user()
    group_id = await make_group(db, owner, "Inner circle", "hidden")
    boss = await signed_in(make_client, owner)
    found = await boss.get(f"/groups/{group_id}/members?q={guest.email}")
    assert guest.email in text_of(found)
    invited = await post(
        boss, f"/groups/{group_id}/members", {"action": "invite", "user_id": str(guest.id)}
    )
    assert invited.status_code == 303
    assert "The invitation has been sent." in text_of(await boss.get(invited.headers["location"]))
    await as_user(db, owner, membership.do_invite_member, group_id, other.id)

    client = await signed_in(make_client, guest)
    page = await client.get(f"/groups/{group_id}")
    assert page.status_code == 200 and "You are invited to this group." in text_of(page)
    accepted = await post(client, f"/groups/{group_id}/join", {})
    assert accepted.headers["location"].endswith("?done=accepted")
    assert await state_of(db, group_id, guest) is MembershipState.ACTIVE

    declining = await signed_in(make_client, other)
    assert (await post(declining, f"/groups/{group_id}/leave", {})).status_code == 303
    assert await state_of(db, group_id, other) is None
    assert (await declining.get(f"/groups/{group_id}")).status_code == 404  # hidden again


# -- members ------------------------------------------------------------------------------------


async def test_managers_manage_members_and_owners_set_roles(db, make_user, make_client):
    owner = await make_user(name="Olga")
    manager, member, extra = (
        await make_user(name="Max"),
        await make_user(name="Mo"),
        await make_user(),
    )
    group_id = await make_group(db, owner, "Team")
    for user in (manager, member):
        await as_user(db, owner, membership.do_add_member, group_id, user.id)
    boss = await signed_in(make_client, owner)
    path = f"/groups/{group_id}/members"

    made = await post(boss, f"{path}/{manager.id}", {"action": "role", "role": "manager"})
    assert made.status_code == 303
    assert "The role has been saved." in text_of(await boss.get(made.headers["location"]))
    bad_role = await post(boss, f"{path}/{member.id}", {"action": "role", "role": "boss"})
    assert bad_role.status_code == 422 and "This value is not allowed." in text_of(bad_role)
    assert (await post(boss, f"{path}/{member.id}", {"action": "explode"})).status_code == 400
    assert (await post(boss, path, {"action": "add", "user_id": "abc"})).status_code == 422
    assert (await post(boss, path, {"action": "add", "user_id": "99999"})).status_code == 422

    lead = await signed_in(make_client, manager)
    added = await post(lead, path, {"action": "add", "user_id": str(extra.id)})
    assert (
        added.status_code == 303 and await state_of(db, group_id, extra) is MembershipState.ACTIVE
    )
    promoted = await post(lead, f"{path}/{member.id}", {"action": "role", "role": "owner"})
    assert promoted.status_code == 403 and "Only the group's owners may do this." in text_of(
        promoted
    )
    removed = await post(lead, f"{path}/{extra.id}", {"action": "remove"})
    assert removed.status_code == 303 and await state_of(db, group_id, extra) is None

    plain = await signed_in(make_client, member)
    page = await plain.get(path)
    assert page.status_code == 200 and "Olga" in text_of(page) and "Group manager" in text_of(page)
    assert "Invite people" not in text_of(page) and "Set role" not in text_of(page)
    refused = await post(plain, f"{path}/{manager.id}", {"action": "remove"})
    assert refused.status_code == 403
    assert "Only the group's owners and managers may do this." in text_of(refused)
    assert (await plain.get(f"/groups/{group_id}/settings")).status_code == 403


async def test_customers_join_only_groups_shared_with_their_account(db, make_user, make_client):
    owner, staff = await make_user(name="Olga"), await make_user(name="Sam")
    customer, account_id = await customer_of(db, make_user, "Acme")
    shared = await make_group(db, owner, "Acme project room", "private")
    other = await make_group(db, owner, "Company picnic")
    await as_user(db, owner, membership.do_add_member, shared, staff.id)
    await post_in(db, owner, shared, "kickoff-note-5521")
    await post_in(db, owner, other, "picnic-note-8830")
    boss = await signed_in(make_client, owner)

    found = await boss.get(f"/groups/{shared}/members?q=cass")
    assert "Cass of Acme" not in text_of(found)  # not shared yet: not invitable
    not_shared = await post(
        boss, f"/groups/{shared}/members", {"action": "invite", "user_id": str(customer.id)}
    )
    assert not_shared.status_code == 422
    assert "not shared with this person's company" in text_of(not_shared)

    settings = await boss.get(f"/groups/{shared}/settings?account_q=acm")
    assert "Acme" in text_of(settings)
    made = await post(
        boss, f"/groups/{shared}/shares", {"action": "share", "account_id": str(account_id)}
    )
    assert made.status_code == 303
    assert "Customer" in text_of(await boss.get(made.headers["location"]))
    customer_client = await signed_in(make_client, customer)
    assert (await customer_client.get(f"/groups/{shared}")).status_code == 404  # not invited yet

    invited = await post(
        boss, f"/groups/{shared}/members", {"action": "invite", "user_id": str(customer.id)}
    )
    assert invited.status_code == 303
    assert (await post(customer_client, f"/groups/{shared}/join", {})).status_code == 303
    assert listed((await customer_client.get("/groups")).text) == ["Acme project room"]
    page = await customer_client.get(f"/groups/{shared}")
    assert "kickoff-note-5521" in page.text and "picnic-note-8830" not in page.text
    assert (await customer_client.get(f"/groups/{other}")).status_code == 404

    members = words_of(await boss.get(f"/groups/{shared}/members"))
    assert "Cass of Acme Customer · Acme Member" in members
    assert "Sam" in members and "Sam Customer" not in members
    from_inside = text_of(await customer_client.get(f"/groups/{shared}/members"))
    assert "Customer · Acme" in from_inside and "Olga" in from_inside

    unshared = await post(
        boss, f"/groups/{shared}/shares", {"action": "unshare", "account_id": str(account_id)}
    )
    assert unshared.status_code == 303
    assert (await customer_client.get(f"/groups/{shared}")).status_code == 404
    bad = await post(boss, f"/groups/{shared}/shares", {"action": "share", "account_id": "x"})
    assert bad.status_code == 422 and "There is no such account." in text_of(bad)


# -- settings, archive, mandatory rules ---------------------------------------------------------


async def test_managers_edit_the_details(db, make_user, make_client):
    owner = await make_user()
    group_id = await make_group(db, owner, "Old name")
    client = await signed_in(make_client, owner)
    path = f"/groups/{group_id}/settings"
    saved = await post(
        client, path, {"name": "New name", "description": "About", "visibility": "private"}
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith("?done=saved")
    page = text_of(await client.get(f"/groups/{group_id}"))
    assert "New name" in page and "Private" in page and "About" in page
    bad = await post(client, path, {"name": "", "description": "", "visibility": "public"})
    assert bad.status_code == 422 and "This field is required." in text_of(bad)
    same = await post(
        client, path, {"name": "New name", "description": "About", "visibility": "private"}
    )
    assert same.headers["location"].endswith("?done=nothing")


async def test_an_archived_group_is_read_only(db, make_user, make_client):
    owner, staff = await make_user(), await make_user()
    admin = await make_user(roles=ADMIN)
    group_id = await make_group(db, owner, "Old project")
    await post_in(db, owner, group_id, "history-note-4410")
    client = await signed_in(make_client, owner)
    archived = await post(client, f"/groups/{group_id}/archive", {"archived": "1"})
    assert archived.status_code == 303
    assert "The group has been archived." in text_of(await client.get(archived.headers["location"]))

    page = await client.get(f"/groups/{group_id}")
    text = text_of(page)
    assert "This group is archived: it is read-only." in text
    assert "history-note-4410" in page.text  # still readable
    assert 'id="composer"' not in page.text and "Leave group" not in text
    edit = await post(client, f"/groups/{group_id}/settings", {"name": "X", "visibility": "public"})
    assert edit.status_code == 403 and "archived" in text_of(edit)
    back = await post(client, f"/groups/{group_id}/archive", {"archived": "0"})
    assert back.status_code == 403
    assert "Only administrators may take a group out of the archive." in text_of(back)
    assert (await post(client, f"/groups/{group_id}/archive", {"archived": "x"})).status_code == 400

    outsider = await signed_in(make_client, staff)
    assert "Join" not in text_of(await outsider.get(f"/groups/{group_id}"))
    refused = await post(outsider, f"/groups/{group_id}/join", {})
    assert refused.status_code == 403 and "This group is archived" in text_of(refused)

    boss = await signed_in(make_client, admin)
    reopened = await post(boss, f"/groups/{group_id}/archive", {"archived": "0"})
    assert reopened.status_code == 303
    assert (await post(outsider, f"/groups/{group_id}/join", {})).status_code == 303


async def test_administrators_set_mandatory_rules(db, make_user, make_client):
    owner, staff = await make_user(), await make_user()
    admin = await make_user(roles=ADMIN)
    group_id = await make_group(db, owner, "All hands")
    path = f"/groups/{group_id}/rules"
    owner_client = await signed_in(make_client, owner)
    assert "Mandatory membership" not in text_of(
        await owner_client.get(f"/groups/{group_id}/settings")
    )
    refused = await post(owner_client, path, {"rules_form": "1", "role": "employee"})
    assert refused.status_code == 403
    assert "Only administrators may make a group mandatory." in text_of(refused)

    boss = await signed_in(make_client, admin)
    assert "Mandatory membership" in text_of(await boss.get(f"/groups/{group_id}/settings"))
    assert (await post(boss, path, {"role": "employee"})).status_code == 400  # no marker
    bad = await post(boss, path, {"rules_form": "1", "role": "pope"})
    assert bad.status_code == 422
    made = await post(boss, path, {"rules_form": "1", "role": "employee"})
    assert made.status_code == 303
    assert await state_of(db, group_id, staff) is MembershipState.ACTIVE
    page = text_of(await boss.get(f"/groups/{group_id}/settings"))
    assert "Mandatory" in page
    staff_client = await signed_in(make_client, staff)
    assert (await post(staff_client, f"/groups/{group_id}/leave", {})).status_code == 403


async def test_a_role_given_by_an_administrator_fills_mandatory_groups(db, make_user, make_client):
    admin = await make_user(roles=ADMIN)
    staff = await make_user()
    group_id = await make_group(db, admin, "HR circle")
    await as_user(db, admin, mandatory.do_set_mandatory_rules, group_id, [MandatoryRule(role="hr")])
    boss = await signed_in(make_client, admin)
    response = await post(
        boss, f"/admin/users/{staff.id}/roles", {"roles_form": "1", "role_hr": "on"}
    )
    assert response.status_code == 303
    assert await state_of(db, group_id, staff) is MembershipState.ACTIVE
    client = await signed_in(make_client, staff)
    assert listed((await client.get("/groups?show=mine")).text) == ["HR circle"]


# -- user text ----------------------------------------------------------------------------------


async def test_names_are_escaped_and_descriptions_sanitised(db, make_user, make_client):
    owner = await make_user()
    client = await signed_in(make_client, owner)
    created = await post(
        client,
        "/groups",
        {
            "name": '<script>alert(1)</script><img src=x onerror="alert(2)">',
            "description": '[click](javascript:alert(3)) <b hx-get="/x">bold</b> **fine**',
            "visibility": "public",
        },
    )
    assert created.status_code == 303
    escaped_name = (
        "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&#34;alert(2)&#34;&gt;"
    )
    page = main_of((await client.get(created.headers["location"])).text)
    heading = page.split("<h1>", 1)[1].split("</h1>", 1)[0]
    assert heading == escaped_name
    about = page.split('<div class="group-description">', 1)[1].split("</div>", 1)[0]
    assert about == ('<p>click &lt;b hx-get="/x"&gt;bold&lt;/b&gt; <strong>fine</strong></p>\n')
    listing = main_of((await client.get("/groups")).text)
    assert escaped_name in listing and "<script>" not in listing and "<img" not in listing
