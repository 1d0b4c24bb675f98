"""Administration through HTTP: the user list (search, filters, pages), roles that change what a
user sees on their next request, deactivation that ends an open session at once, lockout
protection, new staff users, and portal access granted to and revoked from demo contacts — with
its Data Log. Every admin route is a 404 for everyone but administrators, GET and POST alike."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select
from starlette.routing import Route

from domain.access import HR, load_principal
from domain.db import Database
from domain.demo import DEMO_PASSWORD, load_demo
from domain.people.actions import do_create_user
from domain.people.models import Role, User, UserKind, UserRole
from domain.records import audience
from domain.records.audience import RecordKind
from domain.records.datalog import RecordChange
from domain.records.models import Account, AccountType, Contact, Employee
from tests.conftest import PASSWORD, csrf_from, login

ClientFactory = Callable[[], httpx.AsyncClient]
ADMIN = frozenset({Role.ADMIN})
SECRET = "a long enough secret"
NAME_CELL = re.compile(r'<td data-label="Name" class="col-link"><a href="[^"]*">([^<]*)</a>')
MORE = re.compile(r'<a class="more" href="([^"]+)"')


def main_of(page: str) -> str:
    return page.split('<main id="main">', 1)[1].split("</main>", 1)[0]


def listed(page: str) -> list[str]:
    return [html.unescape(name) for name in NAME_CELL.findall(page)]


def text_of(response: httpx.Response) -> str:
    return html.unescape(response.text)


async def signed_in(
    make_client: ClientFactory, email: str, password: str = PASSWORD
) -> httpx.AsyncClient:
    client = make_client()
    assert (await login(client, email, password)).status_code == 303
    return client


async def post(
    client: httpx.AsyncClient,
    path: str,
    data: dict[str, str],
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    token = await csrf_from(client, "/profile")
    return await client.post(path, data={**data, "csrf_token": token}, headers=headers)


async def stored_user(db: Database, user_id: int) -> tuple[User, frozenset[Role]]:
    async with db.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        roles = await session.scalars(select(UserRole.role).where(UserRole.user_id == user_id))
        return user, frozenset(roles.all())


async def user_id_of(db: Database, email: str) -> int:
    async with db.session() as session:
        user_id = await session.scalar(select(User.id).where(User.email == email))
    assert user_id is not None
    return user_id


# -- the user list ------------------------------------------------------------------------------


async def test_the_user_list_searches_and_filters(client, make_user, db):
    boss = await make_user(email="boss@example.com", name="Anna Admin", roles=ADMIN)
    await make_user(email="bob@example.com", name="Bob Baker", roles=frozenset({Role.HR}))
    await make_user(email="cara@acme.example", name="Cara Customer", kind=UserKind.CUSTOMER)
    async with db.transaction() as session:
        gone = await do_create_user(session, email="dirk@example.com", name="Dirk", password=None)
        gone.is_active = False
    await login(client, boss.email)

    page = await client.get("/admin/users")
    assert page.status_code == 200
    assert listed(page.text) == ["Anna Admin", "Bob Baker", "Cara Customer", "Dirk"]
    text = text_of(page)
    for shown in ("bob@example.com", "cara@acme.example", "Customer", "HR", "Administrator"):
        assert shown in text
    assert "Deactivated" in text and "Never" in text  # Dirk never signed in
    assert f'href="http://testserver/admin/users/{boss.id}"' in page.text

    expectations = {
        "q=BAKER": ["Bob Baker"],
        "q=acme.example": ["Cara Customer"],
        "kind=customer": ["Cara Customer"],
        "kind=staff&active=yes": ["Anna Admin", "Bob Baker"],
        "active=no": ["Dirk"],
        "q=nobody-at-all": [],
    }
    for query, names in expectations.items():
        response = await client.get(f"/admin/users?{query}")
        assert response.status_code == 200, query
        assert listed(response.text) == names, query
    assert "No users match these filters." in (await client.get("/admin/users?q=zzz")).text
    selected = await client.get("/admin/users?kind=partner&active=no")
    assert '<option value="partner" selected>' in selected.text
    assert '<option value="no" selected>' in selected.text


async def test_the_user_list_comes_in_pages(client, make_user, db):
    boss = await make_user(email="boss@example.com", name="Anna Admin", roles=ADMIN)
    async with db.transaction() as session:  # no passwords: no hashing
        for n in range(56):
            name = "Same Name" if n % 8 == 0 else f"Member {n:02d}"
            await do_create_user(session, email=f"m{n}@example.com", name=name, password=None)
    async with db.session() as session:
        expected = list(
            (await session.scalars(select(User.name).order_by(User.name, User.id))).all()
        )
    await login(client, boss.email)

    first = await client.get("/admin/users")
    assert first.status_code == 200 and "vary" in first.headers
    assert "HX-Request" in first.headers["vary"]
    assert len(listed(first.text)) == 50
    more = MORE.search(first.text)
    assert more is not None
    rest = await client.get(html.unescape(more.group(1)))
    assert rest.status_code == 200
    assert listed(first.text) + listed(rest.text) == expected
    assert MORE.search(rest.text) is None
    assert "Back to the first page" in rest.text

    fragment = await client.get(html.unescape(more.group(1)), headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and listed(fragment.text) == listed(rest.text)


async def test_bad_list_queries_are_refused_with_a_message(client, make_user):
    boss = await make_user(roles=ADMIN)
    await login(client, boss.email)
    for query, message in [
        ("kind=robot", "This is not one of the allowed values."),
        ("active=maybe", "This is not one of the allowed values."),
        ("cursor=garbage", "This page link is no longer valid."),
        ("cursor=" + "x" * 5000, "This page link is no longer valid."),
    ]:
        response = await client.get(f"/admin/users?{query}")
        assert response.status_code == 400, query
        assert message in text_of(response), query
    for query in ("q=%00%25_", "q=" + "y" * 6000, "kind=&active=&cursor="):
        assert (await client.get(f"/admin/users?{query}")).status_code == 200, query


# -- roles ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Colleague:
    id: int
    private_address: str


async def colleague_of_employee(db: Database) -> Colleague:
    """Someone else's employee record, with a private address only HR may read."""
    async with db.session() as session:
        row = (
            await session.execute(
                select(Employee.id, Employee.private_address)
                .where(
                    Employee.email != "employee@example.com",
                    Employee.private_address.is_not(None),
                )
                .order_by(Employee.id)
                .limit(1)
            )
        ).one()
    assert row[1] is not None
    return Colleague(row[0], row[1])


