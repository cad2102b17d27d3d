"""The judge panel: both boards, flags, disqualification with a reason, re-runs, reproduction of the
top k and finalization, all through the judging services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from challenge.accounts.models import User
from challenge.api.deps import RowId, SessionDep, SettingsDep
from challenge.competitions import service as competitions
from challenge.competitions import staff
from challenge.competitions.models import Competition
from challenge.config import Settings
from challenge.errors import BadRequest, NotFound, PlatformError
from challenge.judging import audit, finalization, reproduction, rescoring, service
from challenge.judging.schemas import (
    AnnotationCreate,
    FinalizeBody,
    ReasonBody,
    ReproductionCreate,
    RescoreBody,
    SubmissionRescoreBody,
    audit_read,
    reproduction_read,
)
from challenge.submissions import service as submissions
from challenge.submissions.models import Submission
from challenge.submissions.schemas import submission_read
from challenge.teams import service as teams
from challenge.teams.models import Team
from challenge.web.rendering import PageError, render
from challenge.web.routing import HtmlRoute
from challenge.web.security import CSRF, LoggedIn
from leaderboards import service as boards

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)

DONE = {
    "flag": "Flag saved.",
    "disqualify": "Disqualified; the boards are updated.",
    "reinstate": "Reinstated; the boards are updated.",
    "rescore": "Queued for a re-run; the result becomes a new score version.",
    "annotate": "Note added.",
    "reproduce": "Reproduction queued; its results appear below when the worker is done.",
    "finalize": "Phase finalized: the private board is published and the phase is closed.",
}
Action = Callable[[Competition], str]


def _panel(
    request: Request,
    session: Session,
    user: User,
    competition: Competition,
    *,
    phase_name: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    staff.require_staff(user, competition)
    phase = competitions.get_phase_or_raise(competition, name=phase_name)
    shown = {
        board: boards.get_board(
            session, competition=competition, phase=phase, board=board, user=user
        )
        for board in ("public", "private")
    }
    rows = submissions.get_all_for_competition(session, competition_id=competition.id)
    notes = service.get_annotations(session, competition_id=competition.id)
    return render(
        request,
        "judge.html",
        user=user,
        competition=competition,
        phase=phase,
        boards=shown,
        rows=[submission_read(session, s, user) for s in rows if s.phase_id == phase.id],
        teams=teams.get_all(session, competition_id=competition.id),
        notes=notes,
        events=[
            audit_read(session, e) for e in audit.get_all(session, competition_id=competition.id)
        ],
        reproductions=[
            reproduction_read(session, r)
            for r in reproduction.get_all(session, competition=competition, user=user)
        ],
        done=DONE.get(request.query_params.get("done", "")),
        error=error,
        status_code=status_code,
    )


def _act(
    request: Request, session: Session, user: User, slug: str, name: str, action: Action
) -> Response:
    """Run one judging action; errors re-render the panel with the message."""
    competition = competitions.get_or_raise(session, slug=slug)
    staff.require_staff(user, competition)
    try:
        phase_name = action(competition)
    except ValidationError as exc:
        message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise PageError(
            _panel(request, session, user, competition, error=message, status_code=422)
        ) from exc
    except PlatformError as exc:
        page = _panel(
            request, session, user, competition, error=exc.message, status_code=exc.status_code
        )
        raise PageError(page) from exc
    query = urlencode({"phase": phase_name, "done": name} if phase_name else {"done": name})
    return RedirectResponse(f"/competitions/{slug}/judge?{query}", status_code=303)


def _submission(session: Session, competition: Competition, user: User, sid: int) -> Submission:
    submission = service.judged_submission(session, submission_id=sid, user=user)
    if submission.competition_id != competition.id:
        raise NotFound(f"submission {sid} is not a submission of {competition.slug!r}")
    return submission


def _team(session: Session, competition: Competition, user: User, team_id: int) -> Team:
    team = service.judged_team(session, team_id=team_id, user=user)
    if team.competition_id != competition.id:
        raise NotFound(f"team {team_id} is not a team of {competition.slug!r}")
    return team


def _phase_of(session: Session, submission: Submission) -> str:
    competition = service.competition_of(session, competition_id=submission.competition_id)
    return next(p.name for p in competition.phases if p.id == submission.phase_id)


@router.get("/competitions/{slug}/judge")
def judge_panel(
    slug: str,
    request: Request,
    session: SessionDep,
    user: LoggedIn,
    phase: str | None = Query(default=None, max_length=64),
) -> Response:
    """Both boards, the phase's submissions with their flags, and every judging action."""
    competition = competitions.get_or_raise(session, slug=slug)
    return _panel(request, session, user, competition, phase_name=phase)


