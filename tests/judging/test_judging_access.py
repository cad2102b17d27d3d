"""Who may do what, role by role: staff scoped to their competitions, teams to their own work.

Each role gets a fresh competition `tiny` (hosted by `host`, co-hosted by `cohost`, judged by
`judy`), a scored submission of team Alpha, a second team Beta, and a second competition `other`
with its own host and judge. The table below says what each group gets for each request.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.arena import Arena
from tests.judging.helpers import judge_of, quiet, second_team, submit_and_score
from tests.platform.helpers import (
    auth,
    create_user,
    regression_settings,
    truth_predictions,
    write_regression_bundle,
    zip_folder,
)

STAFF = ("admin", "host", "cohost", "judge")
"""Staff of `tiny`: the admin (everywhere), its creator, a host and a judge it assigned."""
STRANGERS = ("host_elsewhere", "judge_elsewhere", "unassigned_judge", "other_team", "outsider")
"""Signed in, but with no right on `tiny`'s private side or on team Alpha's work."""
ROLES = (*STAFF, "owner_team", *STRANGERS, "anonymous")


@dataclass(frozen=True)
class Case:
    """One request and the status each group gets."""

    method: str
    path: str
    body: dict[str, Any] | None
    staff: int
    owner: int
    stranger: int
    anonymous: int

    def expected(self, role: str) -> int:
        if role in STAFF:
            return self.staff
        if role == "owner_team":
            return self.owner
        return self.anonymous if role == "anonymous" else self.stranger


BOARD = "/api/v1/competitions/tiny/leaderboard"
JUDGING = "/api/v1/judging"
CASES = {
    "submission": Case("get", "/api/v1/submissions/{sub}", None, 200, 200, 404, 401),
    "logs": Case("get", "/api/v1/submissions/{sub}/logs", None, 200, 200, 404, 401),
    "history": Case("get", "/api/v1/submissions/{sub}/scores/history", None, 200, 200, 404, 401),
    "public board": Case("get", f"{BOARD}?board=public", None, 200, 200, 200, 200),
    "private board": Case("get", f"{BOARD}?board=private", None, 200, 403, 403, 403),
    "private export": Case("get", f"{BOARD}/export?board=private", None, 200, 403, 403, 403),
    "staff list": Case("get", "/api/v1/competitions/tiny/staff", None, 200, 403, 403, 401),
    "audit": Case("get", f"{JUDGING}/competitions/tiny/audit", None, 200, 403, 403, 401),
    "notes": Case("get", f"{JUDGING}/competitions/tiny/annotations", None, 200, 403, 403, 401),
    "reproductions": Case(
        "get", f"{JUDGING}/competitions/tiny/reproductions", None, 200, 403, 403, 401
    ),
    "flag": Case(
        "post", f"{JUDGING}/submissions/{{sub}}/flag", {"reason": "odd"}, 200, 403, 403, 401
    ),
    "annotate": Case(
        "post", f"{JUDGING}/teams/{{team}}/annotations", {"text": "x"}, 201, 403, 403, 401
    ),
    "disqualify": Case(
        "post", f"{JUDGING}/submissions/{{sub}}/disqualify", {"reason": "x"}, 200, 403, 403, 401
    ),
    "reinstate": Case(
        "post", f"{JUDGING}/submissions/{{sub}}/reinstate", {"reason": "x"}, 200, 403, 403, 401
    ),
    "rescore": Case(
        "post", f"{JUDGING}/submissions/{{sub}}/rescore", {"reason": "x"}, 202, 403, 403, 401
    ),
    # the re-run above is still queued: staff pass the rights check and meet that conflict
    "finalize": Case("post", f"{JUDGING}/competitions/tiny/finalize", {}, 409, 403, 403, 401),
}


def _competition(arena: Arena, tmp_path: Path, slug: str, host: str) -> None:
    bundle = write_regression_bundle(tmp_path / slug, settings=regression_settings(slug))
    created = arena.client.post(
        "/api/v1/competitions",
        headers=auth(host),
        files={"bundle": ("b.zip", zip_folder(bundle), "application/zip")},
    )
    assert created.status_code == 201, created.text


def _staff(arena: Arena, by: str, username: str, role: str, slug: str = "tiny") -> None:
    added = arena.client.post(
        f"/api/v1/competitions/{slug}/staff",
        json={"username": username, "role": role},
        headers=auth(by),
    )
    assert added.status_code == 201, added.text


def _tokens(arena: Arena, tmp_path: Path) -> dict[str, str | None]:
    client, admin = arena.client, arena.admin
    tokens: dict[str, str | None] = {
        "admin": admin,
        "host": arena.host,
        "judge": judge_of(arena),
        "cohost": create_user(client, admin, "cohost", "host"),
        "owner_team": arena.participant,
        "other_team": second_team(arena),
        "outsider": create_user(client, admin, "outsider"),
        "host_elsewhere": create_user(client, admin, "olga", "host"),
        "judge_elsewhere": create_user(client, admin, "jack", "judge"),
        "unassigned_judge": create_user(client, admin, "june", "judge"),
        "anonymous": None,
    }
    _staff(arena, arena.host, "cohost", "host")
    host_elsewhere = tokens["host_elsewhere"]
    assert host_elsewhere is not None
    _competition(arena, tmp_path, "other", host_elsewhere)
    _staff(arena, host_elsewhere, "jack", "judge", slug="other")
    return tokens


@pytest.mark.parametrize("role", ROLES)
def test_access_matrix(role: str, arena: Arena, settings: Any, tmp_path: Path) -> None:
    client = arena.client
    submission = submit_and_score(
        arena, quiet(settings), truth_predictions(arena.bundle, 0.1), arena.participant
    )
    token = _tokens(arena, tmp_path)[role]
    headers = auth(token) if token else {}
    names = {"sub": submission, "team": arena.team["id"]}
    for name, case in CASES.items():
        response = client.request(
            case.method, case.path.format(**names), json=case.body, headers=headers
        )
        assert response.status_code == case.expected(role), (role, name, response.text)
        if response.status_code == 403 and case.path.startswith(JUDGING):
            assert "host or judge assigned to 'tiny'" in response.json()["message"]
    detail = client.get(f"/api/v1/submissions/{submission}", headers=headers)
    if role in STAFF:
        assert {"public", "private"} <= set(detail.json()["scores"])
    elif role == "owner_team":
        assert "private" not in detail.json()["scores"]
        history = client.get(f"/api/v1/submissions/{submission}/scores/history", headers=headers)
        assert history.json()[0]["private_score"] is None
    if token is not None:
        listed = client.get("/api/v1/competitions/tiny/submissions", headers=headers).json()
        expected_ids = [submission] if role in (*STAFF, "owner_team") else []
        assert [s["id"] for s in listed] == expected_ids, role


def test_an_unknown_submission_is_not_found_for_a_judge(arena: Arena) -> None:
    judge = judge_of(arena)
    missing = arena.client.post(
        "/api/v1/judging/submissions/999999/flag", json={}, headers=auth(judge)
    )
    assert missing.status_code == 404 and "999999" in missing.json()["message"]
