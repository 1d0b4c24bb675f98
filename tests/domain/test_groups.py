"""Groups: who finds them, who joins them and how, who manages them, mandatory groups, sharing
with customer and partner accounts, archiving — and the ``group:<id>`` token that membership gives.

Every action runs in its own write transaction and loads the acting principal fresh, as a request
would, so a token gained or lost shows at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from sqlalchemy import select

from domain.access import Principal, load_principal
from domain.db import Database
from domain.errors import Forbidden, NotFound, ValidationFailed
from domain.events import Event, EventAudience
from domain.groups import actions, candidates, mandatory, membership, queries
from domain.groups.mandatory import MandatoryRule
from domain.groups.models import (
    Group,
    GroupMembership,
    GroupRole,
    GroupVisibility,
    MembershipState,
)
from domain.people import admin as people_admin
from domain.people.models import Role, User, UserKind, UserRole
from domain.records.models import Account, AccountType, Contact, Department, Employee
from tests.conftest import UserFactory

T = TypeVar("T")


async def principal_of(db: Database, user: User) -> Principal:
    async with db.session() as session:
        fresh = await session.get(User, user.id)
        assert fresh is not None
        return await load_principal(session, fresh)


async def act(db: Database, user: User, action: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run a ``do_*`` (or a query) as ``user`` in one write transaction."""
    async with db.transaction() as session:
        fresh = await session.get(User, user.id)
        assert fresh is not None
        return await action(session, await load_principal(session, fresh), *args)


async def create(db: Database, user: User, name: str, visibility: str = "public") -> int:
    async def do(session: Any, principal: Principal) -> int:
        group = await actions.do_create_group(session, principal, name=name, visibility=visibility)
        return group.id

    return await act(db, user, do)


async def staff_users(make_user: UserFactory, n: int) -> list[User]:
    return [await make_user() for _ in range(n)]


async def tokens(db: Database, user: User) -> frozenset[str]:
    return (await principal_of(db, user)).tokens


async def last_event(db: Database, kind: str | None = None) -> tuple[str, dict[str, Any], set[str]]:
    """The newest event (of ``kind``, if given): its kind, payload and audience."""
    async with db.session() as session:
        newest = select(Event).order_by(Event.id.desc()).limit(1)
        if kind is not None:
            newest = newest.where(Event.kind == kind)
        event = await session.scalar(newest)
        assert event is not None
        audience = set(
            (
                await session.scalars(
                    select(EventAudience.token).where(EventAudience.event_id == event.id)
                )
            ).all()
        )
        return event.kind, event.payload, audience


async def state_of(db: Database, group_id: int, user: User) -> MembershipState | None:
    async with db.session() as session:
        row = await session.get(GroupMembership, (group_id, user.id))
        return None if row is None else row.state


async def external(
    db: Database, make_user: UserFactory, account_name: str = "Acme"
) -> tuple[User, int]:
    user = await make_user(kind=UserKind.CUSTOMER, name="Cass Customer")
    async with db.transaction() as session:
        account = Account(code=account_name[:20], name=account_name, type=AccountType.CUSTOMER)
        session.add(account)
        await session.flush()
        session.add(Contact(account_id=account.id, user_id=user.id, name=user.name))
        return user, account.id


# --- creating and editing ----------------------------------------------------------------------


async def test_the_creator_owns_the_group_and_holds_its_token(
    db: Database, make_user: UserFactory
) -> None:
    owner = await make_user()
    group_id = await create(db, owner, "  Cycling   club ", "private")
    async with db.session() as session:
        group = await session.get(Group, group_id)
        assert group is not None
        assert group.name == "Cycling club" and group.visibility is GroupVisibility.PRIVATE
        assert not group.is_archived and not group.is_mandatory
    assert f"group:{group_id}" in await tokens(db, owner)
    kind, payload, audience = await last_event(db)
    assert kind == "group.membership_changed"
    assert payload == {
        "group_id": group_id,
        "user_id": owner.id,
        "state": "active",
        "role": "owner",
    }
    assert audience == {f"group:{group_id}", f"user:{owner.id}"}


@pytest.mark.parametrize(
    ("name", "visibility", "fields"),
    [
        ("", "public", {"name"}),
        ("   ", "public", {"name"}),
        ("x" * 121, "public", {"name"}),
        ("Fine", "secret", {"visibility"}),
        ("", "secret", {"name", "visibility"}),
    ],
)
async def test_bad_input_names_its_fields(
    db: Database, make_user: UserFactory, name: str, visibility: str, fields: set[str]
) -> None:
    owner = await make_user()
    with pytest.raises(ValidationFailed) as error:
        await create(db, owner, name, visibility)
    assert set(error.value.errors) == fields
    group_id = await create(db, owner, "x" * 120)
    with pytest.raises(ValidationFailed) as error:
        await act(
            db,
            owner,
            lambda s, p: actions.do_update_group(
                s, p, group_id, name=name, description="", visibility=visibility
            ),
        )
    assert set(error.value.errors) == fields