@router.post("/competitions/{slug}/judge/submissions/{submission_id}/flag", dependencies=[CSRF])
def flag(
    slug: str,
    submission_id: RowId,
    request: Request,
    session: SessionDep,
    user: LoggedIn,
    flagged: Annotated[bool, Form()] = False,
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Flag a submission for review, or clear its flag."""

    def action(competition: Competition) -> str:
        submission = _submission(session, competition, user, submission_id)
        service.flag_submission(
            session, submission=submission, user=user, flagged=flagged, reason=reason.strip()
        )
        return _phase_of(session, submission)

    return _act(request, session, user, slug, "flag", action)


@router.post("/competitions/{slug}/judge/submissions/{submission_id}/{verb}", dependencies=[CSRF])
def submission_action(
    slug: str,
    submission_id: RowId,
    verb: Literal["disqualify", "reinstate", "rescore", "annotate"],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: LoggedIn,
    reason: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Disqualify (with a reason), reinstate, re-run or annotate one submission."""

    def action(competition: Competition) -> str:
        submission = _submission(session, competition, user, submission_id)
        _run_submission_verb(session, settings, user, submission, verb, reason.strip())
        return _phase_of(session, submission)

    return _act(request, session, user, slug, verb, action)


def _run_submission_verb(
    session: Session, settings: Settings, user: User, submission: Submission, verb: str, text: str
) -> None:
    if verb == "annotate":
        note = AnnotationCreate(text=text)
        service.annotate_submission(session, submission=submission, user=user, text=note.text)
    elif verb == "rescore":
        body = SubmissionRescoreBody(reason=text)
        rescoring.rescore_submission(
            session, settings=settings, submission_id=submission.id, user=user, reason=body.reason
        )
    elif verb == "disqualify":
        reason = ReasonBody(reason=text).reason
        service.disqualify_submission(session, submission=submission, user=user, reason=reason)
    else:
        reason = ReasonBody(reason=text).reason
        service.reinstate_submission(session, submission=submission, user=user, reason=reason)


@router.post("/competitions/{slug}/judge/teams/{team_id}/{verb}", dependencies=[CSRF])
def team_action(
    slug: str,
    team_id: RowId,
    verb: Literal["disqualify", "reinstate", "annotate"],
    request: Request,
    session: SessionDep,
    user: LoggedIn,
    reason: Annotated[str, Form(max_length=5000)] = "",
    phase: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Disqualify a team (with a reason), reinstate it or add a note to it."""

    def action(competition: Competition) -> str:
        team = _team(session, competition, user, team_id)
        if verb == "annotate":
            note = AnnotationCreate(text=reason.strip())
            service.annotate_team(session, team=team, user=user, text=note.text)
            return phase
        body = ReasonBody(reason=reason.strip())
        if verb == "disqualify":
            service.disqualify_team(session, team=team, user=user, reason=body.reason)
        else:
            service.reinstate_team(session, team=team, user=user, reason=body.reason)
        return phase

    return _act(request, session, user, slug, verb, action)


@router.post("/competitions/{slug}/judge/rescore", dependencies=[CSRF])
def rescore_all(
    slug: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: LoggedIn,
    reason: Annotated[str, Form(max_length=200)] = "",
    phase: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Re-run every finished or failed submission of the competition."""

    def action(competition: Competition) -> str:
        body = RescoreBody(reason=reason.strip())
        rescoring.rescore(
            session, settings=settings, competition=competition, user=user, reason=body.reason
        )
        return phase

    return _act(request, session, user, slug, "rescore", action)


@router.post("/competitions/{slug}/judge/reproduce", dependencies=[CSRF])
def reproduce(
    slug: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: LoggedIn,
    phase: Annotated[str, Form(max_length=64)],
    top_k: Annotated[int, Form(ge=1, le=50)] = 3,
    board: Annotated[Literal["public", "private"], Form()] = "private",
    seed: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Re-run the top k of a board on fresh simulated test data."""

    def action(competition: Competition) -> str:
        body = ReproductionCreate(
            top_k=top_k, board=board, phase=phase, seed=int(seed) if seed.strip() else None
        )
        reproduction.create(
            session,
            settings=settings,
            competition=competition,
            user=user,
            top_k=body.top_k,
            board=body.board,
            phase_name=body.phase,
            seed=body.seed,
        )
        return phase

    return _act(request, session, user, slug, "reproduce", action)


@router.post("/competitions/{slug}/judge/finalize", dependencies=[CSRF])
def finalize(
    slug: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: LoggedIn,
    phase: Annotated[str, Form(max_length=64)],
    reason: Annotated[str, Form(max_length=1000)] = "",
    register_top: Annotated[int, Form(ge=0, le=100)] = 3,
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Freeze both boards of the phase, publish the private one and close the phase (after the
    judge confirms it and gives a reason: it cannot be undone)."""

    def action(competition: Competition) -> str:
        if confirm != "yes":
            raise BadRequest(
                "finalizing cannot be undone: tick the box that confirms it, then finalize again"
            )
        if not reason.strip():
            raise BadRequest("give the reason for finalizing (it goes into the audit log)")
        body = FinalizeBody(phase=phase, reason=reason.strip(), register_top=register_top)
        finalization.finalize(
            session,
            settings=settings,
            competition=competition,
            user=user,
            reason=body.reason,
            phase_name=body.phase,
            register_top=body.register_top,
        )
        return phase

    return _act(request, session, user, slug, "finalize", action)
