"""Administration in the domain: only administrators administer; roles change a user's tokens;
externals never get roles; nobody locks themself out; deactivation ends sessions; the user list
pages by (name, id); portal access per contact is granted, revoked and logged on the contact."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from domain.access import HR, Principal, load_principal
from domain.db import Database
from domain.errors import NotFound, ValidationFailed
from domain.events import Event
from domain.people import admin, admin_guards, portal_access
from domain.people.actions import do_create_user, do_start_session
from domain.people.models import AuthSession, Role, User, UserKind
from domain.people.queries import authenticate, user_for_session
from domain.records import audience
from domain.records.audience import RecordKind
from domain.records.datalog import RecordChange
from domain.records.relations import Account, AccountType, Contact

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SECRET = "a long enough secret"


async def new_user(
    db: Database,
    email: str,
    *,
    name: str = "Some One",
    kind: UserKind = UserKind.STAFF,
    roles: frozenset[Role] = frozenset(),
    password: str | None = None,
) -> User:
    async with db.transaction() as session:
        return await do_create_user(
            session, email=email, name=name, password=password, kind=kind, roles=roles
        )


async def principal_of(db: Database, user_id: int) -> Principal:
    async with db.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        return await load_principal(session, user)


async def new_contact(
    db: Database, account_type: AccountType = AccountType.CUSTOMER, email: str | None = None
) -> int:
    async with db.transaction() as session:
        count = await session.scalar(select(func.count()).select_from(Account))
        account = Account(code=f"A{count}", name=f"Acme {count}", type=account_type)
        session.add(account)
        await session.flush()
        contact = Contact(account_id=account.id, name="Carla Contact", email=email)
        session.add(contact)
        await session.flush()
        await audience.refresh(session, RecordKind.ACCOUNT, [account.id])
        await audience.refresh(session, RecordKind.CONTACT, [contact.id])
        return contact.id


@pytest.fixture
async def boss(db: Database) -> Principal:
    user = await new_user(db, "boss@example.com", name="Bea Boss", roles=frozenset({Role.ADMIN}))
    return await principal_of(db, user.id)


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


async def test_only_administrators_administer(db: Database) -> None:
    contact_id = await new_contact(db, email="carla@acme.example")
    staff = await new_user(db, "staff@example.com", roles=frozenset({Role.HR}))
    customer = await new_user(db, "cust@example.com", kind=UserKind.CUSTOMER)
    for user in (staff, customer):
        nobody = await principal_of(db, user.id)
        async with db.session() as session:
            with pytest.raises(NotFound):
                await admin.list_users(session, nobody)
            with pytest.raises(NotFound):
                await admin.user_detail(session, nobody, staff.id, NOW)
            with pytest.raises(NotFound):
                await portal_access.contact_access(session, nobody, contact_id)
            with pytest.raises(NotFound):
                await portal_access.find_contacts(session, nobody, "carla")
        async with db.transaction() as session:
            with pytest.raises(NotFound):
                await admin.do_set_roles(session, nobody, user.id, frozenset({Role.ADMIN}))
            with pytest.raises(NotFound):
                await admin.do_set_active(session, nobody, staff.id, False, NOW)
            with pytest.raises(NotFound):
                await portal_access.do_grant_portal_access(
                    session, nobody, contact_id, email="", password=SECRET, now=NOW
                )
            with pytest.raises(NotFound):
                await portal_access.do_revoke_portal_access(session, nobody, contact_id, NOW)
    assert HR not in (await principal_of(db, customer.id)).tokens


async def test_roles_change_the_principals_tokens(db: Database, boss: Principal) -> None:
    user = await new_user(db, "daan@example.com")
    assert not {HR, "role:admin"} & (await principal_of(db, user.id)).tokens
    async with db.transaction() as session:
        changed = await admin.do_set_roles(session, boss, user.id, frozenset({Role.HR, Role.ADMIN}))
    assert changed
    principal = await principal_of(db, user.id)
    assert {HR, "role:admin"} <= principal.tokens and principal.is_admin
    async with db.transaction() as session:
        assert not await admin.do_set_roles(
            session, boss, user.id, frozenset({Role.HR, Role.ADMIN})
        )
        assert await admin.do_set_roles(session, boss, user.id, frozenset({Role.COMMUNICATION}))
    principal = await principal_of(db, user.id)
    assert principal.roles == {Role.COMMUNICATION}
    assert "role:communication" in principal.tokens and HR not in principal.tokens


async def test_externals_never_get_roles(db: Database, boss: Principal) -> None:
    partner = await new_user(db, "p@example.com", kind=UserKind.PARTNER)
    async with db.transaction() as session:
        with pytest.raises(ValidationFailed) as refused:
            await admin.do_set_roles(session, boss, partner.id, frozenset({Role.HR}))
        assert refused.value.errors == {"roles": admin.NO_ROLES_FOR_EXTERNALS}
        assert not await admin.do_set_roles(session, boss, partner.id, frozenset())
    async with db.session() as session:
        assert (await admin.user_detail(session, boss, partner.id, NOW)).roles == frozenset()


async def test_administrators_cannot_lock_themselves_out(db: Database, boss: Principal) -> None:
    async with db.transaction() as session:
        with pytest.raises(ValidationFailed) as refused:
            await admin.do_set_roles(session, boss, boss.user_id, frozenset({Role.HR}))
        assert refused.value.errors == {"roles": admin.OWN_ADMIN_ROLE}
        with pytest.raises(ValidationFailed) as refused:
            await admin.do_set_active(session, boss, boss.user_id, False, NOW)
        assert refused.value.errors == {"active": admin.OWN_ACCOUNT}
        # Adding a role to oneself, and "activating" oneself, are harmless.
        roles = frozenset({Role.ADMIN, Role.HR})
        assert await admin.do_set_roles(session, boss, boss.user_id, roles)
        assert not await admin.do_set_active(session, boss, boss.user_id, True, NOW)
    # Another administrator may take the role away.
    other = await new_user(db, "other@example.com", roles=frozenset({Role.ADMIN}))
    async with db.transaction() as session:
        other_admin = await load_principal(session, other)
        assert await admin.do_set_roles(session, other_admin, boss.user_id, frozenset())
    assert not (await principal_of(db, boss.user_id)).is_admin


async def test_deactivation_ends_every_session_and_activation_restores_sign_in(
    db: Database, boss: Principal
) -> None:
    user = await new_user(db, "leaver@example.com", password=SECRET)
    async with db.transaction() as session:
        tokens = [await do_start_session(session, user, NOW) for _ in range(2)]
    async with db.transaction() as session:
        assert await admin.do_set_active(session, boss, user.id, False, NOW)
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(AuthSession)) == 0
        for token in tokens:
            assert await user_for_session(session, token, NOW) is None
        assert await authenticate(session, user.email, SECRET) is None
        detail = await admin.user_detail(session, boss, user.id, NOW)
        assert not detail.user.is_active and detail.open_sessions == 0
    async with db.transaction() as session:
        assert await admin.do_set_active(session, boss, user.id, True, NOW)
    async with db.session() as session:
        assert await authenticate(session, user.email, SECRET) is not None


async def test_the_user_list_pages_by_name_then_id(db: Database, boss: Principal) -> None:
    async with db.transaction() as session:
        for n, name in enumerate(["Zoë", "Same Name", "Adam", "Same Name", "Same Name", "Mo"]):
            await do_create_user(session, email=f"u{n}@example.com", name=name, password=None)
    async with db.session() as session:
        expected = [
            (name, user_id)
            for name, user_id in (
                await session.execute(select(User.name, User.id).order_by(User.name, User.id))
            )
        ]
        seen: list[tuple[str, int]] = []
        cursor = ""
        while True:
            page = await admin.list_users(session, boss, cursor=cursor, limit=2)
            assert len(page.rows) <= 2
            seen += [(row.name, row.id) for row in page.rows]
            if page.next is None:
                break
            cursor = page.next
    assert seen == expected and len(seen) == 7


async def test_the_user_list_searches_and_filters(db: Database, boss: Principal) -> None:
    await new_user(db, "bob@example.com", name="Bob 100% Baker", roles=frozenset({Role.HR}))
    await new_user(db, "cara@acme.example", name="Cara", kind=UserKind.CUSTOMER)
    gone = await new_user(db, "dirk@example.com", name="Dirk")
    async with db.transaction() as session:
        await admin.do_set_active(session, boss, gone.id, False, NOW)

    async def names(q: str = "", kind: str = "", active: str = "") -> list[str]:
        async with db.session() as session:
            page = await admin.list_users(session, boss, q=q, kind=kind, active=active)
        return [row.name for row in page.rows]

    assert await names() == ["Bea Boss", "Bob 100% Baker", "Cara", "Dirk"]
    assert await names(q="BAKER") == ["Bob 100% Baker"]
    assert await names(q="100%") == ["Bob 100% Baker"]
    assert await names(q="%") == ["Bob 100% Baker"]  # a wildcard is taken literally
    assert await names(q="acme.example") == ["Cara"]
    assert await names(kind="customer") == ["Cara"]
    assert await names(kind="staff", active="yes") == ["Bea Boss", "Bob 100% Baker"]
    assert await names(active="no") == ["Dirk"]
    assert await names(q="\x00bob") == ["Bob 100% Baker"]
    async with db.session() as session:
        rows = (await admin.list_users(session, boss, q="bob")).rows
        assert rows[0].roles == (Role.HR,) and rows[0].kind is UserKind.STAFF
        with pytest.raises(ValidationFailed) as refused:
            await admin.list_users(session, boss, kind="robot", active="maybe")
        assert set(refused.value.errors) == {"kind", "active"}
        with pytest.raises(ValidationFailed) as refused:
            await admin.list_users(session, boss, cursor="not-a-cursor")
        assert set(refused.value.errors) == {"cursor"}


async def test_a_new_staff_user_is_checked_field_by_field(db: Database, boss: Principal) -> None:
    async with db.transaction() as session:
        with pytest.raises(ValidationFailed) as refused:
            await admin.do_create_staff_user(
                session,
                boss,
                email="not an address",
                name=" ",
                language="fr",
                password="short",
                roles=frozenset(),
            )
        assert set(refused.value.errors) == {"email", "name", "language", "password"}
        with pytest.raises(ValidationFailed) as refused:  # PostgreSQL would refuse NUL itself
            await admin.do_create_staff_user(
                session,
                boss,
                email="nul\x00@example.com",
                name="Nul\x00",
                language=None,
                password=SECRET,
                roles=frozenset(),
            )
        assert set(refused.value.errors) == {"email", "name"}
        with pytest.raises(ValidationFailed) as refused:
            await admin.do_create_staff_user(
                session,
                boss,
                email="BOSS@example.com",
                name="Copy",
                language=None,
                password=SECRET,
                roles=frozenset(),
            )
        assert refused.value.errors == {"email": admin_guards.EMAIL_TAKEN}
        user = await admin.do_create_staff_user(
            session,
            boss,
            email=" New@Example.com ",
            name="New  Person",
            language="nl",
            password=SECRET,
            roles=frozenset({Role.COMMUNICATION}),
        )
    principal = await principal_of(db, user.id)
    assert (user.email, user.name, user.language) == ("new@example.com", "New Person", "nl")
    assert principal.is_staff and principal.roles == {Role.COMMUNICATION}


@pytest.mark.parametrize(
    ("account_type", "kind"),
    [(AccountType.CUSTOMER, UserKind.CUSTOMER), (AccountType.PARTNER, UserKind.PARTNER)],
)
async def test_portal_access_is_granted_revoked_and_logged(
    db: Database, boss: Principal, account_type: AccountType, kind: UserKind
) -> None:
    contact_id = await new_contact(db, account_type, email="Carla@Acme.example")
    async with db.session() as session:
        access = await portal_access.contact_access(session, boss, contact_id)
        assert access.user is None and not access.has_access and access.kind is kind

    async with db.transaction() as session:
        user = await portal_access.do_grant_portal_access(
            session, boss, contact_id, email="", password=SECRET, now=NOW
        )
    assert (user.email, user.name, user.kind) == ("carla@acme.example", "Carla Contact", kind)
    principal = await principal_of(db, user.id)
    async with db.session() as session:
        contact = await session.get(Contact, contact_id)
        assert contact is not None and contact.user_id == user.id
        assert f"account:{contact.account_id}" in principal.tokens
        assert principal.roles == frozenset()
    assert await portal_log(db, contact_id) == [("revoked", "granted", boss.user_id)]

    # Granting again changes nothing and logs nothing.
    async with db.transaction() as session:
        again = await portal_access.do_grant_portal_access(
            session, boss, contact_id, email="other@acme.example", password="", now=NOW
        )
        assert again.id == user.id
        token = await do_start_session(session, again, NOW)
    assert len(await portal_log(db, contact_id)) == 1

    async with db.transaction() as session:
        assert await portal_access.do_revoke_portal_access(session, boss, contact_id, NOW)
        assert not await portal_access.do_revoke_portal_access(session, boss, contact_id, NOW)
    async with db.session() as session:
        assert await user_for_session(session, token, NOW) is None
        assert await authenticate(session, user.email, SECRET) is None
    assert [row[:2] for row in await portal_log(db, contact_id)] == [
        ("revoked", "granted"),
        ("granted", "revoked"),
    ]

    # A new grant brings the same user back, here with a new password.
    async with db.transaction() as session:
        back = await portal_access.do_grant_portal_access(
            session, boss, contact_id, email="", password="a brand new secret", now=NOW
        )
    assert back.id == user.id
    async with db.session() as session:
        assert await authenticate(session, user.email, "a brand new secret") is not None
        assert await session.scalar(select(func.count()).select_from(User)) == 2
        events = (await session.execute(select(Event.kind, Event.payload).order_by(Event.id))).all()
    assert len(await portal_log(db, contact_id)) == 3
    # The login's own access changed twice (revoked, granted back): its sockets are re-checked.
    assert [payload for kind, payload in events if kind == "user.access_changed"] == [
        {"user_id": user.id, "fields": ["active"]}
    ] * 2
    assert [payload for kind, payload in events if kind == "record.updated"] == [
        {"record_kind": "contact", "record_id": contact_id, "fields": ["portal_access"]}
    ] * 3


async def test_deactivating_a_contacts_login_is_logged_on_the_contact(
    db: Database, boss: Principal
) -> None:
    contact_id = await new_contact(db, email="carla@acme.example")
    async with db.transaction() as session:
        user = await portal_access.do_grant_portal_access(
            session, boss, contact_id, email="", password=SECRET, now=NOW
        )
    async with db.transaction() as session:
        assert await admin.do_set_active(session, boss, user.id, False, NOW)
        assert await admin.do_set_active(session, boss, user.id, True, NOW)
    assert [row[:2] for row in await portal_log(db, contact_id)] == [
        ("revoked", "granted"),
        ("granted", "revoked"),
        ("revoked", "granted"),
    ]
    async with db.session() as session:
        detail = await admin.user_detail(session, boss, user.id, NOW)
    assert detail.contact is not None and detail.contact.id == contact_id
    assert not detail.may_have_roles


async def test_a_grant_with_bad_input_changes_nothing(db: Database, boss: Principal) -> None:
    await new_user(db, "taken@example.com")
    no_email = await new_contact(db)
    taken = await new_contact(db, email="TAKEN@example.com")
    cases = [
        (no_email, "", SECRET, {"email"}),
        (no_email, "carla@acme.example", "", {"password"}),
        (no_email, "carla@acme.example", "short", {"password"}),
        (taken, "", SECRET, {"email"}),
        (no_email, "taken@example.com", SECRET, {"email"}),
        (no_email, "nul\x00@example.com", SECRET, {"email"}),
    ]
    for contact_id, email, password, fields in cases:
        async with db.transaction() as session:
            with pytest.raises(ValidationFailed) as refused:
                await portal_access.do_grant_portal_access(
                    session, boss, contact_id, email=email, password=password, now=NOW
                )
        assert set(refused.value.errors) == fields, (email, password)
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 2
        assert await session.scalar(select(func.count()).select_from(RecordChange)) == 0
    async with db.transaction() as session:
        assert not await portal_access.do_revoke_portal_access(session, boss, no_email, NOW)


async def test_ids_out_of_range_are_not_found(db: Database, boss: Principal) -> None:
    for bad in (0, -1, 2**31, 10**25):
        async with db.session() as session:
            with pytest.raises(NotFound):
                await admin.user_detail(session, boss, bad, NOW)
            with pytest.raises(NotFound):
                await portal_access.contact_access(session, boss, bad)
        async with db.transaction() as session:
            with pytest.raises(NotFound):
                await admin.do_set_active(session, boss, bad, True, NOW)
            with pytest.raises(NotFound):
                await portal_access.do_revoke_portal_access(session, boss, bad, NOW)


async def test_find_contacts_shows_their_access(db: Database, boss: Principal) -> None:
    granted = await new_contact(db, email="carla@acme.example")
    await new_contact(db, AccountType.PARTNER, email="carla@partner.example")
    async with db.transaction() as session:
        await portal_access.do_grant_portal_access(
            session, boss, granted, email="", password=SECRET, now=NOW
        )
    async with db.session() as session:
        assert (await portal_access.find_contacts(session, boss, "  ")).rows == []
        found = await portal_access.find_contacts(session, boss, "CARLA", limit=1)
        assert found.more and len(found.rows) == 1
        rows = (await portal_access.find_contacts(session, boss, "carla")).rows
    assert [(r.email, r.has_access) for r in rows] == [
        ("carla@acme.example", True),
        ("carla@partner.example", False),
    ]


async def test_a_new_password_on_a_granted_login_ends_its_sessions(
    db: Database, boss: Principal
) -> None:
    contact_id = await new_contact(db, email="carla@acme.example")
    async with db.transaction() as session:
        user = await portal_access.do_grant_portal_access(
            session, boss, contact_id, email="", password=SECRET, now=NOW
        )
        token = await do_start_session(session, user, NOW)
    async with db.transaction() as session:
        await portal_access.do_grant_portal_access(
            session, boss, contact_id, email="", password="a brand new secret", now=NOW
        )
    async with db.session() as session:
        assert await user_for_session(session, token, NOW) is None
        assert await authenticate(session, user.email, SECRET) is None
        assert await authenticate(session, user.email, "a brand new secret") is not None
    assert len(await portal_log(db, contact_id)) == 1
