"""slack batch cards

Revision ID: 0007s
Revises: 0004
Create Date: 2026-11-23 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007s"
down_revision: str | None = "0006t"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slack_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=100), nullable=False),
        sa.Column("slack_channel", sa.String(length=50), nullable=True),
        sa.Column("slack_ts", sa.String(length=50), nullable=True),
        sa.Column("shown_digest", sa.String(length=64), nullable=True),
        sa.Column("posting_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_batches")),
    )
    op.create_table(
        "slack_batch_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("review_item_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("pulled_out_by", sa.String(length=50), nullable=True),
        sa.Column("pulled_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["slack_batches.id"],
            name=op.f("fk_slack_batch_items_batch_id_slack_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["review_item_id"],
            ["review_items.id"],
            name=op.f("fk_slack_batch_items_review_item_id_review_items"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_batch_items")),
        sa.UniqueConstraint("review_item_id", name=op.f("uq_slack_batch_items_review_item_id")),
    )
    with op.batch_alter_table("slack_batch_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_slack_batch_items_batch_id"), ["batch_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("slack_batch_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slack_batch_items_batch_id"))
    op.drop_table("slack_batch_items")
    op.drop_table("slack_batches")
