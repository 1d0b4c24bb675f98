"""event audiences by event: read an event's audience with it, and delete it with it

Without it, every read of a batch of events' audiences (each live poll) and every cascade from
pruning scanned the whole table: its primary key starts with the token.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 20:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event_audiences", schema=None) as batch_op:
        batch_op.create_index("ix_event_audiences_event_id", ["event_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event_audiences", schema=None) as batch_op:
        batch_op.drop_index("ix_event_audiences_event_id")
