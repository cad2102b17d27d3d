"""staff: hosts and judges assigned per competition; the baseline team has no members

Revision ID: 0004_staff
Revises: 0003
Create Date: 2026-12-01 09:00:00.000000

Each competition's creator becomes its first host. Baseline teams lose their members: the
baseline is the platform's entry, not a team the host belongs to (a host's own upload used to
land in it and replace the published baseline).
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004_staff"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "competition_staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("competition_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum("host", "judge", name="staffrole", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by_id"],
            ["users.id"],
            name=op.f("fk_competition_staff_added_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["competition_id"],
            ["competitions.id"],
            name=op.f("fk_competition_staff_competition_id_competitions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_competition_staff_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_competition_staff")),
        sa.UniqueConstraint(
            "competition_id", "user_id", name=op.f("uq_competition_staff_competition_id_user_id")
        ),
    )
    with op.batch_alter_table("competition_staff", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_competition_staff_competition_id"), ["competition_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_competition_staff_user_id"), ["user_id"], unique=False)

    competitions = sa.table(
        "competitions", sa.column("id", sa.Integer()), sa.column("owner_id", sa.Integer())
    )
    staff = sa.table(
        "competition_staff",
        sa.column("competition_id", sa.Integer()),
        sa.column("user_id", sa.Integer()),
        sa.column("role", sa.String()),
        sa.column("added_by_id", sa.Integer()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    rows = op.get_bind().execute(sa.select(competitions.c.id, competitions.c.owner_id)).all()
    if rows:
        op.bulk_insert(
            staff,
            [
                {
                    "competition_id": competition_id,
                    "user_id": owner_id,
                    "role": "host",
                    "added_by_id": owner_id,
                    "created_at": now,
                }
                for competition_id, owner_id in rows
            ],
        )
    teams = sa.table("teams", sa.column("id", sa.Integer()), sa.column("is_baseline", sa.Boolean()))
    members = sa.table("team_members", sa.column("team_id", sa.Integer()))
    baseline_ids = sa.select(teams.c.id).where(teams.c.is_baseline.is_(True))
    op.execute(members.delete().where(members.c.team_id.in_(baseline_ids)))


def downgrade() -> None:
    with op.batch_alter_table("competition_staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_competition_staff_user_id"))
        batch_op.drop_index(batch_op.f("ix_competition_staff_competition_id"))
    op.drop_table("competition_staff")