async def test_customers_and_partners_create_no_groups(
    db: Database, make_user: UserFactory
) -> None:
    customer, _ = await external(db, make_user)
    with pytest.raises(Forbidden):
        await create(db, customer, "Ours")


async def test_managers_edit_and_members_do_not(db: Database, make_user: UserFactory) -> None:
    owner, manager, member = await make_user(), await make_user(), await make_user()
    group_id = await create(db, owner, "Team")
    for user in (manager, member):
        await act(db, user, membership.do_join_group, group_id)
    await act(db, owner, membership.do_set_member_role, group_id, manager.id, "manager")

    def edit(visibility: str) -> Callable[..., Awaitable[Group]]:
        return lambda s, p: actions.do_update_group(
            s, p, group_id, name="Team B", description="About", visibility=visibility
        )

    with pytest.raises(Forbidden):
        await act(db, member, edit("public"))
    group = await act(db, manager, edit("hidden"))
    assert (group.name, group.description, group.visibility) == ("Team B", "About", "hidden")
    kind, payload, audience = await last_event(db)
    assert kind == "group.changed"
    assert payload == {"group_id": group_id, "fields": ["name", "description", "visibility"]}
    # Staff who could find the group hear that it went hidden.
    assert audience == {f"group:{group_id}", "role:admin", "role:employee"}


# --- who finds what ----------------------------------------------------------------------------


async def test_visibility_for_staff_admins_and_members(
    db: Database, make_user: UserFactory
) -> None:
    owner, staff = await make_user(), await make_user()
    admin = await make_user(roles=frozenset({Role.ADMIN}))
    public = await create(db, owner, "A public")
    private = await create(db, owner, "B private", "private")
    hidden = await create(db, owner, "C hidden", "hidden")

    for group_id in (public, private):
        await act(db, staff, queries.access_group, group_id)
    with pytest.raises(NotFound):
        await act(db, staff, queries.access_group, hidden)
    with pytest.raises(NotFound):
        await act(db, staff, queries.access_group, 999_999)
    await act(db, admin, queries.access_group, hidden)

    async def names(user: User, mine: bool = False) -> list[str]:
        page = await act(db, user, lambda s, p: queries.list_groups(s, p, mine=mine))
        return [row.group.name for row in page.rows]

    assert await names(staff) == ["A public", "B private"]
    assert await names(admin) == ["A public", "B private", "C hidden"]
    assert await names(owner) == ["A public", "B private", "C hidden"]
    assert await names(staff, mine=True) == []
    # An invitation makes a hidden group findable, so it can be accepted.
    await act(db, owner, membership.do_invite_member, hidden, staff.id)
    access = await act(db, staff, queries.access_group, hidden)
    assert not access.is_member and not access.may_see_content
    assert await names(staff) == ["A public", "B private", "C hidden"]


async def test_content_is_for_members_of_private_groups(
    db: Database, make_user: UserFactory
) -> None:
    owner, staff = await make_user(), await make_user()
    public = await create(db, owner, "Open")
    private = await create(db, owner, "Closed", "private")
    assert (await act(db, staff, queries.access_group, public)).may_see_content
    assert not (await act(db, staff, queries.access_group, private)).may_see_content
    assert [m.user_id for m in await act(db, staff, queries.list_members, public)] == [owner.id]
    with pytest.raises(NotFound):
        await act(db, staff, queries.list_members, private)


async def test_group_list_is_paged_by_name(db: Database, make_user: UserFactory) -> None:
    owner = await make_user()
    for name in ("delta", "alpha", "echo", "charlie", "bravo"):
        await create(db, owner, name)
    seen: list[str] = []
    cursor = ""
    while True:
        page = await act(
            db, owner, lambda s, p, c=cursor: queries.list_groups(s, p, cursor=c, limit=2)
        )
        seen += [row.group.name for row in page.rows]
        assert all(row.role is GroupRole.OWNER for row in page.rows)
        if page.next is None:
            break
        cursor = page.next
    assert seen == ["alpha", "bravo", "charlie", "delta", "echo"]
    with pytest.raises(ValidationFailed) as error:
        await act(db, owner, lambda s, p: queries.list_groups(s, p, cursor="not-a-cursor"))
    assert set(error.value.errors) == {"cursor"}


