"""The demo challenge `mlchallenge serve` seeds: the built-in problems under demo organisations.

The organisations are fictional and say so; they show a newcomer the whole shape at once (problem
statements by region and organisation, registration, Y.3173 levels and Y.3174 data profiles).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from challenge.accounts.models import User
from challenge.challenges import organisations, service
from challenge.challenges.models import Challenge
from challenge.competitions.models import Competition
from challenge.db.base import utcnow

SLUG = "ai-ml-in-5g-demo"
TITLE = "AI/ML in 5G (demo)"
DESCRIPTION = """\
A demonstration of the challenge shape of the ITU "AI/ML in 5G Challenge": the platform's seven
built-in problem statements, hosted by three **fictional** demo organisations. Register once, then
take part in any problem statement.
"""
ORGANISATIONS: dict[str, dict[str, str]] = {
    "demo-radio-lab": {"name": "Demo Radio Lab", "country": "Brazil", "region": "Americas"},
    "demo-operator": {"name": "Demo Network Operator", "country": "Germany", "region": "Europe"},
    "demo-university": {"name": "Demo University", "country": "Japan", "region": "Asia-Pacific"},
}
HOSTS = {
    "beam-selection": "demo-radio-lab",
    "modulation-classification": "demo-radio-lab",
    "radio-link-failure": "demo-radio-lab",
    "kpi-anomaly": "demo-operator",
    "throughput-prediction": "demo-operator",
    "traffic-forecast": "demo-operator",
    "network-delay": "demo-university",
}
"""built-in problem id -> the demo organisation hosting it"""


def seed(session: Session, *, admin: User) -> Challenge:
    """Create the demo challenge and organisations if missing; add every built-in competition
    (slug = its problem id) that is in no challenge yet. Safe to run at every start."""
    from challenge.challenges.declarations import declared_for

    challenge = service.get(session, slug=SLUG)
    if challenge is None:
        now = utcnow()
        challenge = service.create(
            session,
            actor=admin,
            slug=SLUG,
            title=TITLE,
            description=DESCRIPTION,
            registration_opens_at=now - timedelta(minutes=1),
            final_at=now + timedelta(days=90),
        )
    for slug, fields in ORGANISATIONS.items():
        if organisations.get(session, slug=slug) is None:
            organisations.create(
                session,
                actor=admin,
                slug=slug,
                contact_email=f"{slug}@example.org",
                **fields,
            )
    built_ins = session.scalars(
        select(Competition).where(
            Competition.problem_id.in_(list(HOSTS)), Competition.slug == Competition.problem_id
        )
    )
    for competition in built_ins:
        assert competition.problem_id is not None
        if service.problem_of(session, competition_id=competition.id) is not None:
            continue
        level, profile = declared_for(competition.problem_id)
        service.attach(
            session,
            competition=competition,
            actor=admin,
            challenge_slug=SLUG,
            organisation_slug=HOSTS[competition.problem_id],
            level=level,
            data_profile=profile,
        )
    return challenge
