"""A small company with one object of every document kind, and five kinds of reader, for the
leak and indexer tests — with who may see what written out by hand from the rules of
ARCHITECTURE.md ("Who sees what"), domain/records/audience.py and the posts plan, never computed
by the code under test.

Every document holds the word "zephyr" and a marker of its own ("qx" + eight letters), so one search
finds everything a reader may see, and any page can be scanned for the markers of what they may
not.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from domain.access import Principal, load_principal
from domain.db import Database
from domain.groups.models import (
    Group,
    GroupMembership,
    GroupRole,
    GroupShare,
    GroupVisibility,
    MembershipState,
)
from domain.people.actions import do_create_user
from domain.people.models import Role, User, UserKind
from domain.posts.audience import post_audience, write_audience
from domain.posts.models import Attachment, Comment, Post
from domain.posts.storage import AttachmentStore
from domain.records.audience import rebuild_all
from domain.records.models import (
    Account,
    AccountType,
    Contact,
    Employee,
    Invoice,
    Item,
    Project,
    ProjectMember,
    ProjectPartner,
    ProjectStatus,
)
from tests.conftest import PASSWORD

ROLES = ("admin", "employee", "outsider", "customer", "partner")
WHEN = datetime(2026, 3, 1, tzinfo=UTC)


@dataclass
class Company:
    users: dict[str, User] = field(default_factory=dict)
    principals: dict[str, Principal] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)  # name -> object id
    markers: dict[str, str] = field(default_factory=dict)  # doc id -> its marker
    sees: dict[str, set[str]] = field(default_factory=dict)  # role -> doc ids, by hand

    def doc(self, name: str) -> str:
        kind = name.split("_", 1)[0]
        return f"{kind}:{self.ids[name]}"


class _Marks:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> str:
        """A made-up word far (many typos) from every other marker and word, so that searching
        for one finds its document alone."""
        self.n += 1
        digest = hashlib.sha256(f"marker {self.n}".encode()).digest()
        return "qx" + "".join(chr(ord("a") + b % 26) for b in digest[:8])


async def build_company(db: Database, files: AttachmentStore | None = None) -> Company:
    c = Company()
    mark = _Marks()
    marks: dict[str, str] = {}

    def m(name: str) -> str:
        marks[name] = mark()
        return marks[name]

    async with db.transaction() as s:
        for role, kind, roles in (
            ("admin", UserKind.STAFF, frozenset({Role.ADMIN})),
            ("employee", UserKind.STAFF, frozenset()),
            ("outsider", UserKind.STAFF, frozenset()),
            ("customer", UserKind.CUSTOMER, frozenset()),
            ("partner", UserKind.PARTNER, frozenset()),
        ):
            c.users[role] = await do_create_user(
                s,
                email=f"{role}@example.com",
                name=f"{role.title()} Person",
                password=PASSWORD,
                kind=kind,
                roles=roles,
            )
        emp = {
            name: Employee(
                number=f"E{i}",
                name=f"Zephyr {name} {m('employee_' + name)}",
                email=f"{name}@company.example",
                job_title="Zephyr role",
                private_address="Secretstreet 1",
                date_of_birth=date(1980, 1, 1),
            )
            for i, name in enumerate(("manager", "member", "other"))
        }
        s.add_all(emp.values())
        await s.flush()
        accounts = {
            "a": Account(
                code="A",
                name=f"Zephyr A BV {m('account_a')}",
                type=AccountType.CUSTOMER,
                account_manager_id=emp["manager"].id,
                credit_limit_cents=123456789,
            ),
            "b": Account(code="B", name=f"Zephyr B BV {m('account_b')}", type=AccountType.CUSTOMER),
            "p": Account(
                code="P", name=f"Zephyr Partner {m('account_p')}", type=AccountType.PARTNER
            ),
        }
        s.add_all(accounts.values())
        await s.flush()
        contacts = {
            "ca": Contact(
                account_id=accounts["a"].id,
                user_id=c.users["customer"].id,
                name=f"Zephyr Contact {m('contact_ca')}",
            ),
            "ca2": Contact(
                account_id=accounts["a"].id, name=f"Zephyr Colleague {m('contact_ca2')}"
            ),
            "cb": Contact(account_id=accounts["b"].id, name=f"Zephyr Other {m('contact_cb')}"),
            "cp": Contact(
                account_id=accounts["p"].id,
                user_id=c.users["partner"].id,
                name=f"Zephyr Partnercontact {m('contact_cp')}",
            ),
        }
        s.add_all(contacts.values())
        projects = {
            "pa": Project(
                code="PA",
                name=f"Zephyr Project {m('project_pa')}",
                account_id=accounts["a"].id,
                manager_id=emp["manager"].id,
                status=ProjectStatus.ACTIVE,
                start_date=date(2026, 1, 1),
            ),
            "pb": Project(
                code="PB",
                name=f"Zephyr Bproject {m('project_pb')}",
                account_id=accounts["b"].id,
                status=ProjectStatus.ACTIVE,
            ),
        }
        s.add_all(projects.values())
        await s.flush()
        s.add(ProjectMember(project_id=projects["pa"].id, employee_id=emp["member"].id))
        s.add(ProjectPartner(project_id=projects["pa"].id, account_id=accounts["p"].id))
        invoices = {
            "ia": Invoice(
                number=f"ZEPHYR-{m('invoice_ia')}",
                account_id=accounts["a"].id,
                project_id=projects["pa"].id,
                issue_date=date(2026, 2, 1),
                due_date=date(2026, 3, 1),
                total_cents=12100,
                paid_cents=0,
            ),
            "ib": Invoice(
                number=f"ZEPHYR-{m('invoice_ib')}",
                account_id=accounts["b"].id,
                issue_date=date(2026, 2, 2),
                due_date=date(2026, 3, 2),
                total_cents=5000,
                paid_cents=5000,
            ),
        }
        s.add_all(invoices.values())
        item = Item(code="W1", description=f"Zephyr widget {m('item_w')}", price_cents=100)
        s.add(item)
        groups = {
            "pub": Group(name=f"Zephyr public {m('group_pub')}", visibility=GroupVisibility.PUBLIC),
            "priv": Group(
                name=f"Zephyr private {m('group_priv')}", visibility=GroupVisibility.PRIVATE
            ),
            "hidden": Group(
                name=f"Zephyr hidden {m('group_hidden')}", visibility=GroupVisibility.HIDDEN
            ),
            "shared": Group(
                name=f"Zephyr shared {m('group_shared')}", visibility=GroupVisibility.PRIVATE
            ),
        }
        s.add_all(groups.values())
        await s.flush()
        for group, role in (
            ("priv", "employee"),
            ("hidden", "employee"),
            ("shared", "employee"),
            ("shared", "customer"),
        ):
            s.add(
                GroupMembership(
                    group_id=groups[group].id,
                    user_id=c.users[role].id,
                    role=GroupRole.MEMBER,
                    state=MembershipState.ACTIVE,
                )
            )
        s.add(GroupShare(group_id=groups["shared"].id, account_id=accounts["a"].id))
        author = c.users["employee"].id
        posts: dict[str, tuple[Post, Group | None, tuple[int, ...]]] = {}
        plan: list[tuple[str, Group | None, tuple[int, ...]]] = [
            ("company", None, ()),
            ("pub", groups["pub"], ()),
            ("priv", groups["priv"], ()),
            ("hidden", groups["hidden"], ()),
            ("shared", groups["shared"], ()),
            ("direct", None, (c.users["customer"].id,)),
        ]
        for name, where, recipients in plan:
            marker = m("post_" + name)
            post = Post(
                author_id=author,
                group_id=where.id if where else None,
                body=f"Zephyr {name} post {marker}",
                body_html=f"<p>Zephyr {name} post {marker}</p>",
                created_at=WHEN,
            )
            s.add(post)
            posts[name] = (post, where, recipients)
        await s.flush()
        for post, where, recipients in posts.values():
            await write_audience(s, post.id, post_audience(where, recipients, author))
        comments = {}
        for name, (post, _, _) in posts.items():
            marker = m("comment_" + name)
            comments[name] = Comment(
                post_id=post.id,
                author_id=author,
                body=f"zephyr reply {marker}",
                body_html=f"<p>zephyr reply {marker}</p>",
                created_at=WHEN,
            )
        s.add_all(comments.values())
        attachments = {}
        for name in ("priv", "shared"):
            marker = m("attachment_" + name)
            fake = hashlib.md5(marker.encode()).hexdigest()  # noqa: S324 - a name, not security
            key = files.put(f"zephyr notes {marker}".encode()) if files else f"{fake[:2]}/{fake}"
            attachments[name] = Attachment(
                post_id=posts[name][0].id,
                uploader_id=author,
                filename=f"zephyr-{marker}.txt",
                content_type="text/plain",
                size=20,
                sha256="0" * 64,
                storage_key=key,
                created_at=WHEN,
            )
        s.add_all(attachments.values())
        await s.flush()
        await rebuild_all(s)

        for name, e in emp.items():
            c.ids[f"employee_{name}"] = e.id
        for table, prefix in (
            (accounts, "account"),
            (contacts, "contact"),
            (projects, "project"),
            (invoices, "invoice"),
            (groups, "group"),
            (comments, "comment"),
            (attachments, "attachment"),
        ):
            for name, row in table.items():
                c.ids[f"{prefix}_{name}"] = row.id
        for name, (post, _, _) in posts.items():
            c.ids[f"post_{name}"] = post.id
        c.ids["item_w"] = item.id
        c.ids["contact_ca2"] = contacts["ca2"].id
        for role, user in c.users.items():
            c.principals[role] = await load_principal(s, user)
    c.markers = {c.doc(name): marker for name, marker in marks.items()}
    c.sees = expected(c)
    return c


STAFF_RECORDS = [
    "account_a",
    "account_b",
    "account_p",
    "contact_ca",
    "contact_ca2",
    "contact_cb",
    "contact_cp",
    "project_pa",
    "project_pb",
    "employee_manager",
    "employee_member",
    "employee_other",
    "invoice_ia",
    "invoice_ib",
    "item_w",
]


def _content(*groups: str) -> list[str]:
    """A post with its comment and (if any) attachment."""
    out = []
    for g in groups:
        out += [f"post_{g}", f"comment_{g}"]
        if g in ("priv", "shared"):
            out.append(f"attachment_{g}")
    return out


def expected(c: Company) -> dict[str, set[str]]:
    """Who sees what, by hand:

    - staff see every record; staff find public and private groups, hidden ones only as members
      (admins: all groups);
    - company posts and posts in public groups are for all staff; posts in private and hidden
      groups for their members only (admins included only as members); a post sent to people is
      for them and its author; comments and attachments go with their post;
    - the customer (contact of A, member of the group shared with A): account A, A's contacts, A's
      project, the employees on it (manager and member) — A's manager too —, A's invoice, the
      shared group and its content, and the post sent to them;
    - the partner (contact of P, partner on A's project): its own account P and contact, account
      A (a customer of a project it works on), that project, its team; nothing else.
    """
    staff_common = [
        *STAFF_RECORDS,
        "group_pub",
        "group_priv",
        "group_shared",
        *_content("company", "pub"),
    ]
    names = {
        "admin": [*staff_common, "group_hidden"],
        "employee": [
            *staff_common,
            "group_hidden",
            *_content("priv", "hidden", "shared", "direct"),
        ],  # the direct post's author
        "outsider": list(staff_common),
        "customer": [
            "account_a",
            "contact_ca",
            "contact_ca2",
            "project_pa",
            "employee_manager",
            "employee_member",
            "invoice_ia",
            "group_shared",
            *_content("shared", "direct"),
        ],
        "partner": [
            "account_p",
            "contact_cp",
            "account_a",
            "project_pa",
            "employee_manager",
            "employee_member",
        ],
    }
    return {role: {c.doc(n) for n in ns} for role, ns in names.items()}