# --- joining, requests, invitations ------------------------------------------------------------


async def test_joining_a_public_group_gives_the_token_at_once(
    db: Database, make_user: UserFactory
) -> None:
    owner, staff = await make_user(), await make_user()
    group_id = await create(db, owner, "Open")
    await act(db, staff, membership.do_join_group, group_id)
    assert f"group:{group_id}" in await tokens(db, staff)
    await act(db, staff, membership.do_join_group, group_id)  # again: nothing changes
    assert await state_of(db, group_id, staff) is MembershipState.ACTIVE


async def test_a_private_group_is_joined_on_request(db: Database, make_user: UserFactory) -> None:
    owner, asker, other, member = await staff_users(make_user, 4)
    group_id = await create(db, owner, "Closed", "private")
    await act(db, owner, membership.do_add_member, group_id, member.id)
    for user in (asker, other):
        await act(db, user, membership.do_join_group, group_id)
        assert await state_of(db, group_id, user) is MembershipState.REQUESTED
    assert f"group:{group_id}" not in await tokens(db, asker)
    _, payload, audience = await last_event(db)
    assert payload["state"] == "requested"
    assert audience == {f"group:{group_id}", f"user:{other.id}"}

    with pytest.raises(Forbidden):  # a plain member approves nothing
        await act(db, member, membership.do_approve_request, group_id, asker.id)
    await act(db, owner, membership.do_approve_request, group_id, asker.id)
    assert f"group:{group_id}" in await tokens(db, asker)
    await act(db, owner, membership.do_decline_request, group_id, other.id)
    assert await state_of(db, group_id, other) is None
    with pytest.raises(NotFound):  # nothing left to decide
        await act(db, owner, membership.do_approve_request, group_id, other.id)


async def test_hidden_and_mandatory_groups_are_not_joined_at_will(
    db: Database, make_user: UserFactory
) -> None:
    owner, staff = await make_user(), await make_user()
    admin = await make_user(roles=frozenset({Role.ADMIN}))
    hidden = await create(db, owner, "Secret", "hidden")
    with pytest.raises(NotFound):
        await act(db, staff, membership.do_join_group, hidden)
    everyone = await create(db, admin, "Everyone")
    await act(db, admin, mandatory.do_set_mandatory_rules, everyone, [MandatoryRule(role="hr")])
    with pytest.raises(Forbidden):
        await act(db, staff, membership.do_join_group, everyone)


async def test_invitations(db: Database, make_user: UserFactory) -> None:
    owner, member, guest, asker = await staff_users(make_user, 4)
    group_id = await create(db, owner, "Secret", "hidden")
    await act(db, owner, membership.do_add_member, group_id, member.id)
    with pytest.raises(Forbidden):
        await act(db, member, membership.do_invite_member, group_id, guest.id)
    with pytest.raises(ValidationFailed) as error:
        await act(db, owner, membership.do_invite_member, group_id, 999_999)
    assert set(error.value.errors) == {"user_id"}

    await act(db, owner, membership.do_invite_member, group_id, guest.id)
    assert await state_of(db, group_id, guest) is MembershipState.INVITED
    assert f"group:{group_id}" not in await tokens(db, guest)
    await act(db, guest, membership.do_accept_invitation, group_id)
    assert f"group:{group_id}" in await tokens(db, guest)
    with pytest.raises(NotFound):  # no invitation left
        await act(db, guest, membership.do_accept_invitation, group_id)

    # Inviting someone who asked to join lets them in; declining an invitation is leaving.
    private = await create(db, owner, "Closed", "private")
    await act(db, asker, membership.do_join_group, private)
    await act(db, owner, membership.do_invite_member, private, asker.id)
    assert await state_of(db, private, asker) is MembershipState.ACTIVE
    await act(db, owner, membership.do_invite_member, private, guest.id)
    await act(db, guest, membership.do_leave_group, private)
    assert await state_of(db, private, guest) is None


# --- roles, leaving, removing ------------------------------------------------------------------


async def test_leaving_drops_the_token_at_once(db: Database, make_user: UserFactory) -> None:
    owner, staff = await make_user(), await make_user()
    group_id = await create(db, owner, "Open")
    await act(db, staff, membership.do_join_group, group_id)
    await act(db, staff, membership.do_leave_group, group_id)
    assert f"group:{group_id}" not in await tokens(db, staff)
    kind, payload, audience = await last_event(db)
    assert (kind, payload["state"]) == ("group.membership_changed", "removed")
    assert audience == {f"group:{group_id}", f"user:{staff.id}"}
    with pytest.raises(NotFound):
        await act(db, staff, membership.do_leave_group, group_id)


