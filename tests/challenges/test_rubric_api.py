"""Judging beyond the metric: rubric, reports, conflicts of interest, combined standings, audit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.challenges.helpers import scored_world
from tests.platform.helpers import auth

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
RUBRIC = {
    "criteria": [
        {"name": "novelty", "weight": 2, "description": "How new is the idea?"},
        {"name": "clarity", "weight": 1},
    ],
    "scale_min": 0,
    "scale_max": 10,
    "instructions": "Read the report, then score.",
    "metric_weight": 0.4,
}


def _report(
    client: TestClient, token: str, content: bytes = PDF, url: str = "https://git.example.org/x"
) -> Any:
    return client.post(
        "/api/v1/competitions/tiny/report",
        files={"file": ("report.pdf", content, "application/pdf")},
        data={"code_url": url},
        headers=auth(token),
    )


def _score(client: TestClient, token: str, team_id: int, **scores: float) -> Any:
    return client.post(
        "/api/v1/competitions/tiny/rubric/scores",
        json={"team_id": team_id, "scores": scores, "comment": "fine"},
        headers=auth(token),
    )


def test_reports_scored_on_the_rubric_with_conflicts_refused(
    client: TestClient, settings: Any, tmp_path: Path
) -> None:
    t = scored_world(client, settings, tmp_path)
    alpha, beta = t["teams"]["Alpha"], t["teams"]["Beta"]
    url = "/api/v1/competitions/tiny/rubric"
    assert client.get(url).status_code == 404
    assert client.put(url, json=RUBRIC, headers=auth(t["ja"])).status_code == 403
    assert client.put(url, json=RUBRIC, headers=auth(t["bob"])).status_code == 403
    flipped = client.put(url, json={**RUBRIC, "scale_max": 0}, headers=auth(t["ana"]))
    assert flipped.status_code == 422 and "scale_max" in flipped.json()["message"]
    twice = {**RUBRIC, "criteria": [{"name": "a", "weight": 1}, {"name": "a", "weight": 1}]}
    assert client.put(url, json=twice, headers=auth(t["ana"])).status_code == 422
    assert (
        client.put(url, json={**RUBRIC, "metric_weight": 2}, headers=auth(t["ana"])).status_code
        == 422
    )
    made = client.put(url, json=RUBRIC, headers=auth(t["ana"]))
    assert made.status_code == 200, made.text
    assert made.json()["rubric_weight"] == pytest.approx(0.6)
    for judge in ("jo", "ja"):
        added = client.post(f"{url}/judges", json={"username": judge}, headers=auth(t["ana"]))
        assert added.status_code == 201, added.text
    assert client.get(url).json()["judges"] == ["jo", "ja"]
    participant = client.post(f"{url}/judges", json={"username": "alice"}, headers=auth(t["ana"]))
    assert participant.status_code == 403
    # reports: a PDF and an http(s) code link, from a team member
    assert _report(client, t["alice"], content=b"MZ\x90\x00").status_code == 422
    assert _report(client, t["alice"], url="javascript:alert(1)").status_code == 422
    assert _report(client, t["jo"]).status_code == 403
    first = _report(client, t["alice"])
    assert first.status_code == 201, first.text
    assert first.json()["code_url"] == "https://git.example.org/x"
    assert _report(client, t["carol"]).status_code == 201
    # conflicts of interest: jo is of BOLT, alice registered with BOLT as affiliation
    conflict = _score(client, t["jo"], alpha, novelty=9, clarity=9)
    assert conflict.status_code == 403 and "conflict of interest" in conflict.json()["message"]
    assert [
        r["team_id"]
        for r in client.get("/api/v1/competitions/tiny/reports", headers=auth(t["jo"])).json()
    ] == [beta]
    hidden = client.get(f"/api/v1/competitions/tiny/reports/{alpha}/pdf", headers=auth(t["jo"]))
    assert hidden.status_code == 403
    shown = client.get(f"/api/v1/competitions/tiny/reports/{beta}/pdf", headers=auth(t["jo"]))
    assert shown.status_code == 200 and shown.content == PDF
    assert _score(client, t["idle"], beta, novelty=5, clarity=5).status_code == 403  # not assigned
    assert _score(client, t["jo"], beta, novelty=5).status_code == 422  # every criterion
    assert _score(client, t["jo"], beta, novelty=11, clarity=5).status_code == 422  # the scale
    assert _score(client, t["jo"], 999, novelty=1, clarity=1).status_code == 404
    scored = _score(client, t["jo"], beta, novelty=4, clarity=7)
    assert scored.status_code == 201, scored.text
    assert scored.json()["total"] == pytest.approx((2 * 0.4 + 0.7) / 3)
    assert _score(client, t["ja"], alpha, novelty=10, clarity=10).status_code == 201
    # combined standings, every component shown
    standings = client.get("/api/v1/competitions/tiny/standings", headers=auth(t["ana"])).json()
    assert standings["board"] == "private" and standings["metric_weight"] == pytest.approx(0.4)
    rows = {r["team_name"]: r for r in standings["rows"]}
    assert rows["Alpha"]["metric_rank"] == 1 and rows["Alpha"]["metric_component"] == 1.0
    assert rows["Beta"]["metric_rank"] == 2 and rows["Beta"]["metric_component"] == 0.0
    assert rows["Alpha"]["rubric_component"] == pytest.approx(1.0)
    assert rows["Beta"]["combined"] == pytest.approx(0.6 * (2 * 0.4 + 0.7) / 3, abs=1e-6)
    assert [r["team_name"] for r in standings["rows"]] == ["Alpha", "Beta"]
    public = client.get("/api/v1/competitions/tiny/standings").json()
    assert public["board"] == "public"
    # every score is audited, and only staff list them
    assert client.get(f"{url}/scores", headers=auth(t["alice"])).status_code == 403
    assert len(client.get(f"{url}/scores", headers=auth(t["ana"])).json()) == 2
    events = client.get("/api/v1/judging/competitions/tiny/audit", headers=auth(t["ana"])).json()
    scored_events = [(e["actor"], e["target"]) for e in events if e["action"] == "rubric.scored"]
    assert scored_events == [("jo", "Beta"), ("ja", "Alpha")]
