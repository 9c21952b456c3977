"""retention: legal holds, purge runs, the blocked-author register

Revision ID: 0006t
Revises: 0004
Create Date: 2026-11-21 22:39:30.039374
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision: str = "0006t"
down_revision: str | None = "0006r"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "purge_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_by", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("purged", JSON_TYPE, nullable=False),
        sa.Column("kept", JSON_TYPE, nullable=False),
        sa.Column("authors_anonymised", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purge_runs")),
    )
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(length=200), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_by", sa.String(length=200), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["authors.id"], name=op.f("fk_legal_holds_author_id_authors")
        ),
        sa.ForeignKeyConstraint(
            ["comment_id"], ["comments.id"], name=op.f("fk_legal_holds_comment_id_comments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_holds")),
    )
    with op.batch_alter_table("legal_holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_legal_holds_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_legal_holds_comment_id"), ["comment_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_legal_holds_released_at"), ["released_at"], unique=False
        )

    op.create_table(
        "purged_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column("purge_run_id", sa.Integer(), nullable=False),
        sa.Column("retention_class", sa.String(length=50), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("expired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["comment_id"], ["comments.id"], name=op.f("fk_purged_comments_comment_id_comments")
        ),
        sa.ForeignKeyConstraint(
            ["purge_run_id"],
            ["purge_runs.id"],
            name=op.f("fk_purged_comments_purge_run_id_purge_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purged_comments")),
        sa.UniqueConstraint("comment_id", name=op.f("uq_purged_comments_comment_id")),
    )
    with op.batch_alter_table("purged_comments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_purged_comments_purge_run_id"), ["purge_run_id"], unique=False
        )

    op.create_table(
        "blocked_authors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column("reason_code", sa.String(length=50), nullable=True),
        sa.Column("blocked_by", sa.String(length=200), nullable=False),
        sa.Column("blocked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("block_decision_id", sa.Integer(), nullable=False),
        sa.Column("review_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unblocked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unblocked_by", sa.String(length=200), nullable=True),
        sa.Column("unblock_decision_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_blocked_authors_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["authors.id"], name=op.f("fk_blocked_authors_author_id_authors")
        ),
        sa.ForeignKeyConstraint(
            ["block_decision_id"],
            ["decisions.id"],
            name=op.f("fk_blocked_authors_block_decision_id_decisions"),
        ),
        sa.ForeignKeyConstraint(
            ["comment_id"], ["comments.id"], name=op.f("fk_blocked_authors_comment_id_comments")
        ),
        sa.ForeignKeyConstraint(
            ["unblock_decision_id"],
            ["decisions.id"],
            name=op.f("fk_blocked_authors_unblock_decision_id_decisions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blocked_authors")),
        sa.UniqueConstraint("block_decision_id", name=op.f("uq_blocked_authors_block_decision_id")),
    )
    with op.batch_alter_table("blocked_authors", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_blocked_authors_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_blocked_authors_author_id"), ["author_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_blocked_authors_review_due"), ["review_due"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_blocked_authors_unblocked_at"), ["unblocked_at"], unique=False
        )

    op.create_table(
        "block_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("blocked_author_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reviewed_by", sa.String(length=200), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("previous_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_review_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["blocked_author_id"],
            ["blocked_authors.id"],
            name=op.f("fk_block_reviews_blocked_author_id_blocked_authors"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_block_reviews")),
    )
    with op.batch_alter_table("block_reviews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_block_reviews_blocked_author_id"), ["blocked_author_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("block_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_block_reviews_blocked_author_id"))

    op.drop_table("block_reviews")
    with op.batch_alter_table("blocked_authors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blocked_authors_unblocked_at"))
        batch_op.drop_index(batch_op.f("ix_blocked_authors_review_due"))
        batch_op.drop_index(batch_op.f("ix_blocked_authors_author_id"))
        batch_op.drop_index(batch_op.f("ix_blocked_authors_account_id"))

    op.drop_table("blocked_authors")
    with op.batch_alter_table("purged_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purged_comments_purge_run_id"))

    op.drop_table("purged_comments")
    with op.batch_alter_table("legal_holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_legal_holds_released_at"))
        batch_op.drop_index(batch_op.f("ix_legal_holds_comment_id"))
        batch_op.drop_index(batch_op.f("ix_legal_holds_author_id"))

    op.drop_table("legal_holds")
    op.drop_table("purge_runs")
