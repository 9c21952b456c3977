"""an index on comment versions' text digests, for counting repeated texts

Revision ID: 0008i
Revises: 0007d
Create Date: 2026-11-22 02:00:00.000000

Ingest counts, for every batch it classifies, how many comments carry each text (a copy-paste
campaign or a spam flood): without this index each count read the whole table, so an import
slowed down as it went. Plain CREATE INDEX on every backend: no table is rebuilt.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008i"
down_revision: str | None = "0007d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # With comment_id in the index, the count never reads the versions themselves.
    op.create_index(
        "ix_comment_versions_content_sha256_comment_id",
        "comment_versions",
        ["content_sha256", "comment_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_comment_versions_content_sha256_comment_id", table_name="comment_versions")
