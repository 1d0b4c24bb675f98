"""The demo company's social life: groups of every kind and a few weeks of posts, comments,
reactions, a poll and company news, so the timeline is worth looking at from the first start.

Unlike the company's records, this is made through the domain actions, one by one: they are what
computes a post's audience and channels and records its events, and a few hundred actions take
well under a second. Timestamps are then moved back into the past in id order, so the timeline
reads as weeks of activity while its keyset order (by id) stays the order of time.

The four demo logins take part: the employee posts with mentions and a linked customer, the
customer is a member of a group shared with their account, the admin posts company news.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal, load_principal
from domain.demo.chance import SEED
from domain.demo.logins import ADMIN, CUSTOMER, EMPLOYEE
from domain.groups.actions import do_create_group, do_share_group
from domain.groups.mandatory import MandatoryRule, do_set_mandatory_rules
from domain.groups.membership import do_add_member
from domain.groups.models import GroupVisibility
from domain.people.models import Role, User, UserKind, UserRole
from domain.posts.actions import PostInput, do_create_post
from domain.posts.audience import audience_of
from domain.posts.comments import do_add_comment
from domain.posts.models import (
    Comment,
    PollKind,
    PollResults,
    Post,
    PostKind,
    ReactionKind,
)
from domain.posts.polls import PollInput
from domain.posts.reactions import do_set_reaction
from domain.records.models import Contact, Department, Employee, Project
from domain.records.relations import Account

# How many days back the first post is dated.
DAYS = 21


@dataclass(frozen=True)
class _GroupSpec:
    name: str
    description: str
    visibility: GroupVisibility


GROUPS = (
    _GroupSpec(
        "Lunch & sport",
        "Running on Tuesdays, football on Thursdays, and who brings the cake.",
        GroupVisibility.PUBLIC,
    ),
    _GroupSpec(
        "Duurzaamheid",
        "Our green team: electric vans, solar panels on the warehouse, less packaging.",
        GroupVisibility.PUBLIC,
    ),
    _GroupSpec(
        "ICT helpdesk",
        "Questions about laptops, phones, Atrium and the ERP. **No passwords here, please.**",
        GroupVisibility.PUBLIC,
    ),
    _GroupSpec(
        "Management team",
        "Agenda and decisions of the management team.",
        GroupVisibility.PRIVATE,
    ),
    _GroupSpec(
        "Reorganisatie warehouse 2027",
        "Preparing the move of the warehouse. Confidential until announced.",
        GroupVisibility.HIDDEN,
    ),
)

TAGS = ("release", "safety", "customers", "warehouse", "lunch", "green", "it", "sales")

LINES = (
    "Great job everyone on the Q3 deliveries — a record month for the warehouse! #warehouse",
    "Reminder: fire drill on **Thursday at 10:00**. Please join at the assembly point. #safety",
    "Who joins the run around the lake on Tuesday? Bring your shoes. #lunch",
    "New price lists are in the ERP from Monday. Sales, check your open quotes. #sales",
    "The new warehouse scanners arrived: training sessions are planned next week. #warehouse",
    "Tip: you can link a customer card to a post by typing its code in the composer. #it",
    "We replaced two diesel vans with electric ones this month. #green",
    "Customer visit went well — they want to extend the service contract. #customers",
    "Please lock your screen when you leave your desk. #it #safety",
    "Cake in the canteen for Marieke's 10 years with the company!",
    "Does anyone have experience with the new pallet wrapper? Looking for tips.",
    "The solar panels produced 12 MWh in the first month. #green",
    "Thanks to the helpdesk for the quick fix of the VPN yesterday. #it",
    "Quarterly figures are on the intranet: turnover up 6% year on year. #sales",
    "Friday drinks at 16:30 — celebrating the new warehouse layout. #warehouse",
)

COMMENTS = (
    "Great news!",
    "Thanks for sharing.",
    "I'll be there.",
    "Can we discuss this on Monday?",
    "Well done, team 👏",
    "Good point — I'll pass it on.",
    "Count me in.",
    "Where can I find the details?",
)


class _Principals:
    """Principals by user id, loaded once: memberships no longer change once posting starts."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.loaded: dict[int, Principal] = {}

    async def __call__(self, user_id: int) -> Principal:
        if user_id not in self.loaded:
            user = await self.session.get(User, user_id)
            assert user is not None
            self.loaded[user_id] = await load_principal(self.session, user)
        return self.loaded[user_id]


async def _principal(session: AsyncSession, user_id: int) -> Principal:
    return await _Principals(session)(user_id)


async def _user_id(session: AsyncSession, email: str) -> int:
    user_id = await session.scalar(select(User.id).where(User.email == email))
    if user_id is None:
        raise RuntimeError(f"the demo login {email} is missing")
    return user_id


