"""Preparing a data directory: migrations, the admin account, built-in problems as competitions
grouped in the demo challenge."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from challenge.accounts import links
from challenge.accounts import service as accounts
from challenge.challenges import demo
from challenge.competitions import service as competitions
from challenge.config import Settings
from challenge.db.migrate import upgrade
from challenge.db.session import transaction
from challenge.errors import Conflict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Bootstrapped:
    """What `prepare` did."""

    admin_token: str
    seeded: list[str]
    login_secret: str
    """The secret of a one-time link that logs the admin in on the web."""
    challenge: str | None = None
    """the slug of the demo challenge grouping the built-in problems, when any were asked for"""


def prepare(settings: Settings, *, seed_problems: list[str] | None) -> Bootstrapped:
    """Migrate, ensure an admin (fresh token written to `admin-token`), seed problems."""
    settings.ensure_dirs()
    upgrade(settings.database_url)
    with transaction(settings.database_url) as session:
        admin, token = accounts.ensure_admin(session)
        _, login_secret = links.login_link(
            session, user=admin, lifetime=timedelta(minutes=settings.login_link_minutes)
        )
    token_file = settings.home / "admin-token"
    token_file.write_text(token + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    seeded = []
    for problem_id in seed_problems or []:
        try:
            with transaction(settings.database_url) as session:
                if competitions.get(session, slug=problem_id) is not None:
                    continue
                log.info("seeding built-in problem %s", problem_id)
                owner = accounts.get_or_raise(session, user_id=admin.id)
                competitions.create_from_problem(
                    session, settings=settings, owner=owner, problem_id=problem_id
                )
        except Conflict as exc:  # its folders survive a deleted database: never overwritten
            log.warning("not seeding %s: %s", problem_id, exc.message)
            continue
        seeded.append(problem_id)
    challenge = None
    if seed_problems:
        with transaction(settings.database_url) as session:
            owner = accounts.get_or_raise(session, user_id=admin.id)
            challenge = demo.seed(session, admin=owner).slug
    return Bootstrapped(
        admin_token=token, seeded=seeded, login_secret=login_secret, challenge=challenge
    )
