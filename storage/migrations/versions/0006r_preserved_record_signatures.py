"""preserved record signatures

Revision ID: 0006r
Revises: 0004
Create Date: 2026-11-22 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006r"
down_revision: str | None = "0006a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Records preserved before this revision stay unsigned (NULL): signing them now would
    # vouch for content nobody signed at the time.
    with op.batch_alter_table("preserved_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signature", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("signature_key_id", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("preserved_records", schema=None) as batch_op:
        batch_op.drop_column("signature_key_id")
        batch_op.drop_column("signature")
