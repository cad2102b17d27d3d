"""reproduction leases: claim, lease, attempts and dispatch time of a reproduction

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 13:01:38.967565
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reproductions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(sa.Column("claim_token", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("worker", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_reproductions_status_lease", ["status", "lease_expires_at"], unique=False
        )
    # Reproductions left running by a lost worker before leases existed: an expired lease lets
    # the reaper re-queue them.
    reproductions = sa.table(
        "reproductions",
        sa.column("status", sa.String()),
        sa.column("lease_expires_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        reproductions.update()
        .where(reproductions.c.status == "running")
        .values(lease_expires_at=datetime.now(UTC))
    )


def downgrade() -> None:
    with op.batch_alter_table("reproductions", schema=None) as batch_op:
        batch_op.drop_index("ix_reproductions_status_lease")
        batch_op.drop_column("dispatched_at")
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("worker")
        batch_op.drop_column("claim_token")
        batch_op.drop_column("attempts")
