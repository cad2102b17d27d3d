"""Restricted problem statements: conditions, requests, the approval queue and the checks.

A host may restrict a problem statement: data-sharing terms to accept, eligibility (countries,
affiliations, read from the participant's challenge registration) and manual approval. Until a
participant is admitted, downloading its data is refused; a team submits only once all its members
are admitted. Every request and decision is written to the competition's audit log.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from challenge.accounts import service as accounts
from challenge.accounts.models import User
from challenge.challenges import registration
from challenge.challenges.models import Admission, AdmissionStatus, Conditions
from challenge.competitions.models import Competition
from challenge.competitions.staff import is_staff, require_manager, require_staff
from challenge.db.base import utcnow
from challenge.errors import Conflict, Forbidden, NotFound, ValidationFailed
from challenge.judging import audit
from challenge.teams.models import Team


def conditions_of(session: Session, *, competition: Competition) -> Conditions | None:
    """The competition's conditions, if it is restricted."""
    return session.scalar(select(Conditions).where(Conditions.competition_id == competition.id))


def is_restricted(conditions: Conditions | None) -> bool:
    """True when the conditions ask anything of a participant."""
    if conditions is None:
        return False
    eligibility = conditions.eligibility or {}
    return bool(
        conditions.terms
        or conditions.manual_approval
        or eligibility.get("countries")
        or eligibility.get("affiliations")
    )


def set_conditions(
    session: Session,
    *,
    competition: Competition,
    actor: User,
    terms: str,
    countries: list[str],
    affiliations: list[str],
    manual_approval: bool,
) -> Conditions:
    """Set (or lift, with nothing asked) the conditions of a problem statement (its hosts)."""
    require_manager(actor, competition)
    conditions = conditions_of(session, competition=competition) or Conditions(
        competition_id=competition.id
    )
    conditions.terms = terms
    conditions.eligibility = {"countries": countries, "affiliations": affiliations}
    conditions.manual_approval = manual_approval
    conditions.updated_at = utcnow()
    session.add(conditions)
    session.flush()
    summary = (
        f"terms: {'yes' if terms else 'no'}; countries: {', '.join(countries) or 'any'}; "
        f"affiliations: {', '.join(affiliations) or 'any'}; manual approval: "
        f"{'yes' if manual_approval else 'no'}"
    )
    audit.record(
        session,
        competition_id=competition.id,
        actor=actor,
        action="conditions.set",
        target=competition.slug,
        reason=summary,
    )
    return conditions


def get(session: Session, *, competition: Competition, user: User) -> Admission | None:
    """The user's admission request to the competition, if any."""
    return session.scalar(
        select(Admission).where(
            Admission.competition_id == competition.id, Admission.user_id == user.id
        )
    )


def get_all(
    session: Session, *, competition: Competition, actor: User, status: AdmissionStatus | None
) -> list[Admission]:
    """The requests to a competition (its staff), oldest first; `status` filters (the queue)."""
    require_staff(actor, competition)
    query = select(Admission).where(Admission.competition_id == competition.id)
    if status is not None:
        query = query.where(Admission.status == status)
    return list(session.scalars(query.order_by(Admission.created_at, Admission.id)))


def request(
    session: Session, *, competition: Competition, user: User, accept_terms: bool
) -> Admission:
    """Ask to take part: terms accepted, eligibility checked, then admitted or queued.

    An ineligible participant is refused with the reason (and the refusal audited); with manual
    approval an eligible one waits in the host's queue.
    """
    conditions = conditions_of(session, competition=competition)
    if not is_restricted(conditions):
        raise Conflict(f"{competition.slug!r} is open to everyone; no admission is needed")
    assert conditions is not None
    if is_staff(user, competition):
        raise Forbidden(f"you are staff of {competition.slug!r}; staff need no admission")
    current = get(session, competition=competition, user=user)
    if current is not None and current.status is AdmissionStatus.ADMITTED:
        return current
    if conditions.terms and not accept_terms:
        raise ValidationFailed(
            f"{competition.slug!r} shares its data under terms: read them "
            f"(GET /api/v1/competitions/{competition.slug}/conditions) and send "
            '{"accept_terms": true}'
        )
    refusal = _ineligible(session, conditions, competition, user)
    admission = current or Admission(competition_id=competition.id, user_id=user.id)
    admission.accepted_terms_at = utcnow() if conditions.terms else None
    admission.decided_by_id, admission.decided_at = None, None
    if refusal is not None:
        admission.status, admission.reason = AdmissionStatus.REFUSED, refusal
        admission.decided_at = utcnow()
    elif conditions.manual_approval:
        admission.status, admission.reason = AdmissionStatus.PENDING, ""
    else:
        admission.status, admission.reason = AdmissionStatus.ADMITTED, "meets every condition"
        admission.decided_at = utcnow()
    session.add(admission)
    session.flush()
    audit.record(
        session,
        competition_id=competition.id,
        actor=user,
        action=f"admission.{admission.status.value}",
        target=user.username,
        reason=admission.reason or "waiting for a host's approval",
    )
    return admission


