"""record audiences, data log and event log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 10:39:28.841237
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The audience rules of domain/records/audience.py as they stand at this revision, in plain SQL,
# so that records which exist before the upgrade are readable at once.
BACKFILL = [
    "INSERT INTO record_audiences (kind, record_id, token) "
    "SELECT 'account', id, 'role:employee' FROM accounts "
    "UNION SELECT 'account', id, 'account:' || id FROM accounts "
    "UNION SELECT 'account', account_id, 'project:' || id FROM projects",
    "INSERT INTO record_audiences (kind, record_id, token) "
    "SELECT 'contact', id, 'role:employee' FROM contacts "
    "UNION SELECT 'contact', id, 'account:' || account_id FROM contacts",
    "INSERT INTO record_audiences (kind, record_id, token) "
    "SELECT 'project', id, 'role:employee' FROM projects "
    "UNION SELECT 'project', id, 'account:' || account_id FROM projects "
    "UNION SELECT 'project', id, 'project:' || id FROM projects",
    "INSERT INTO record_audiences (kind, record_id, token) "
    "SELECT 'invoice', id, 'role:employee' FROM invoices "
    "UNION SELECT 'invoice', id, 'account:' || account_id FROM invoices",
    "INSERT INTO record_audiences (kind, record_id, token) "
    "SELECT 'employee', id, 'role:employee' FROM employees "
    "UNION SELECT 'employee', account_manager_id, 'account:' || id FROM accounts "
    "WHERE account_manager_id IS NOT NULL "
    "UNION SELECT 'employee', manager_id, 'project:' || id FROM projects "
    "WHERE manager_id IS NOT NULL "
    "UNION SELECT 'employee', employee_id, 'project:' || project_id FROM project_members",
    "INSERT INTO record_audiences (kind, record_id, token) "
    "SELECT 'item', id, 'role:employee' FROM items",
]


def upgrade() -> None:
    op.create_table(
        "record_audiences",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "token", "record_id", name=op.f("pk_record_audiences")),
    )
    with op.batch_alter_table("record_audiences", schema=None) as batch_op:
        batch_op.create_index("ix_record_audiences_record", ["kind", "record_id"], unique=False)
    op.create_table(
        "events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_events_actor_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_created_at", ["created_at"], unique=False)

    op.create_table(
        "record_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_record_changes_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_changes")),
    )
    with op.batch_alter_table("record_changes", schema=None) as batch_op:
        batch_op.create_index("ix_record_changes_record", ["kind", "record_id", "id"], unique=False)

    op.create_table(
        "event_audiences",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_event_audiences_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token", "event_id", name=op.f("pk_event_audiences")),
    )
    for statement in BACKFILL:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("event_audiences")
    with op.batch_alter_table("record_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_record_changes_record")

    op.drop_table("record_changes")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_created_at")

    op.drop_table("events")
    with op.batch_alter_table("record_audiences", schema=None) as batch_op:
        batch_op.drop_index("ix_record_audiences_record")
    op.drop_table("record_audiences")