async def test_granting_hr_shows_private_details_on_the_next_request(db, make_client):
    await load_demo(db, social=False)
    colleague = await colleague_of_employee(db)
    daan = await user_id_of(db, "employee@example.com")
    boss = await signed_in(make_client, "admin@example.com", DEMO_PASSWORD)
    employee = await signed_in(make_client, "employee@example.com", DEMO_PASSWORD)
    card = f"/records/employees/{colleague.id}"
    assert colleague.private_address not in text_of(await employee.get(card))

    response = await post(boss, f"/admin/users/{daan}/roles", {"roles_form": "1", "role_hr": "on"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/users/{daan}?saved=roles"
    assert "The roles have been saved." in (await boss.get(response.headers["location"])).text
    async with db.session() as session:
        user = await session.get(User, daan)
        assert user is not None
        assert HR in (await load_principal(session, user)).tokens
    # The same open session sees the private details now.
    assert colleague.private_address in text_of(await employee.get(card))

    # htmx gets the roles section back; taking HR away hides the details again.
    response = await post(
        boss, f"/admin/users/{daan}/roles", {"roles_form": "1"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section class="card" id="roles"')
    assert "The roles have been saved." in response.text
    assert "HX-Request" in response.headers["vary"]
    assert (await stored_user(db, daan))[1] == frozenset()
    assert colleague.private_address not in text_of(await employee.get(card))


async def test_the_user_page_shows_roles_for_staff_only(client, make_user, db):
    boss = await make_user(name="Anna Admin", roles=ADMIN)
    staff = await make_user(name="Bob Baker", roles=frozenset({Role.COMMUNICATION}))
    customer = await make_user(name="Cara Customer", kind=UserKind.CUSTOMER)
    await login(client, boss.email)
    page = await client.get(f"/admin/users/{staff.id}")
    assert page.status_code == 200
    assert 'name="role_communication" value="on" checked' in page.text
    assert re.search(r'name="role_hr" value="on"\s*>', page.text)
    assert 'name="csrf_token"' in page.text
    page = await client.get(f"/admin/users/{customer.id}")
    assert page.status_code == 200
    assert 'name="role_admin"' not in page.text
    assert "belongs to no contact" in text_of(page)
    response = await post(
        client, f"/admin/users/{customer.id}/roles", {"roles_form": "1", "role_admin": "on"}
    )
    assert response.status_code == 422
    assert "Customers and partners cannot have roles." in text_of(response)
    assert (await stored_user(db, customer.id))[1] == frozenset()


async def test_administrators_cannot_lock_themselves_out(client, make_user, db):
    boss = await make_user(roles=ADMIN)
    await login(client, boss.email)
    path = f"/admin/users/{boss.id}"

    response = await post(client, f"{path}/roles", {"roles_form": "1", "role_hr": "on"})
    assert response.status_code == 422
    assert "You cannot remove your own administrator role" in text_of(response)
    assert 'name="role_hr" value="on" checked' in response.text  # the choice is shown back
    htmx = await post(client, f"{path}/roles", {"roles_form": "1"}, headers={"HX-Request": "true"})
    assert htmx.status_code == 422 and "<html" not in htmx.text
    assert "You cannot remove your own administrator role" in text_of(htmx)

    response = await post(client, f"{path}/active", {"active": "0"})
    assert response.status_code == 422
    assert "You cannot deactivate your own account" in text_of(response)

    user, roles = await stored_user(db, boss.id)
    assert user.is_active and roles == ADMIN
    assert (await client.get("/admin/users")).status_code == 200


# -- activation ----------------------------------------------------------------------------------


async def test_deactivation_ends_an_open_session_at_once(client, make_client, make_user, db):
    boss = await make_user(roles=ADMIN)
    leaver = await make_user(name="Lee Leaver")
    await login(client, boss.email)
    theirs = await signed_in(make_client, leaver.email)
    assert (await theirs.get("/profile")).status_code == 200

    response = await post(client, f"/admin/users/{leaver.id}/active", {"active": "0"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/users/{leaver.id}?saved=deactivated"
    page = await client.get(response.headers["location"])
    assert "deactivated and signed out everywhere" in text_of(page)
    assert "Open sessions" in page.text

    refused = await theirs.get("/profile")
    assert refused.status_code == 303 and refused.headers["location"].startswith("/login")
    assert (await login(make_client(), leaver.email)).status_code != 303

    response = await post(client, f"/admin/users/{leaver.id}/active", {"active": "1"})
    assert response.headers["location"] == f"/admin/users/{leaver.id}?saved=activated"
    assert (await login(make_client(), leaver.email)).status_code == 303
    again = await post(client, f"/admin/users/{leaver.id}/active", {"active": "1"})
    assert again.headers["location"] == f"/admin/users/{leaver.id}?saved=nothing"


# -- new staff users -----------------------------------------------------------------------------


async def test_an_administrator_creates_a_staff_user(client, make_client, make_user, db):
    boss = await make_user(email="boss@example.com", roles=ADMIN)
    await login(client, boss.email)
    form = await client.get("/admin/users/new")
    assert form.status_code == 200 and 'name="csrf_token"' in form.text

    async def users() -> int:
        async with db.session() as session:
            return await session.scalar(select(func.count()).select_from(User)) or 0

    refused = await post(
        client,
        "/admin/users",
        {"email": "not an address", "name": " ", "language": "fr", "password": "short"},
    )
    assert refused.status_code == 422
    text = text_of(refused)
    for message in (
        "Enter a valid email address.",
        "This field is required.",
        "Choose English, Dutch or the browser",
        "Use at least 10 characters for the password.",
    ):
        assert message in text
    assert 'value="not an address"' in refused.text and "short" not in refused.text
    taken = await post(
        client, "/admin/users", {"email": "BOSS@example.com", "name": "X", "password": SECRET}
    )
    assert taken.status_code == 422
    assert "A user with this email address already exists." in text_of(taken)
    assert await users() == 1

    created = await post(
        client,
        "/admin/users",
        {
            "email": "new@example.com",
            "name": "Nina New",
            "language": "nl",
            "password": SECRET,
            "role_hr": "on",
        },
    )
    assert created.status_code == 303
    location = created.headers["location"]
    assert re.fullmatch(r"/admin/users/\d+\?saved=created", location)
    assert "Pass the initial password on" in text_of(await client.get(location))
    new_id = await user_id_of(db, "new@example.com")
    user, roles = await stored_user(db, new_id)
    assert (user.name, user.kind, user.language, roles) == (
        "Nina New",
        UserKind.STAFF,
        "nl",
        frozenset({Role.HR}),
    )
    assert (await login(make_client(), "new@example.com", SECRET)).status_code == 303


# -- portal access -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FreeContact:
    id: int
    name: str
    email: str
    account_name: str


async def contact_without_login(db: Database, account_type: AccountType) -> FreeContact:
    async with db.session() as session:
        row = (
            await session.execute(
                select(Contact.id, Contact.name, Contact.email, Account.name)
                .join(Account, Account.id == Contact.account_id)
                .where(
                    Account.type == account_type,
                    Contact.user_id.is_(None),
                    Contact.email.is_not(None),
                )
                .order_by(Contact.id)
                .limit(1)
            )
        ).one()
    contact_id, name, email, account_name = row
    assert email is not None
    return FreeContact(contact_id, name, email, account_name)


async def portal_log(
    db: Database, contact_id: int
) -> list[tuple[str | None, str | None, int | None]]:
    async with db.session() as session:
        rows = await session.execute(
            select(RecordChange.old_value, RecordChange.new_value, RecordChange.actor_id)
            .where(
                RecordChange.kind == "contact",
                RecordChange.record_id == contact_id,
                RecordChange.field == "portal_access",
            )
            .order_by(RecordChange.id)
        )
        return [(old, new, actor) for old, new, actor in rows]


@pytest.mark.parametrize(
    ("account_type", "home_says"),
    [
        (AccountType.CUSTOMER, "Welcome, "),
        (AccountType.PARTNER, "Projects we work on together"),
    ],
)
async def test_portal_access_is_granted_and_revoked(db, make_client, account_type, home_says):
    await load_demo(db, social=False)
    contact = await contact_without_login(db, account_type)
    admin_id = await user_id_of(db, "admin@example.com")
    boss = await signed_in(make_client, "admin@example.com", DEMO_PASSWORD)
    path = f"/admin/contacts/{contact.id}/access"

    page = await boss.get(path)
    assert page.status_code == 200
    assert f'value="{html.escape(contact.email)}"' in page.text  # the contact's own address
    assert 'name="csrf_token"' in page.text

    granted = await post(boss, path, {"action": "grant", "email": "", "password": SECRET})
    assert granted.status_code == 303
    assert granted.headers["location"] == f"{path}?saved=granted"
    assert "Portal access has been granted." in text_of(await boss.get(granted.headers["location"]))
    assert await portal_log(db, contact.id) == [("revoked", "granted", admin_id)]
    user_id = await user_id_of(db, contact.email.lower())
    user, roles = await stored_user(db, user_id)
    assert user.kind.value == account_type.value and roles == frozenset()

    # They sign in and land on their portal home, inside their account.
    theirs = await signed_in(make_client, contact.email, SECRET)
    home = await theirs.get("/")
    assert home.status_code == 200
    assert home_says in text_of(home) and contact.account_name in text_of(home)
    assert (await theirs.get(path)).status_code == 404

    # The contact's card shows the grant in its Data Log.
    card = text_of(await boss.get(f"/records/contacts/{contact.id}"))
    assert "portal_access" in card or "Portal access" in card
    assert "granted" in card

    revoked = await post(boss, path, {"action": "revoke"})
    assert revoked.headers["location"] == f"{path}?saved=revoked"
    refused = await theirs.get("/")
    assert refused.status_code == 303 and refused.headers["location"].startswith("/login")
    assert (await login(make_client(), contact.email, SECRET)).status_code != 303
    assert [row[:2] for row in await portal_log(db, contact.id)] == [
        ("revoked", "granted"),
        ("granted", "revoked"),
    ]
    again = await post(boss, path, {"action": "revoke"})
    assert again.headers["location"] == f"{path}?saved=nothing"

    # Granting again brings the same sign-in back with its own password.
    page = await boss.get(path)
    assert "will be activated again" in text_of(page)
    back = await post(boss, path, {"action": "grant", "password": ""})
    assert back.status_code == 303
    assert await user_id_of(db, contact.email.lower()) == user_id
    assert (await login(make_client(), contact.email, SECRET)).status_code == 303

    # Deactivating the sign-in on its user page is revoking access too, and logged as such.
    user_page = await boss.get(f"/admin/users/{user_id}")
    assert f'href="http://testserver{path}"' in user_page.text
    assert 'name="role_admin"' not in user_page.text
    await post(boss, f"/admin/users/{user_id}/active", {"active": "0"})
    assert len(await portal_log(db, contact.id)) == 4


async def test_bad_portal_access_requests_change_nothing(db, make_client):
    await load_demo(db, social=False)
    contact = await contact_without_login(db, AccountType.CUSTOMER)
    boss = await signed_in(make_client, "admin@example.com", DEMO_PASSWORD)
    path = f"/admin/contacts/{contact.id}/access"
    for data, message in [
        (
            {"action": "grant", "email": "employee@example.com", "password": SECRET},
            "A user with this email address already exists.",
        ),
        (
            {"action": "grant", "email": "", "password": "short"},
            "Use at least 10 characters for the password.",
        ),
        ({"action": "grant", "email": "nope", "password": SECRET}, "Enter a valid email"),
        ({"action": "grant", "email": "x@example.com"}, "Use at least 10 characters"),
    ]:
        response = await post(boss, path, data)
        assert response.status_code == 422, data
        assert message in text_of(response), data
        assert "Portal access was not granted." in text_of(response), data
    for data in ({}, {"action": "maybe"}, {"action": "grant" * 10}):
        response = await post(boss, path, data)
        assert response.status_code == 400, data
        assert "This form was not sent as expected." in text_of(response), data
    assert await portal_log(db, contact.id) == []
    async with db.session() as session:
        stored = await session.get(Contact, contact.id)
    assert stored is not None and stored.user_id is None


async def test_contacts_are_found_by_name_email_or_account(db, make_client):
    await load_demo(db, social=False)
    contact = await contact_without_login(db, AccountType.PARTNER)
    boss = await signed_in(make_client, "admin@example.com", DEMO_PASSWORD)
    assert "Search contacts" in (await boss.get("/admin/contacts")).text
    for q in (contact.name, contact.email.upper(), contact.account_name):
        page = await boss.get("/admin/contacts", params={"q": q})
        assert page.status_code == 200
        assert f'href="http://testserver/admin/contacts/{contact.id}/access"' in page.text, q
    customer = await boss.get("/admin/contacts", params={"q": "customer@example.com"})
    assert "Granted" in customer.text
    assert "No contacts match" in (await boss.get("/admin/contacts?q=zz%00zz")).text


# -- who may reach administration ----------------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    admin_id: int
    contact_id: int


@pytest.fixture
async def targets(db, make_user) -> Targets:
    """An administrator and a contact without a sign-in, for the routes to name."""
    boss = await make_user(email="boss@example.com", roles=ADMIN)
    async with db.transaction() as session:
        account = Account(code="C1", name="Acme", type=AccountType.CUSTOMER)
        session.add(account)
        await session.flush()
        contact = Contact(account_id=account.id, name="Carla", email="carla@acme.example")
        session.add(contact)
        await session.flush()
        await audience.refresh(session, RecordKind.CONTACT, [contact.id])
    return Targets(boss.id, contact.id)


def admin_requests(t: Targets) -> list[tuple[str, str, dict[str, str]]]:
    """Every admin route, with a request that an administrator would have carried out."""
    return [
        ("GET", "/admin/users", {}),
        ("GET", "/admin/users/new", {}),
        ("GET", f"/admin/users/{t.admin_id}", {}),
        ("GET", "/admin/contacts", {}),
        ("GET", f"/admin/contacts/{t.contact_id}/access", {}),
        ("POST", "/admin/users", {"email": "x@example.com", "name": "X", "password": SECRET}),
        ("POST", f"/admin/users/{t.admin_id}/roles", {"roles_form": "1"}),
        ("POST", f"/admin/users/{t.admin_id}/active", {"active": "0"}),
        (
            "POST",
            f"/admin/contacts/{t.contact_id}/access",
            {"action": "grant", "email": "", "password": SECRET},
        ),
    ]


ROUTE_COUNT = 9  # (method, path) pairs of portal.routes.admin


def test_every_admin_route_is_in_the_access_tests():
    """A new admin route must join ``admin_requests``, so its access is tested too."""
    from portal.routes import admin

    requests = admin_requests(Targets(1, 2))
    assert len(requests) == ROUTE_COUNT
    for route in admin.routes:
        assert isinstance(route, Route)
        for method in (route.methods or set()) - {"HEAD"}:
            assert any(m == method and route.path_regex.match(path) for m, path, _d in requests), (
                method,
                route.path,
            )


NON_ADMINS = [
    pytest.param(UserKind.STAFF, frozenset({Role.HR, Role.COMMUNICATION}), id="employee"),
    pytest.param(UserKind.CUSTOMER, frozenset(), id="customer"),
    pytest.param(UserKind.PARTNER, frozenset(), id="partner"),
]


@pytest.mark.parametrize(("kind", "roles"), NON_ADMINS)
async def test_non_administrators_get_not_found_on_every_admin_route(
    client, make_user, db, targets: Targets, kind: UserKind, roles
):
    """Each route × each kind of non-administrator. The routes are a loop, not a parameter:
    one database and sign-in per kind keeps the 27 cases to a few seconds."""
    user = await make_user(kind=kind, roles=roles)
    await login(client, user.email)
    missing = main_of((await client.get("/no-such-page")).text)
    for method, path, data in admin_requests(targets):
        if method == "GET":
            response = await client.get(path)
        else:
            response = await post(client, path, data)
        assert response.status_code == 404, (method, path)
        assert main_of(response.text) == missing, (method, path)
        json = await client.request(method, path, headers={"Accept": "application/json"})
        assert json.status_code in (403, 404), (method, path)  # a POST without token: 403
    # Nothing was changed by the refused POSTs.
    boss, boss_roles = await stored_user(db, targets.admin_id)
    assert boss.is_active and boss_roles == ADMIN
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 2
        contact = await session.get(Contact, targets.contact_id)
        assert contact is not None and contact.user_id is None


async def test_administrators_reach_every_admin_page(client, targets: Targets):
    await login(client, "boss@example.com")
    for method, path, _data in admin_requests(targets):
        if method == "GET":
            assert (await client.get(path)).status_code == 200, path
    assert 'href="http://testserver/admin/users"' in (await client.get("/")).text


async def test_the_admin_link_is_for_administrators_only(client, make_user):
    user = await make_user()
    await login(client, user.email)
    assert "/admin/users" not in (await client.get("/")).text


async def test_anonymous_visitors_are_sent_to_sign_in(client, targets: Targets):
    token = await csrf_from(client)
    for method, path, data in admin_requests(targets):
        if method == "GET":
            response = await client.get(path)
        else:
            response = await client.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 303, (method, path)
        assert response.headers["location"].startswith("/login?next="), (method, path)


async def test_unknown_or_huge_ids_are_not_found(client, targets: Targets):
    await login(client, "boss@example.com")
    for number in ("999999", "9" * 25):
        for path in (f"/admin/users/{number}", f"/admin/contacts/{number}/access"):
            assert (await client.get(path)).status_code == 404, path
        for path, data in (
            (f"/admin/users/{number}/roles", {"roles_form": "1"}),
            (f"/admin/users/{number}/active", {"active": "1"}),
            (f"/admin/contacts/{number}/access", {"action": "revoke"}),
        ):
            assert (await post(client, path, data)).status_code == 404, path


async def test_forms_without_their_marker_are_refused(client, targets: Targets, db):
    await login(client, "boss@example.com")
    for path, data in (
        (f"/admin/users/{targets.admin_id}/roles", {}),
        (f"/admin/users/{targets.admin_id}/roles", {"roles_form": "yes"}),
        (f"/admin/users/{targets.admin_id}/active", {}),
        (f"/admin/users/{targets.admin_id}/active", {"active": "maybe"}),
    ):
        response = await post(client, path, data)
        assert response.status_code == 400, (path, data)
        assert "This form was not sent as expected." in text_of(response)
    files = await client.post(
        f"/admin/users/{targets.admin_id}/roles",
        data={"csrf_token": await csrf_from(client, "/profile")},
        files={"roles_form": ("x.bin", b"1", "application/octet-stream")},
    )
    assert files.status_code == 400
    assert (await stored_user(db, targets.admin_id))[1] == ADMIN
