"""An organisation member's role on a problem statement: the organisation half of staff scoping.

A host or judge of an organisation acts on the problem statements that organisation hosts, and on
no other. `challenge.competitions.staff` asks this module before it says no.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from challenge.challenges.models import (
    Challenge,
    ChallengeProblem,
    Organisation,
    OrganisationMember,
)
from challenge.competitions.models import StaffRole


def organisation_role(session: Session, *, user_id: int, competition_id: int) -> StaffRole | None:
    """The user's role in the organisation hosting this competition, if they are a member."""
    role = session.scalar(
        select(OrganisationMember.role)
        .join(
            ChallengeProblem,
            ChallengeProblem.organisation_id == OrganisationMember.organisation_id,
        )
        .where(
            ChallengeProblem.competition_id == competition_id,
            OrganisationMember.user_id == user_id,
        )
    )
    return role


def organisation_competition_ids(session: Session, *, user_id: int) -> set[int]:
    """The competitions hosted by the organisations the user is a member of."""
    rows = session.scalars(
        select(ChallengeProblem.competition_id)
        .join(
            OrganisationMember,
            OrganisationMember.organisation_id == ChallengeProblem.organisation_id,
        )
        .where(OrganisationMember.user_id == user_id)
    )
    return set(rows)


def challenge_and_organisation(
    session: Session, *, competition_id: int
) -> tuple[str | None, str | None]:
    """The slugs of the challenge a competition belongs to and of its hosting organisation."""
    row = session.execute(
        select(Challenge.slug, Organisation.slug)
        .select_from(ChallengeProblem)
        .join(Challenge, Challenge.id == ChallengeProblem.challenge_id)
        .outerjoin(Organisation, Organisation.id == ChallengeProblem.organisation_id)
        .where(ChallengeProblem.competition_id == competition_id)
    ).first()
    return (row[0], row[1]) if row is not None else (None, None)
