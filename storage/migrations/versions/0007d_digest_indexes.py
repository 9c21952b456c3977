"""indexes for the weekly digest's queries

Revision ID: 0007d
Revises: 0004
Create Date: 2026-11-23 09:00:00.000000

Plain CREATE INDEX on every backend: no table is rebuilt, so the decisions table keeps its
append-only triggers on SQLite.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007d"
down_revision: str | None = "0007s"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_decisions_comment_id_decided_at", "decisions", ["comment_id", "decided_at"]
    )
    op.create_index("ix_decisions_undoes_decision_id", "decisions", ["undoes_decision_id"])
    # Blocks due for review: the few block decisions, without reading every decision.
    op.create_index("ix_decisions_action_decided_at", "decisions", ["action", "decided_at"])
    op.create_index("ix_preserved_records_preserved_at", "preserved_records", ["preserved_at"])
    op.create_index("ix_escalations_outcome_at", "escalations", ["outcome_at"])


def downgrade() -> None:
    op.drop_index("ix_escalations_outcome_at", table_name="escalations")
    op.drop_index("ix_preserved_records_preserved_at", table_name="preserved_records")
    op.drop_index("ix_decisions_action_decided_at", table_name="decisions")
    op.drop_index("ix_decisions_undoes_decision_id", table_name="decisions")
    op.drop_index("ix_decisions_comment_id_decided_at", table_name="decisions")
