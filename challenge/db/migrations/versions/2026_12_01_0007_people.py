"""people: one-time links, token expiry, competition status, submission method, notifications

Existing competitions are published.

Revision ID: 0007_people
Revises: 0006_challenges
Create Date: 2026-12-01 15:00:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0007_people"
down_revision: str | None = "0006_challenges"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("competitions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "status",
                sa.Enum(
                    "draft",
                    "published",
                    "archived",
                    name="competitionstatus",
                    native_enum=False,
                    length=16,
                ),
                server_default="published",
                nullable=False,
            )
        )
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("method", sa.JSON(), nullable=True))
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "one_time_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("login", "reset", "invite", name="linkkind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column(
            "role",
            sa.Enum(
                "admin", "host", "judge", "participant", name="role", native_enum=False, length=16
            ),
            nullable=True,
        ),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_one_time_links_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_one_time_links_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_one_time_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_one_time_links_token_hash")),
    )
    with op.batch_alter_table("one_time_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_one_time_links_user_id"), ["user_id"], unique=False)
    kinds = sa.Enum(
        "submission_finished",
        "submission_failed",
        "phase_opened",
        "phase_closed",
        "phase_finalized",
        "announcement",
        name="notificationkind",
        native_enum=False,
        length=32,
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", kinds, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notifications_user_id"), ["user_id"], unique=False)
    op.create_table(
        "email_opt_outs",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", kinds, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_email_opt_outs_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "kind", name=op.f("pk_email_opt_outs")),
    )

    with op.batch_alter_table("phases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("opened_notified_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("closed_notified_at", sa.DateTime(timezone=True), nullable=True)
        )
    phases = sa.table(
        "phases",
        sa.column("start_at", sa.DateTime(timezone=True)),
        sa.column("end_at", sa.DateTime(timezone=True)),
        sa.column("opened_notified_at", sa.DateTime(timezone=True)),
        sa.column("closed_notified_at", sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)  # what happened before this version is not announced now
    op.execute(phases.update().where(phases.c.start_at <= now).values(opened_notified_at=now))
    op.execute(phases.update().where(phases.c.end_at <= now).values(closed_notified_at=now))


def downgrade() -> None:
    with op.batch_alter_table("phases", schema=None) as batch_op:
        batch_op.drop_column("closed_notified_at")
        batch_op.drop_column("opened_notified_at")
    op.drop_table("email_opt_outs")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_user_id"))
    op.drop_table("notifications")
    with op.batch_alter_table("one_time_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_one_time_links_user_id"))
    op.drop_table("one_time_links")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("competitions", schema=None) as batch_op:
        batch_op.drop_column("status")
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_column("method")