async def test_the_last_owner_stays(db: Database, make_user: UserFactory) -> None:
    owner, other = await make_user(), await make_user()
    group_id = await create(db, owner, "Team")
    with pytest.raises(Forbidden):
        await act(db, owner, membership.do_leave_group, group_id)
    with pytest.raises(Forbidden):
        await act(db, owner, membership.do_set_member_role, group_id, owner.id, "member")
    with pytest.raises(Forbidden):
        await act(db, owner, membership.do_remove_member, group_id, owner.id)
    await act(db, owner, membership.do_add_member, group_id, other.id, "owner")
    await act(db, owner, membership.do_set_member_role, group_id, owner.id, "member")
    await act(db, owner, membership.do_leave_group, group_id)
    assert await state_of(db, group_id, owner) is None


async def test_managers_manage_members_and_owners_manage_roles(
    db: Database, make_user: UserFactory
) -> None:
    owner, manager, member, other = await staff_users(make_user, 4)
    group_id = await create(db, owner, "Team")
    for user in (manager, member, other):
        await act(db, owner, membership.do_add_member, group_id, user.id)
    await act(db, owner, membership.do_set_member_role, group_id, manager.id, GroupRole.MANAGER)
    with pytest.raises(ValidationFailed) as error:
        await act(db, owner, membership.do_set_member_role, group_id, member.id, "boss")
    assert set(error.value.errors) == {"role"}
    with pytest.raises(Forbidden):  # managers set no roles …
        await act(db, manager, membership.do_set_member_role, group_id, member.id, "manager")
    with pytest.raises(Forbidden):  # … add no managers …
        await act(db, manager, membership.do_add_member, group_id, 999, "manager")
    with pytest.raises(Forbidden):  # … and remove no owners
        await act(db, manager, membership.do_remove_member, group_id, owner.id)
    with pytest.raises(Forbidden):
        await act(db, member, membership.do_remove_member, group_id, other.id)
    await act(db, manager, membership.do_remove_member, group_id, other.id)
    assert f"group:{group_id}" not in await tokens(db, other)


# --- customers and partners --------------------------------------------------------------------


async def test_contacts_belong_only_to_groups_shared_with_their_account(
    db: Database, make_user: UserFactory
) -> None:
    owner, manager, staff = await make_user(), await make_user(), await make_user()
    customer, account_id = await external(db, make_user)
    group_id = await create(db, owner, "Project room", "private")
    await act(db, owner, membership.do_add_member, group_id, manager.id, "manager")

    with pytest.raises(ValidationFailed) as error:
        await act(db, owner, membership.do_invite_member, group_id, customer.id)
    assert set(error.value.errors) == {"user_id"}
    with pytest.raises(Forbidden):  # managers do not share
        await act(db, manager, actions.do_share_group, group_id, account_id)
    await act(db, owner, actions.do_share_group, group_id, account_id)
    with pytest.raises(NotFound):  # shared, but not a member: still not theirs to find
        await act(db, customer, queries.access_group, group_id)
    with pytest.raises(ValidationFailed) as error:
        await act(db, owner, membership.do_add_member, group_id, customer.id, "manager")
    assert set(error.value.errors) == {"role"}

    await act(db, manager, membership.do_invite_member, group_id, customer.id)
    await act(db, customer, membership.do_join_group, group_id)  # accepts the invitation
    assert f"group:{group_id}" in await tokens(db, customer)
    page = await act(db, customer, queries.list_groups)
    assert [row.group.id for row in page.rows] == [group_id]
    with pytest.raises(NotFound):  # staff outside a private group see no members
        await act(db, staff, queries.list_members, group_id)
    members = {m.user_id: m for m in await act(db, owner, queries.list_members, group_id)}
    assert members[customer.id].is_external and members[customer.id].account_name == "Acme"
    assert not members[owner.id].is_external and members[owner.id].account_name is None
    with pytest.raises(ValidationFailed):
        await act(db, owner, membership.do_set_member_role, group_id, customer.id, "owner")

    await act(db, owner, actions.do_unshare_group, group_id, account_id)
    assert await state_of(db, group_id, customer) is None
    assert f"group:{group_id}" not in await tokens(db, customer)
    with pytest.raises(NotFound):
        await act(db, customer, queries.access_group, group_id)


async def test_contacts_join_nothing_on_their_own(db: Database, make_user: UserFactory) -> None:
    owner = await make_user()
    customer, account_id = await external(db, make_user)
    group_id = await create(db, owner, "Open")
    await act(db, owner, actions.do_share_group, group_id, account_id)
    with pytest.raises(NotFound):
        await act(db, customer, membership.do_join_group, group_id)