async def build_social(session: AsyncSession, today: date) -> int:
    """Make the demo's groups and posts on the caller's session; returns the number of posts."""
    chance = random.Random(SEED)  # noqa: S311 - reproducible demo data, not secrets
    admin_id = await _user_id(session, ADMIN.email)
    employee_id = await _user_id(session, EMPLOYEE.email)
    customer_id = await _user_id(session, CUSTOMER.email)
    staff_ids = list(
        (
            await session.scalars(
                select(User.id)
                .where(User.kind == UserKind.STAFF, User.is_active.is_(True))
                .order_by(User.id)
            )
        ).all()
    )
    admin = await _principal(session, admin_id)

    # A mandatory group per department, filled from its rule; the communication role posts news.
    departments = (
        await session.execute(select(Department.id, Department.name).order_by(Department.id))
    ).all()
    for department_id, name in departments[:4]:
        group = await do_create_group(
            session,
            admin,
            name=f"Afdeling {name}",
            description="Everyone in the department, by the department rule.",
            visibility=GroupVisibility.PRIVATE,
        )
        await do_set_mandatory_rules(
            session, admin, group.id, [MandatoryRule(department_id=department_id)]
        )

    groups: list[int] = []
    for spec in GROUPS:
        group = await do_create_group(
            session, admin, name=spec.name, description=spec.description, visibility=spec.visibility
        )
        groups.append(group.id)
        members = chance.sample(staff_ids, 12)
        if spec.visibility is GroupVisibility.PUBLIC or spec.name == "Management team":
            members.append(employee_id)
        for user_id in dict.fromkeys(members):
            if user_id != admin_id:
                await do_add_member(session, admin, group.id, user_id)

    # The customer's own conversation: a private group shared with their account.
    customer_account = await session.scalar(
        select(Contact.account_id).where(Contact.user_id == customer_id)
    )
    account_name = await session.scalar(select(Account.name).where(Account.id == customer_account))
    shared = await do_create_group(
        session,
        admin,
        name=f"{account_name} – project team",
        description="Our shared space with the customer: planning, questions, documents.",
        visibility=GroupVisibility.PRIVATE,
    )
    assert customer_account is not None
    await do_share_group(session, admin, shared.id, customer_account)
    for user_id in (employee_id, customer_id):
        await do_add_member(session, admin, shared.id, user_id)
    groups.append(shared.id)

    communication = await session.scalar(
        select(UserRole.user_id).where(UserRole.role == Role.COMMUNICATION).limit(1)
    )
    projects = (
        await session.scalars(
            select(Project.id).where(Project.account_id == customer_account).order_by(Project.id)
        )
    ).all()
    employee_record = await session.scalar(
        select(Employee.id).where(Employee.user_id == employee_id)
    )

    # Poll closing and news end must lie ahead of the real clock, also for a demo dated earlier.
    ahead = max(today, datetime.now(UTC).date())
    principal = _Principals(session)
    posts: list[Post] = []
    authors = [employee_id, *chance.sample(staff_ids, 30)]
    for n in range(40):
        author_id = authors[n % len(authors)]
        author = await principal(author_id)
        mine = [g for g in groups[:3] if f"group:{g}" in author.tokens]
        group_id = chance.choice([None, None, *mine])
        body = chance.choice(LINES)
        records: tuple[tuple[str, int], ...] = ()
        if n % 9 == 0 and projects:
            records = (("project", chance.choice(projects)),)
        posts.append(
            await do_create_post(
                session, author, PostInput(body=body, group_id=group_id, records=records)
            )
        )

    employee = await principal(employee_id)
    mention = "@" + (ADMIN.email.split("@")[0])
    posts.append(
        await do_create_post(
            session,
            employee,
            PostInput(
                body=(
                    f"Kick-off with {account_name} went well. {mention}, can you set up their "
                    "portal accounts? #customers"
                ),
                records=(("account", customer_account),),
            ),
        )
    )
    if employee_record is not None:
        posts.append(
            await do_create_post(
                session,
                employee,
                PostInput(
                    body="Planning for the next phase is attached to the project card. #release",
                    group_id=shared.id,
                    records=tuple(("project", p) for p in projects[:1]),
                ),
            )
        )
    customer = await principal(customer_id)
    posts.append(
        await do_create_post(
            session,
            customer,
            PostInput(
                body="Thanks for the quick delivery last week! Could we plan the next one for "
                "the 15th?",
                group_id=shared.id,
            ),
        )
    )
    posts.append(
        await do_create_post(
            session,
            admin,
            PostInput(
                body="Where shall we go for the **company outing** this spring?",
                poll=PollInput(
                    kind=PollKind.SINGLE,
                    options=("Zeeland beach day", "Efteling", "Sailing on the IJsselmeer"),
                    closes_at=datetime.combine(ahead + timedelta(days=10), time(17), UTC),
                    results=PollResults.AFTER_VOTE,
                ),
            ),
        )
    )
    news_author = await principal(communication or admin_id)
    posts.append(
        await do_create_post(
            session,
            news_author,
            PostInput(
                body=(
                    "**Welcome to Atrium**, our new intranet! Post, comment and react here, "
                    "follow the groups you care about, and find customers and projects as cards."
                ),
                kind=PostKind.NEWS,
                news_until=datetime.combine(ahead + timedelta(days=30), time(0), UTC),
            ),
        )
    )

    # Comments and reactions from people who may see each post.
    for post in posts:
        audience = await audience_of(session, post.id)
        for _ in range(chance.randint(0, 2)):
            commenter = await principal(chance.choice([employee_id, *chance.sample(staff_ids, 3)]))
            if commenter.can_see(audience):
                await do_add_comment(session, commenter, post.id, chance.choice(COMMENTS))
        for user_id in chance.sample(staff_ids, chance.randint(0, 4)):
            reactor = await principal(user_id)
            if reactor.can_see(audience):
                kind = chance.choice(list(ReactionKind))
                await do_set_reaction(session, reactor, post.id, kind)

    await _spread_over_the_past(session, today, [p.id for p in posts])
    return len(posts)


async def _spread_over_the_past(session: AsyncSession, today: date, post_ids: list[int]) -> None:
    """Date the posts (and their comments) over the last ``DAYS`` days, oldest first."""
    start = datetime.combine(today - timedelta(days=DAYS), time(8), UTC)
    step = timedelta(days=DAYS) / max(len(post_ids), 1)
    for i, post_id in enumerate(post_ids):
        when = start + step * i
        await session.execute(update(Post).where(Post.id == post_id).values(created_at=when))
        await session.execute(
            update(Comment)
            .where(Comment.post_id == post_id)
            .values(created_at=when + timedelta(minutes=37))
        )
