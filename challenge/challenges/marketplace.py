"""The model marketplace (after ITU-T Y.3176): teams publish their final model once the phase is
finalized, with a licence they choose; only published models are listed; downloads are counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from challenge.accounts.models import Role, User
from challenge.challenges.models import MarketModel
from challenge.competitions.models import Competition, Phase
from challenge.db.base import utcnow
from challenge.errors import Conflict, Forbidden, NotFound, ValidationFailed
from challenge.submissions.models import Submission, SubmissionStatus
from challenge.teams import service as teams
from challenge.teams.models import Team

LICENCES = (
    "Apache-2.0",
    "MIT",
    "BSD-3-Clause",
    "GPL-3.0-only",
    "CC-BY-4.0",
    "CC-BY-SA-4.0",
    "CC-BY-NC-4.0",
    "CC0-1.0",
)
"""SPDX identifiers a team may choose from."""


def publish(
    session: Session,
    *,
    user: User,
    submission_id: int,
    licence: str,
    title: str,
    description: str,
) -> MarketModel:
    """Publish (or publish again, with new terms) a team's finished submission of a finalized
    phase; the caller is a member of its team."""
    if licence not in LICENCES:
        raise ValidationFailed(f"licence must be one of {', '.join(LICENCES)}; got {licence!r}")
    submission = session.get(Submission, submission_id)
    if submission is None or not teams.is_member(
        session, team_id=submission.team_id, user_id=user.id
    ):
        raise NotFound(f"submission {submission_id} is not one of your team's")
    if submission.status is not SubmissionStatus.FINISHED or submission.disqualified_reason:
        raise Conflict("only a finished submission that was not disqualified can be published")
    if submission.format == "predictions":
        raise Conflict("a predictions file is not a model; publish a model submission")
    phase = session.get(Phase, submission.phase_id)
    if phase is None or phase.finalized_at is None:
        raise Conflict(
            "models are published once the phase is finalized (its final standings are fixed)"
        )
    model = session.scalar(select(MarketModel).where(MarketModel.submission_id == submission.id))
    if model is None:
        model = MarketModel(
            submission_id=submission.id,
            competition_id=submission.competition_id,
            team_id=submission.team_id,
        )
        session.add(model)
    model.licence, model.title, model.description = licence, title, description
    model.published_by_id, model.published_at, model.unpublished_at = user.id, utcnow(), None
    session.flush()
    return model


def listed(session: Session) -> list[MarketModel]:
    """Every published model, newest first."""
    return list(
        session.scalars(
            select(MarketModel)
            .where(MarketModel.unpublished_at.is_(None))
            .order_by(MarketModel.published_at.desc(), MarketModel.id.desc())
        )
    )


def can_manage(session: Session, model: MarketModel, user: User | None) -> bool:
    """The model's team and admins manage it."""
    return user is not None and (
        user.role is Role.ADMIN or teams.is_member(session, team_id=model.team_id, user_id=user.id)
    )


def get_or_raise(session: Session, *, model_id: int, user: User | None) -> MarketModel:
    """A published model (its team and admins also see it unpublished), or NotFound."""
    model = session.get(MarketModel, model_id)
    if model is None or (model.unpublished_at is not None and not can_manage(session, model, user)):
        raise NotFound(
            f"model {model_id} is not in the marketplace; GET /api/v1/marketplace lists them"
        )
    return model


def unpublish(session: Session, *, model_id: int, user: User) -> MarketModel:
    """Take a model off the marketplace (its team, admins)."""
    model = get_or_raise(session, model_id=model_id, user=user)
    if not can_manage(session, model, user):
        raise Forbidden("only the model's team or an admin unpublishes it")
    model.unpublished_at = utcnow()
    session.flush()
    return model


def download(session: Session, *, model_id: int, user: User | None) -> tuple[Path, str]:
    """The model file, in its submitted format, and its name; counts the download."""
    model = get_or_raise(session, model_id=model_id, user=user)
    if model.unpublished_at is not None:
        raise NotFound(f"model {model_id} is unpublished")
    submission = session.get(Submission, model.submission_id)
    assert submission is not None
    session.execute(
        update(MarketModel)
        .where(MarketModel.id == model.id)
        .values(downloads=MarketModel.downloads + 1)
    )
    return Path(submission.file_path), submission.file_name


@dataclass(frozen=True)
class Card:
    """A model card: what, how good, where from, under which licence."""

    model: MarketModel
    submission: Submission
    competition: Competition
    team: Team
    registered_model: str


def card(session: Session, model: MarketModel) -> Card:
    """The model's card."""
    from mlfo.tracking import registered_model_name

    submission = session.get(Submission, model.submission_id)
    competition = session.get(Competition, model.competition_id)
    team = session.get(Team, model.team_id)
    assert submission is not None and competition is not None and team is not None
    session.refresh(model)
    return Card(model, submission, competition, team, registered_model_name(competition.slug))
