"""groups, memberships, account shares and mandatory-group rules

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 11:59:00.236236
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "visibility",
            sa.Enum(
                "public", "private", "hidden", name="groupvisibility", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("is_mandatory", sa.Boolean(), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_groups_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
    )
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.create_index("ix_groups_name_id", ["name", "id"], unique=False)

    op.create_table(
        "group_memberships",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum("owner", "manager", "member", name="grouprole", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "requested",
                "invited",
                "active",
                name="membershipstate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("via_rule", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_memberships_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_group_memberships_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_group_memberships")),
    )
    with op.batch_alter_table("group_memberships", schema=None) as batch_op:
        batch_op.create_index("ix_group_memberships_user_state", ["user_id", "state"], unique=False)

    op.create_table(
        "group_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=True),
        sa.CheckConstraint(
            "(department_id IS NULL) <> (role IS NULL)",
            name=op.f("ck_group_rules_department_or_role"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_group_rules_department_id_departments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_rules_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_rules")),
    )
    with op.batch_alter_table("group_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_group_rules_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_group_rules_group_id"), ["group_id"], unique=False)

    op.create_table(
        "group_shares",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_group_shares_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_shares_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "account_id", name=op.f("pk_group_shares")),
    )
    with op.batch_alter_table("group_shares", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_group_shares_account_id"), ["account_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("group_shares", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_shares_account_id"))

    op.drop_table("group_shares")
    with op.batch_alter_table("group_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_rules_group_id"))
        batch_op.drop_index(batch_op.f("ix_group_rules_department_id"))

    op.drop_table("group_rules")
    with op.batch_alter_table("group_memberships", schema=None) as batch_op:
        batch_op.drop_index("ix_group_memberships_user_state")

    op.drop_table("group_memberships")
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_index("ix_groups_name_id")

    op.drop_table("groups")