async def test_a_stale_membership_never_gives_a_contact_the_token(
    db: Database, make_user: UserFactory
) -> None:
    owner = await make_user()
    customer, _ = await external(db, make_user)
    group_id = await create(db, owner, "Staff only")
    async with db.transaction() as session:  # a row no action would write
        session.add(
            GroupMembership(group_id=group_id, user_id=customer.id, state=MembershipState.ACTIVE)
        )
    assert f"group:{group_id}" not in await tokens(db, customer)


# --- mandatory groups --------------------------------------------------------------------------


async def test_mandatory_groups_follow_departments_and_roles(
    db: Database, make_user: UserFactory
) -> None:
    admin = await make_user(roles=frozenset({Role.ADMIN}))
    engineer, backend, sales, hr = await staff_users(make_user, 4)
    inactive = await make_user()
    async with db.transaction() as session:
        engineering = Department(code="ENG", name="Engineering")
        session.add(engineering)
        await session.flush()
        backend_team = Department(code="BE", name="Backend", parent_id=engineering.id)
        sales_team = Department(code="SAL", name="Sales")
        session.add_all([backend_team, sales_team])
        await session.flush()
        departments = {engineer: engineering, backend: backend_team, sales: sales_team}
        departments[inactive] = engineering
        for n, (user, department) in enumerate(departments.items()):
            session.add(
                Employee(
                    number=f"E{n}",
                    name=user.name,
                    email=user.email,
                    job_title="Engineer",
                    user_id=user.id,
                    department_id=department.id,
                )
            )
        session.add(UserRole(user_id=hr.id, role=Role.HR))
        (await session.get(User, inactive.id)).is_active = False  # type: ignore[union-attr]
        engineering_id, sales_id = engineering.id, sales_team.id

    group_id = await create(db, admin, "Engineering and HR")
    with pytest.raises(Forbidden):
        await act(db, engineer, mandatory.do_set_mandatory_rules, group_id, [])
    with pytest.raises(ValidationFailed) as error:
        bad = [MandatoryRule(), MandatoryRule(role="pope"), MandatoryRule(department_id=999)]
        await act(db, admin, mandatory.do_set_mandatory_rules, group_id, bad)
    assert set(error.value.errors) == {"rules.0", "rules.1.role", "rules.2.department_id"}

    rules = [MandatoryRule(department_id=engineering_id), MandatoryRule(role="hr")]
    changed = await act(db, admin, mandatory.do_set_mandatory_rules, group_id, rules)
    assert changed == 3
    for user in (engineer, backend, hr):
        assert f"group:{group_id}" in await tokens(db, user)
    for user in (sales, inactive):
        assert await state_of(db, group_id, user) is None

    async with db.transaction() as session:
        assert await mandatory.do_sync_mandatory_members(session) == 0  # idempotent

    with pytest.raises(Forbidden):
        await act(db, engineer, membership.do_leave_group, group_id)
    with pytest.raises(Forbidden):  # the rules made this member; removing is pointless
        await act(db, admin, membership.do_remove_member, group_id, engineer.id)

    # The engineer moves to sales: the next sync takes them out, and their token with it.
    async with db.transaction() as session:
        employee = await session.scalar(select(Employee).where(Employee.user_id == engineer.id))
        assert employee is not None
        employee.department_id = sales_id
    async with db.transaction() as session:
        assert await mandatory.do_sync_mandatory_members(session) == 1
    assert f"group:{group_id}" not in await tokens(db, engineer)
    kind, payload, _ = await last_event(db)
    assert (kind, payload["user_id"], payload["state"]) == (
        "group.membership_changed",
        engineer.id,
        "removed",
    )

    # Without rules the group is an ordinary one again and its members may leave.
    await act(db, admin, mandatory.do_set_mandatory_rules, group_id, [])
    await act(db, backend, membership.do_leave_group, group_id)


async def test_every_employee_rule_takes_all_active_staff(
    db: Database, make_user: UserFactory
) -> None:
    admin = await make_user(roles=frozenset({Role.ADMIN}))
    staff = await make_user()
    customer, _ = await external(db, make_user)
    group_id = await create(db, admin, "Everyone")
    rules = [MandatoryRule(role="employee")]
    await act(db, admin, mandatory.do_set_mandatory_rules, group_id, rules)
    assert f"group:{group_id}" in await tokens(db, staff)
    assert await state_of(db, group_id, customer) is None
    async with db.session() as session:
        row = await session.get(GroupMembership, (group_id, admin.id))
        assert row is not None and row.role is GroupRole.OWNER  # the creator stays owner


# --- archived groups ---------------------------------------------------------------------------