def _ineligible(
    session: Session, conditions: Conditions, competition: Competition, user: User
) -> str | None:
    """Why the user is not eligible, or None."""
    countries = [c.casefold() for c in conditions.eligibility.get("countries", [])]
    affiliations = [a.casefold() for a in conditions.eligibility.get("affiliations", [])]
    if not countries and not affiliations:
        return None
    profile = registration.of_competition(session, competition=competition, user=user)
    if profile is None:
        return (
            "eligibility is checked against your challenge registration (country, affiliation); "
            "register to the challenge first"
        )
    if countries and profile.country.casefold() not in countries:
        allowed = ", ".join(conditions.eligibility["countries"])
        return f"open to participants from {allowed}; your registration says {profile.country}"
    if affiliations and profile.affiliation.casefold() not in affiliations:
        allowed = ", ".join(conditions.eligibility["affiliations"])
        return f"open to members of {allowed}; your registration says {profile.affiliation}"
    return None


def decide(
    session: Session,
    *,
    competition: Competition,
    actor: User,
    username: str,
    admit: bool,
    reason: str,
) -> Admission:
    """A host admits or refuses a participant's request (a refusal needs a reason); audited."""
    require_manager(actor, competition)
    user = accounts.get_by_username(session, username=username)
    admission = None if user is None else get(session, competition=competition, user=user)
    if admission is None:
        raise NotFound(f"{username!r} has not asked to take part in {competition.slug!r}")
    if not admit and not reason.strip():
        raise ValidationFailed("say why in `reason`: the participant sees it")
    admission.status = AdmissionStatus.ADMITTED if admit else AdmissionStatus.REFUSED
    admission.reason = reason.strip() or "approved by a host"
    admission.decided_by_id, admission.decided_at = actor.id, utcnow()
    session.flush()
    audit.record(
        session,
        competition_id=competition.id,
        actor=actor,
        action=f"admission.{admission.status.value}",
        target=username,
        reason=admission.reason,
    )
    return admission


def refusal(session: Session, *, competition: Competition, user: User) -> str | None:
    """Why the user may not yet use the competition's data, or None when they may."""
    conditions = conditions_of(session, competition=competition)
    if not is_restricted(conditions) or is_staff(user, competition):
        return None
    admission = get(session, competition=competition, user=user)
    how = (
        f"ask with POST /api/v1/competitions/{competition.slug}/admission "
        "(the competition page shows the conditions)"
    )
    if admission is None:
        return f"{competition.slug!r} is restricted to admitted participants: {how}"
    if admission.status is AdmissionStatus.PENDING:
        return f"your request to take part in {competition.slug!r} waits for a host's approval"
    if admission.status is AdmissionStatus.REFUSED:
        return f"your request to take part in {competition.slug!r} was refused: {admission.reason}"
    return None


def require_admitted(session: Session, *, competition: Competition, user: User) -> None:
    """Raise Forbidden, saying why, unless the user may use a restricted competition's data."""
    reason = refusal(session, competition=competition, user=user)
    if reason is not None:
        raise Forbidden(reason)


def require_team_admitted(session: Session, *, competition: Competition, team: Team) -> None:
    """Raise Forbidden unless every member of the team is admitted, naming who is not."""
    if not is_restricted(conditions_of(session, competition=competition)):
        return
    for member in team.members:
        reason = refusal(session, competition=competition, user=member.user)
        if reason is not None:
            raise Forbidden(
                f"every member of team {team.name!r} must be admitted before it submits; "
                f"{member.user.username}: {reason}"
            )


@dataclass(frozen=True)
class Access:
    """What a restricted competition's page says to a visitor."""

    conditions: Conditions
    admission: Admission | None
    refusal: str | None


def access_of(session: Session, *, competition: Competition, user: User | None) -> Access | None:
    """The conditions and the visitor's standing, or None when the competition is open."""
    conditions = conditions_of(session, competition=competition)
    if conditions is None or not is_restricted(conditions):
        return None
    if user is None:
        return Access(conditions, None, None)
    return Access(
        conditions,
        get(session, competition=competition, user=user),
        refusal(session, competition=competition, user=user),
    )
