"""reply routing status

Revision ID: 0005r
Revises: 0004
Create Date: 2026-11-22 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005r"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Added columns only: batch mode on SQLite copies just the replies table.
    with op.batch_alter_table("replies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("route_status", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("route_detail", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("routed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("replies", schema=None) as batch_op:
        batch_op.drop_column("routed_at")
        batch_op.drop_column("route_detail")
        batch_op.drop_column("route_status")