async def test_an_archived_group_is_read_only_but_still_found(
    db: Database, make_user: UserFactory
) -> None:
    owner, manager, staff, newcomer = await staff_users(make_user, 4)
    admin = await make_user(roles=frozenset({Role.ADMIN}))
    group_id = await create(db, owner, "Old project")
    await act(db, owner, membership.do_add_member, group_id, manager.id, "manager")
    with pytest.raises(Forbidden):
        await act(db, manager, actions.do_archive_group, group_id)
    group = await act(db, owner, actions.do_archive_group, group_id)
    assert group.is_archived
    kind, payload, audience = await last_event(db)
    assert (kind, payload) == ("group.changed", {"group_id": group_id, "fields": ["archived"]})
    assert audience == {f"group:{group_id}", "role:admin", "role:employee"}

    access = await act(db, owner, queries.access_group, group_id)
    assert access.is_member and not access.may_post
    page = await act(db, staff, queries.list_groups)
    assert [row.group.id for row in page.rows] == [group_id]
    refused: list[Callable[..., Awaitable[Any]]] = [
        lambda s, p: membership.do_join_group(s, p, group_id),
        lambda s, p: membership.do_leave_group(s, p, group_id),
        lambda s, p: membership.do_invite_member(s, p, group_id, staff.id),
        lambda s, p: membership.do_remove_member(s, p, group_id, manager.id),
        lambda s, p: actions.do_update_group(
            s, p, group_id, name="New", description="", visibility="public"
        ),
    ]
    for user, action in zip((staff, manager, owner, owner, owner), refused, strict=True):
        with pytest.raises(Forbidden):
            await act(db, user, action)
    await act(db, admin, membership.do_add_member, group_id, newcomer.id)
    assert f"group:{group_id}" in await tokens(db, newcomer)


# --- the event log -----------------------------------------------------------------------------


async def test_a_rolled_back_action_leaves_no_event_and_no_membership(
    db: Database, make_user: UserFactory
) -> None:
    owner, staff = await make_user(), await make_user()
    group_id = await create(db, owner, "Open")
    async with db.session() as session:
        before = len((await session.scalars(select(Event.id))).all())

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with db.transaction() as session:
            principal = await load_principal(session, await session.get(User, staff.id))  # type: ignore[arg-type]
            await membership.do_join_group(session, principal, group_id)
            raise Boom
    assert await state_of(db, group_id, staff) is None
    async with db.session() as session:
        assert len((await session.scalars(select(Event.id))).all()) == before


# --- the pages' reads: search, counts, candidates, rules ---------------------------------------


async def test_the_group_list_searches_names(db: Database, make_user: UserFactory) -> None:
    owner, staff = await make_user(), await make_user()
    for name in ("Cycling club", "Book club", "Release 100%", "Sales"):
        await create(db, owner, name)
    await create(db, owner, "Secret club", "hidden")

    async def names(q: str, user: User = staff) -> list[str]:
        page = await act(db, user, lambda s, p: queries.list_groups(s, p, q=q))
        return [row.group.name for row in page.rows]

    assert await names("CLUB") == ["Book club", "Cycling club"]  # the hidden one stays hidden
    assert await names("club", owner) == ["Book club", "Cycling club", "Secret club"]
    assert await names("100%") == ["Release 100%"]
    assert await names("%") == ["Release 100%"]  # wildcards are taken literally
    assert await names("  ") == ["Book club", "Cycling club", "Release 100%", "Sales"]
    first = await act(db, staff, lambda s, p: queries.list_groups(s, p, q="club", limit=1))
    rest = await act(
        db, staff, lambda s, p: queries.list_groups(s, p, q="club", cursor=first.next or "")
    )
    assert [r.group.name for r in first.rows + rest.rows] == ["Book club", "Cycling club"]


async def test_member_counts_show_pending_only_to_managers(
    db: Database, make_user: UserFactory
) -> None:
    owner, member, asker, guest = await staff_users(make_user, 4)
    group_id = await create(db, owner, "Closed", "private")
    await act(db, owner, membership.do_add_member, group_id, member.id)
    await act(db, asker, membership.do_join_group, group_id)
    await act(db, owner, membership.do_invite_member, group_id, guest.id)

    assert await counts_for(db, owner, group_id) == queries.MemberCounts(2, 1, 1)
    assert await counts_for(db, member, group_id) == queries.MemberCounts(2, 0, 0)
    assert await counts_for(db, asker, group_id) == queries.MemberCounts(2, 0, 0)


