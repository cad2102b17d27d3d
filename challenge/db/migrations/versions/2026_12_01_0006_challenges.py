"""challenges: organisations, challenges and their problem statements, registrations, admission,
rubrics, team reports and rubric scores, the global round (finalists, jury, scores, awards),
certificates, the model marketplace, announcements and events

Revision ID: 0006_challenges
Revises: 0005_scoring
Create Date: 2026-12-01 15:32:05.296465
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_challenges"
down_revision: str | None = "0005_scoring"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "challenges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("registration_opens_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("registration_closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("final_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("final_rubric", sa.JSON(), nullable=False),
        sa.Column("results_published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("data_guideline", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_challenges_owner_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenges")),
        sa.UniqueConstraint("slug", name=op.f("uq_challenges_slug")),
    )
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=100), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("logo_url", sa.String(length=500), nullable=False),
        sa.Column("website", sa.String(length=500), nullable=False),
        sa.Column("contact_email", sa.String(length=320), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_organisations_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("slug", name=op.f("uq_organisations_slug")),
    )
    op.create_table(
        "admissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("competition_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "admitted",
                "refused",
                name="admissionstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("accepted_terms_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["competition_id"],
            ["competitions.id"],
            name=op.f("fk_admissions_competition_id_competitions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_admissions_decided_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_admissions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admissions")),
        sa.UniqueConstraint(
            "competition_id", "user_id", name=op.f("uq_admissions_competition_id_user_id")
        ),
    )
    with op.batch_alter_table("admissions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_admissions_competition_id"), ["competition_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_admissions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "announcements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("competition_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_announcements_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenges.id"],
            name=op.f("fk_announcements_challenge_id_challenges"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["competition_id"],
            ["competitions.id"],
            name=op.f("fk_announcements_competition_id_competitions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcements")),
    )
    with op.batch_alter_table("announcements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_announcements_challenge_id"), ["challenge_id"], unique=False
        )

    op.create_table(
        "certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "participant",
                "finalist",
                "winner",
                name="certificatekind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenges.id"],
            name=op.f("fk_certificates_challenge_id_challenges"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_certificates_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
        sa.UniqueConstraint(
            "challenge_id",
            "user_id",
            "kind",
            "detail",
            name=op.f("uq_certificates_challenge_id_user_id_kind_detail"),
        ),
        sa.UniqueConstraint("code", name=op.f("uq_certificates_code")),
    )
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_certificates_challenge_id"), ["challenge_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_certificates_user_id"), ["user_id"], unique=False)

    op.create_table(
        "challenge_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("competition_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("link_url", sa.String(length=500), nullable=False),
        sa.Column("recording_url", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenges.id"],
            name=op.f("fk_challenge_events_challenge_id_challenges"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["competition_id"],
            ["competitions.id"],
            name=op.f("fk_challenge_events_competition_id_competitions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge_events")),
    )
    with op.batch_alter_table("challenge_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_challenge_events_challenge_id"), ["challenge_id"], unique=False
        )

    op.create_table(
        "challenge_problems",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("competition_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("data_profile", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenges.id"],
            name=op.f("fk_challenge_problems_challenge_id_challenges"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["competition_id"],
            ["competitions.id"],
            name=op.f("fk_challenge_problems_competition_id_competitions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_challenge_problems_organisation_id_organisations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge_problems")),
        sa.UniqueConstraint("competition_id", name=op.f("uq_challenge_problems_competition_id")),
    )
    with op.batch_alter_table("challenge_problems", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_challenge_problems_challenge_id"), ["challenge_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_challenge_problems_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "challenge_registrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("affiliation", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=100), nullable=False),
        sa.Column(
            "category",
            sa.Enum("student", "professional", name="category", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenges.id"],
            name=op.f("fk_challenge_registrations_challenge_id_challenges"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_challenge_registrations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge_registrations")),
        sa.UniqueConstraint(
            "challenge_id", "user_id", name=op.f("uq_challenge_registrations_challenge_id_user_id")
        ),
    )
    with op.batch_alter_table("challenge_registrations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_challenge_registrations_challenge_id"), ["challenge_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_challenge_registrations_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "jury_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenges.id"],
            name=op.f("fk_jury_members_challenge_id_challenges"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_jury_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jury_members")),
        sa.UniqueConstraint(
            "challenge_id", "user_id", name=op.f("uq_jury_members_challenge_id_user_id")
        ),
    )
    with op.batch_alter_table("jury_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_jury_members_challenge_id"), ["challenge_id"], unique=False
        )

    op.create_table(
        "organisation_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum("host", "judge", name="staffrole", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_organisation_members_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_organisation_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_members")),
        sa.UniqueConstraint(
            "organisation_id",
            "user_id",
            name=op.f("uq_organisation_members_organisation_id_user_id"),
        ),
    )
    with op.batch_alter_table("organisation_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organisation_members_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_organisation_members_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "problem_conditions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("competition_id", sa.Integer(), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("eligibility", sa.JSON(), nullable=False),
        sa.Column("manual_approval", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["competition_id"],
            ["competitions.id"],
            name=op.f("fk_problem_conditions_competition_id_competitions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problem_conditions")),
        sa.UniqueConstraint("competition_id", name=op.f("uq_problem_conditions_competition_id")),
    )
    op.create_table(
        "rubric_judges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("competition_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["competition_id"],
            ["competitions.id"],
            name=op.f("fk_rubric_judges_competition_id_competitions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_rubric_judges_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rubric_judges")),
        sa.UniqueConstraint(
            "competition_id", "user_id", name=op.f("uq_rubric_judges_competition_id_user_id")
        ),
    )
    with op.batch_alter_table("rubric_judges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rubric_judges_competition_id"), ["competition_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_rubric_judges_user_id"), ["user_id"], unique=False)

    op.create_table(
        "rubrics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("competition_id", sa.Integer(), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("scale_min", sa.Integer(), nullable=False),
        sa.Column("scale_max", sa.Integer(), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("metric_weight", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["competition_id"],
            ["competitions.id"],
            name=op.f("fk_rubrics_competition_id_competitions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rubrics")),
        sa.UniqueConstraint("competition_id", name=op.f("uq_rubrics_competition_id")),
    )
    op.create_table(
        "finalists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("competition_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("presentation_url", sa.String(length=500), nullable=False),
        sa.Column("nominated_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenges.id"],
            name=op.f("fk_finalists_challenge_id_challenges"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["competition_id"],
            ["competitions.id"],
            name=op.f("fk_finalists_competition_id_competitions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["nominated_by_id"],
            ["users.id"],
            name=op.f("fk_finalists_nominated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_finalists_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finalists")),
        sa.UniqueConstraint(
            "challenge_id", "team_id", name=op.f("uq_finalists_challenge_id_team_id")
        ),
    )
    with op.batch_alter_table("finalists", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_finalists_challenge_id"), ["challenge_id"], unique=False
        )

    op.create_table(
        "rubric_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("competition_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("judge_id", sa.Integer(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("total", sa.Double(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["competition_id"],
            ["competitions.id"],
            name=op.f("fk_rubric_scores_competition_id_competitions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["judge_id"],
            ["users.id"],
            name=op.f("fk_rubric_scores_judge_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_rubric_scores_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rubric_scores")),
        sa.UniqueConstraint("team_id", "judge_id", name=op.f("uq_rubric_scores_team_id_judge_id")),
    )
    with op.batch_alter_table("rubric_scores", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rubric_scores_competition_id"), ["competition_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_rubric_scores_team_id"), ["team_id"], unique=False)

    op.create_table(
        "team_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("competition_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("file_path", sa.String(length=500), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("code_url", sa.String(length=500), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["competition_id"],
            ["competitions.id"],
            name=op.f("fk_team_reports_competition_id_competitions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_team_reports_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["users.id"], name=op.f("fk_team_reports_uploaded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_reports")),
        sa.UniqueConstraint("team_id", name=op.f("uq_team_reports_team_id")),
    )
    with op.batch_alter_table("team_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_team_reports_competition_id"), ["competition_id"], unique=False
        )

    op.create_table(
        "awards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("prize", sa.String(length=200), nullable=False),
        sa.Column("finalist_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenges.id"],
            name=op.f("fk_awards_challenge_id_challenges"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["finalist_id"],
            ["finalists.id"],
            name=op.f("fk_awards_finalist_id_finalists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_awards")),
    )
    with op.batch_alter_table("awards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_awards_challenge_id"), ["challenge_id"], unique=False)

    op.create_table(
        "final_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("finalist_id", sa.Integer(), nullable=False),
        sa.Column("juror_id", sa.Integer(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("total", sa.Double(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenges.id"],
            name=op.f("fk_final_scores_challenge_id_challenges"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["finalist_id"],
            ["finalists.id"],
            name=op.f("fk_final_scores_finalist_id_finalists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["juror_id"],
            ["users.id"],
            name=op.f("fk_final_scores_juror_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_final_scores")),
        sa.UniqueConstraint(
            "finalist_id", "juror_id", name=op.f("uq_final_scores_finalist_id_juror_id")
        ),
    )
    with op.batch_alter_table("final_scores", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_final_scores_challenge_id"), ["challenge_id"], unique=False
        )

    op.create_table(
        "market_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("competition_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("licence", sa.String(length=64), nullable=False),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unpublished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("downloads", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["competition_id"],
            ["competitions.id"],
            name=op.f("fk_market_models_competition_id_competitions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["published_by_id"],
            ["users.id"],
            name=op.f("fk_market_models_published_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_market_models_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_market_models_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_models")),
        sa.UniqueConstraint("submission_id", name=op.f("uq_market_models_submission_id")),
    )
    with op.batch_alter_table("market_models", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_market_models_competition_id"), ["competition_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("market_models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_models_competition_id"))

    op.drop_table("market_models")
    with op.batch_alter_table("final_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_final_scores_challenge_id"))

    op.drop_table("final_scores")
    with op.batch_alter_table("awards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_awards_challenge_id"))

    op.drop_table("awards")
    with op.batch_alter_table("team_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_reports_competition_id"))

    op.drop_table("team_reports")
    with op.batch_alter_table("rubric_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rubric_scores_team_id"))
        batch_op.drop_index(batch_op.f("ix_rubric_scores_competition_id"))

    op.drop_table("rubric_scores")
    with op.batch_alter_table("finalists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_finalists_challenge_id"))

    op.drop_table("finalists")
    op.drop_table("rubrics")
    with op.batch_alter_table("rubric_judges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rubric_judges_user_id"))
        batch_op.drop_index(batch_op.f("ix_rubric_judges_competition_id"))

    op.drop_table("rubric_judges")
    op.drop_table("problem_conditions")
    with op.batch_alter_table("organisation_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organisation_members_user_id"))
        batch_op.drop_index(batch_op.f("ix_organisation_members_organisation_id"))

    op.drop_table("organisation_members")
    with op.batch_alter_table("jury_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jury_members_challenge_id"))

    op.drop_table("jury_members")
    with op.batch_alter_table("challenge_registrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_challenge_registrations_user_id"))
        batch_op.drop_index(batch_op.f("ix_challenge_registrations_challenge_id"))

    op.drop_table("challenge_registrations")
    with op.batch_alter_table("challenge_problems", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_challenge_problems_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_challenge_problems_challenge_id"))

    op.drop_table("challenge_problems")
    with op.batch_alter_table("challenge_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_challenge_events_challenge_id"))

    op.drop_table("challenge_events")
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificates_user_id"))
        batch_op.drop_index(batch_op.f("ix_certificates_challenge_id"))

    op.drop_table("certificates")
    with op.batch_alter_table("announcements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_announcements_challenge_id"))

    op.drop_table("announcements")
    with op.batch_alter_table("admissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admissions_user_id"))
        batch_op.drop_index(batch_op.f("ix_admissions_competition_id"))

    op.drop_table("admissions")
    op.drop_table("organisations")
    op.drop_table("challenges")
