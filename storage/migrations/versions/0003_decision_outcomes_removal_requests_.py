"""decision outcomes, removal requests, member events

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 20:55:48.822916
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# SQLite rebuilds a table to add a foreign key, and its triggers go with the old table: put
# the append-only guard back (PostgreSQL alters in place and keeps its trigger).
APPEND_ONLY_SQLITE = [
    """CREATE TRIGGER IF NOT EXISTS decisions_no_update BEFORE UPDATE ON decisions
       BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS decisions_no_delete BEFORE DELETE ON decisions
       BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END""",
]


def _restore_sqlite_guard() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in APPEND_ONLY_SQLITE:
            op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "member_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slack_user_id", sa.String(length=50), nullable=False),
        sa.Column("change", sa.String(length=20), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=True),
        sa.Column("changed_by", sa.String(length=50), nullable=False),
        sa.Column("changed_by_role", sa.String(length=20), nullable=False),
        sa.Column("needs_clerk_review", sa.Boolean(), nullable=False),
        sa.Column("reviewed_by", sa.String(length=50), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_events")),
    )
    with op.batch_alter_table("member_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_member_events_slack_user_id"), ["slack_user_id"], unique=False
        )

    op.create_table(
        "removal_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_item_id", sa.Integer(), nullable=False),
        sa.Column("review_version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("reason_code", sa.String(length=50), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=50), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("needs", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("resolved_by", sa.String(length=50), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("slack_channel", sa.String(length=50), nullable=True),
        sa.Column("slack_ts", sa.String(length=50), nullable=True),
        sa.ForeignKeyConstraint(
            ["review_item_id"],
            ["review_items.id"],
            name=op.f("fk_removal_requests_review_item_id_review_items"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_removal_requests")),
    )
    with op.batch_alter_table("removal_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_removal_requests_review_item_id"), ["review_item_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_removal_requests_status"), ["status"], unique=False)

    op.create_table(
        "decision_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("platform_ref", sa.String(length=200), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decisions.id"],
            name=op.f("fk_decision_outcomes_decision_id_decisions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_outcomes")),
        sa.UniqueConstraint("decision_id", name=op.f("uq_decision_outcomes_decision_id")),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approved_by", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("undoes_decision_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_decisions_undoes_decision_id_decisions"),
            "decisions",
            ["undoes_decision_id"],
            ["id"],
        )

    _restore_sqlite_guard()


def downgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_decisions_undoes_decision_id_decisions"), type_="foreignkey"
        )
        batch_op.drop_column("undoes_decision_id")
        batch_op.drop_column("approved_by")

    op.drop_table("decision_outcomes")
    with op.batch_alter_table("removal_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_removal_requests_status"))
        batch_op.drop_index(batch_op.f("ix_removal_requests_review_item_id"))

    op.drop_table("removal_requests")
    with op.batch_alter_table("member_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_events_slack_user_id"))

    op.drop_table("member_events")

    _restore_sqlite_guard()