async def counts_for(db: Database, user: User, group_id: int) -> queries.MemberCounts:
    async def do(session: Any, principal: Principal) -> queries.MemberCounts:
        access = await queries.access_group(session, principal, group_id)
        return await queries.member_counts(session, access)

    return await act(db, user, do)


async def test_invite_candidates_follow_the_membership_rules(
    db: Database, make_user: UserFactory
) -> None:
    owner = await make_user(name="Olga Owner")
    member = await make_user(name="Mia Member")
    await make_user(name="Mia Free", email="mia.free@example.com")
    gone = await make_user(name="Mia Gone")
    async with db.transaction() as session:
        (await session.get(User, gone.id)).is_active = False  # type: ignore[union-attr]
    customer, account_id = await external(db, make_user)
    group_id = await create(db, owner, "Room", "private")
    await act(db, owner, membership.do_add_member, group_id, member.id)

    async def found(user: User, q: str) -> list[tuple[str, str | None]]:
        rows = await act(db, user, lambda s, p: candidates.invite_candidates(s, p, group_id, q))
        return [(c.name, c.account_name) for c in rows]

    assert await found(owner, "mia") == [("Mia Free", None)]
    assert await found(owner, "MIA.FREE@") == [("Mia Free", None)]
    assert await found(owner, "cass") == []  # not shared with the customer's account
    assert await found(owner, "   ") == []
    with pytest.raises(Forbidden):
        await found(member, "mia")

    await act(db, owner, actions.do_share_group, group_id, account_id)
    assert await found(owner, "cass") == [("Cass Customer", "Acme")]
    await act(db, owner, membership.do_invite_member, group_id, customer.id)
    assert await found(owner, "cass") == []  # already invited

    async def shared(user: User) -> list[str]:
        access = await act(db, user, queries.access_group, group_id)
        async with db.session() as session:
            return [a.name for a in await candidates.list_shares(session, access)]

    assert await shared(owner) == ["Acme"]
    assert await shared(member) == []  # members are not told which customers are in
    async with db.transaction() as session:
        session.add(Account(code="GLOBEX", name="Globex", type=AccountType.PARTNER))
    accounts = await act(db, owner, lambda s, p: candidates.share_candidates(s, p, group_id, "e"))
    assert [(a.name, a.type) for a in accounts] == [("Globex", AccountType.PARTNER)]
    with pytest.raises(Forbidden):
        await act(db, member, lambda s, p: candidates.share_candidates(s, p, group_id, "e"))


async def test_only_admins_take_a_group_out_of_the_archive(
    db: Database, make_user: UserFactory
) -> None:
    owner, staff = await make_user(), await make_user()
    admin = await make_user(roles=frozenset({Role.ADMIN}))
    group_id = await create(db, owner, "Old project")
    await act(db, owner, actions.do_archive_group, group_id)
    with pytest.raises(Forbidden):
        await act(db, owner, actions.do_unarchive_group, group_id)
    group = await act(db, admin, actions.do_unarchive_group, group_id)
    assert not group.is_archived
    kind, payload, _ = await last_event(db)
    assert (kind, payload["fields"]) == ("group.changed", ["unarchived"])
    await act(db, staff, membership.do_join_group, group_id)  # open again
    assert f"group:{group_id}" in await tokens(db, staff)


async def test_unarchiving_a_mandatory_group_catches_up_with_its_rules(
    db: Database, make_user: UserFactory
) -> None:
    admin = await make_user(roles=frozenset({Role.ADMIN}))
    group_id = await create(db, admin, "Everyone")
    await act(db, admin, mandatory.do_set_mandatory_rules, group_id, [MandatoryRule(role="hr")])
    await act(db, admin, actions.do_archive_group, group_id)
    newcomer = await make_user(roles=frozenset({Role.HR}))
    async with db.transaction() as session:
        assert await mandatory.do_sync_mandatory_members(session) == 0  # archived: left alone
    await act(db, admin, actions.do_unarchive_group, group_id)
    assert f"group:{group_id}" in await tokens(db, newcomer)


async def test_rules_and_departments_are_read_by_admins_only(
    db: Database, make_user: UserFactory
) -> None:
    admin = await make_user(roles=frozenset({Role.ADMIN}))
    owner = await make_user()
    async with db.transaction() as session:
        department = Department(code="OPS", name="Operations")
        session.add(department)
        await session.flush()
        department_id = department.id
    group_id = await create(db, owner, "Ops")
    rules = [MandatoryRule(department_id=department_id), MandatoryRule(role="hr")]
    await act(db, admin, mandatory.do_set_mandatory_rules, group_id, rules)
    assert await act(db, admin, mandatory.list_rules, group_id) == rules
    choices = await act(db, admin, mandatory.department_choices)
    assert [(c.id, c.name) for c in choices] == [(department_id, "Operations")]
    with pytest.raises(Forbidden):
        await act(db, owner, mandatory.list_rules, group_id)
    with pytest.raises(Forbidden):
        await act(db, owner, mandatory.department_choices)


