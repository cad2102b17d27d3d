"""No host or judge acts outside their organisation: an access matrix over a problem statement."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.challenges.helpers import scored_world
from tests.platform.helpers import auth

RUBRIC = {"criteria": [{"name": "novelty", "weight": 1}]}
SLUG = "tiny"  # hosted by acme: ana hosts it, ja judges it; bob and jo are of bolt


def _actions(team_id: int) -> dict[str, tuple[str, str, dict[str, Any] | None]]:
    comp, judging = f"/api/v1/competitions/{SLUG}", f"/api/v1/judging/competitions/{SLUG}"
    return {
        "private board": ("GET", f"{comp}/leaderboard?board=private", None),
        "audit log": ("GET", f"{judging}/audit", None),
        "approval queue": ("GET", f"{comp}/admissions", None),
        "rubric scores": ("GET", f"{comp}/rubric/scores", None),
        "set conditions": ("PUT", f"{comp}/conditions", {"terms": "x"}),
        "set rubric": ("PUT", f"{comp}/rubric", RUBRIC),
        "assign staff": ("POST", f"{comp}/staff", {"username": "idle", "role": "judge"}),
        "nominate": (
            "POST",
            "/api/v1/challenges/fiveg/finalists",
            {"competition": SLUG, "team_id": team_id},
        ),
        "announce": (
            "POST",
            "/api/v1/challenges/fiveg/announcements",
            {"title": "t", "competition": SLUG},
        ),
        "finalize": ("POST", f"{judging}/finalize", {"reason": "r", "register_top": 0}),
    }


READS = {"private board", "audit log", "approval queue", "rubric scores", "finalize"}
"""what a judge of the hosting organisation may do; its hosts may do everything"""


def test_rights_follow_the_organisation(client: TestClient, settings: Any, tmp_path: Path) -> None:
    t = scored_world(client, settings, tmp_path)
    actions = _actions(t["teams"]["Alpha"])
    for name, (method, path, body) in actions.items():
        if name in {"rubric scores", "finalize"}:
            continue
        for outsider in ("bob", "jo"):
            response = client.request(method, path, json=body, headers=auth(t[outsider]))
            assert response.status_code == 403, (outsider, name, response.text)
        response = client.request(method, path, json=body, headers=auth(t["ja"]))
        expected = 200 if name in READS else 403
        assert response.status_code == expected, ("ja", name, response.text)
    client.put(f"/api/v1/competitions/{SLUG}/rubric", json=RUBRIC, headers=auth(t["ana"]))
    for name in ("rubric scores", "finalize"):
        method, path, body = actions[name]
        for outsider in ("bob", "jo"):
            response = client.request(method, path, json=body, headers=auth(t[outsider]))
            assert response.status_code == 403, (outsider, name, response.text)
    # the host of the organisation does everything; the finalize of its judge closes the phase
    for name in ("set conditions", "assign staff", "nominate", "announce"):
        method, path, body = actions[name]
        response = client.request(method, path, json=body, headers=auth(t["ana"]))
        assert response.status_code in (200, 201), (name, response.text)
    method, path, body = actions["finalize"]
    assert client.request(method, path, json=body, headers=auth(t["ja"])).status_code == 200
    # outsiders see no submission of the problem
    listed = client.get(f"/api/v1/competitions/{SLUG}/submissions", headers=auth(t["jo"]))
    assert listed.json() == []
