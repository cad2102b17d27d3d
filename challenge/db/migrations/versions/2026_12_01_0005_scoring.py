"""scoring: fact-sheet answers kept with each submission

Revision ID: 0005_scoring
Revises: 0004_staff
Create Date: 2026-12-01 15:50:00.000000

Competitions imported from Codabench may ask fact-sheet questions with every submission; the
answers are kept as JSON. Everything else of issue 14 (scoring programs, tasks, boards) lives in
the competition's intent and settings, which are JSON already.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_scoring"
down_revision: str | None = "0004_staff"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("fact_sheet", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("fact_sheet")