# --- mandatory groups follow the administration of users ---------------------------------------


async def test_role_changes_and_activation_resync_mandatory_groups(
    db: Database, make_user: UserFactory
) -> None:
    admin = await make_user(roles=frozenset({Role.ADMIN}))
    staff = await make_user()
    hr_group = await create(db, admin, "HR circle")
    everyone = await create(db, admin, "Everyone")
    await act(db, admin, mandatory.do_set_mandatory_rules, hr_group, [MandatoryRule(role="hr")])
    await act(
        db, admin, mandatory.do_set_mandatory_rules, everyone, [MandatoryRule(role="employee")]
    )
    assert f"group:{hr_group}" not in await tokens(db, staff)

    # A role given by an administrator takes the user in at once, and taking it away lets go.
    await act(db, admin, people_admin.do_set_roles, staff.id, frozenset({Role.HR}))
    assert f"group:{hr_group}" in await tokens(db, staff)
    _, joined, _ = await last_event(db, "group.membership_changed")
    assert (joined["user_id"], joined["state"]) == (staff.id, "active")
    # The role change itself is told to the user's open sockets, which are re-checked.
    assert await last_event(db) == (
        "user.access_changed",
        {"user_id": staff.id, "fields": ["roles"]},
        {f"user:{staff.id}"},
    )
    await act(db, admin, people_admin.do_set_roles, staff.id, frozenset())
    assert await state_of(db, hr_group, staff) is None
    assert await state_of(db, everyone, staff) is MembershipState.ACTIVE

    # Deactivation takes a user out of every rule; activation brings them back.
    now = datetime.now(UTC)
    await act(db, admin, lambda s, p: people_admin.do_set_active(s, p, staff.id, False, now))
    assert await state_of(db, everyone, staff) is None
    await act(db, admin, lambda s, p: people_admin.do_set_active(s, p, staff.id, True, now))
    assert await state_of(db, everyone, staff) is MembershipState.ACTIVE

    # A new staff user made by an administrator joins the "every employee" group at once.
    created = await act(
        db,
        admin,
        lambda s, p: people_admin.do_create_staff_user(
            s,
            p,
            email="new@example.com",
            name="New Person",
            language=None,
            password="a long enough secret",
            roles=frozenset({Role.HR}),
        ),
    )
    assert await state_of(db, everyone, created) is MembershipState.ACTIVE
    assert await state_of(db, hr_group, created) is MembershipState.ACTIVE


async def test_syncing_one_user_follows_their_department_upwards(
    db: Database, make_user: UserFactory
) -> None:
    admin = await make_user(roles=frozenset({Role.ADMIN}))
    engineer = await make_user()
    async with db.transaction() as session:
        engineering = Department(code="ENG", name="Engineering")
        sales = Department(code="SAL", name="Sales")
        session.add_all([engineering, sales])
        await session.flush()
        backend = Department(code="BE", name="Backend", parent_id=engineering.id)
        session.add(backend)
        await session.flush()
        session.add(
            Employee(
                number="E1",
                name=engineer.name,
                email=engineer.email,
                job_title="Engineer",
                user_id=engineer.id,
                department_id=sales.id,
            )
        )
        engineering_id, backend_id = engineering.id, backend.id
    group_id = await create(db, admin, "Engineering")
    rules = [MandatoryRule(department_id=engineering_id)]
    await act(db, admin, mandatory.do_set_mandatory_rules, group_id, rules)
    assert await state_of(db, group_id, engineer) is None

    async def move_to(department_id: int) -> int:
        async with db.transaction() as session:
            employee = await session.scalar(select(Employee).where(Employee.user_id == engineer.id))
            assert employee is not None
            employee.department_id = department_id
            await session.flush()
            return await mandatory.do_sync_mandatory_user(session, engineer.id)

    assert await move_to(backend_id) == 1  # a sub-department of the rule's
    assert f"group:{group_id}" in await tokens(db, engineer)
    assert await move_to(engineering_id) == 0  # still in: nothing to record
    async with db.transaction() as session:
        sales_id = await session.scalar(select(Department.id).where(Department.code == "SAL"))
    assert sales_id is not None
    assert await move_to(sales_id) == 1
    assert f"group:{group_id}" not in await tokens(db, engineer)
    async with db.transaction() as session:  # and the whole-group sync agrees
        assert await mandatory.do_sync_mandatory_members(session) == 0
