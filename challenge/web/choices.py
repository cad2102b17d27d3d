"""A team's actions on its submission page: select or unselect as final, cancel, download."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import FileResponse
from starlette.responses import RedirectResponse, Response

from challenge.api.deps import RowId, SessionDep
from challenge.api.downloads import attachment
from challenge.errors import NotFound
from challenge.submissions import service as submissions
from challenge.web.routing import HtmlRoute
from challenge.web.security import CSRF, LoggedIn

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)


@router.post("/submissions/{submission_id}/select", dependencies=[CSRF])
def select_final(
    submission_id: RowId,
    session: SessionDep,
    user: LoggedIn,
    selected: Annotated[str, Form(pattern="^(yes|no)$")] = "yes",
) -> Response:
    """Select the submission as one of the team's finals, or unselect it."""
    submission = submissions.get_visible(session, submission_id=submission_id, user=user)
    if submission.is_baseline:
        raise NotFound(f"submission {submission_id} does not exist")
    submissions.select_final(session, submission=submission, user=user, selected=selected == "yes")
    return RedirectResponse(f"/submissions/{submission_id}?done=selected", status_code=303)


@router.post("/submissions/{submission_id}/cancel", dependencies=[CSRF])
def cancel(submission_id: RowId, session: SessionDep, user: LoggedIn) -> Response:
    """Cancel a queued submission or stop a running one."""
    submission = submissions.get_visible(session, submission_id=submission_id, user=user)
    submissions.cancel(session, submission=submission, user=user)
    return RedirectResponse(f"/submissions/{submission_id}?done=cancelled", status_code=303)


@router.get("/submissions/{submission_id}/file")
def download(submission_id: RowId, session: SessionDep, user: LoggedIn) -> FileResponse:
    """The uploaded file: for the team's members and the competition's staff."""
    path, name = submissions.stored_file(session, submission_id=submission_id, user=user)
    return FileResponse(
        path,
        media_type="application/octet-stream",
        headers={"Content-Disposition": attachment(name), "Cache-Control": "private"},
    )
