"""The global round: nominations, the jury with conflicts refused, ranking, awards, certificates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.challenges.helpers import scored_world
from tests.platform.helpers import auth

RUBRIC = {
    "criteria": [{"name": "impact", "weight": 1}, {"name": "delivery", "weight": 1}],
    "scale_min": 1,
    "scale_max": 5,
}


def test_global_round_from_nomination_to_certificates(
    client: TestClient, settings: Any, tmp_path: Path
) -> None:
    t = scored_world(client, settings, tmp_path)
    alpha, beta = t["teams"]["Alpha"], t["teams"]["Beta"]
    base = "/api/v1/challenges/fiveg"
    assert client.put(f"{base}/rubric", json=RUBRIC, headers=auth(t["bob"])).status_code == 403
    assert client.put(f"{base}/rubric", json=RUBRIC, headers=auth(t["ana"])).status_code == 200
    # hosts nominate teams of their own problem statements only
    nominate = {"competition": "tiny", "team_id": alpha, "presentation_url": "https://v.example/a"}
    assert (
        client.post(f"{base}/finalists", json=nominate, headers=auth(t["bob"])).status_code == 403
    )
    bad = client.post(
        f"{base}/finalists", json={**nominate, "team_id": 999}, headers=auth(t["ana"])
    )
    assert bad.status_code == 404
    first = client.post(f"{base}/finalists", json=nominate, headers=auth(t["ana"]))
    assert first.status_code == 201, first.text
    second = client.post(
        f"{base}/finalists", json={"competition": "tiny", "team_id": beta}, headers=auth(t["ana"])
    )
    assert second.status_code == 201
    finalist_a, finalist_b = first.json()["id"], second.json()["id"]
    assert [f["team_name"] for f in client.get(f"{base}/finalists").json()] == ["Alpha", "Beta"]
    # the organiser appoints the jury
    for juror in ("jo", "idle"):
        assert (
            client.post(
                f"{base}/jury", json={"username": juror}, headers=auth(t["ana"])
            ).status_code
            == 201
        )
    assert (
        client.post(f"{base}/jury", json={"username": "alice"}, headers=auth(t["ana"])).status_code
        == 403
    )
    assert (
        client.post(f"{base}/jury", json={"username": "ja"}, headers=auth(t["bob"])).status_code
        == 403
    )
    assert client.get(f"{base}/ranking").status_code == 403  # not published yet
    assert client.get(f"{base}/ranking", headers=auth(t["jo"])).status_code == 200

    def score(token: str, finalist: int, **values: float) -> Any:
        body = {"finalist_id": finalist, "scores": values}
        return client.post(f"{base}/final-scores", json=body, headers=auth(token))

    conflict = score(t["jo"], finalist_a, impact=5, delivery=5)
    assert conflict.status_code == 403 and "conflict of interest" in conflict.json()["message"]
    assert score(t["ja"], finalist_a, impact=5, delivery=5).status_code == 403  # not on the jury
    assert score(t["idle"], finalist_a, impact=6, delivery=5).status_code == 422
    assert score(t["jo"], finalist_b, impact=2, delivery=3).status_code == 201
    assert score(t["idle"], finalist_a, impact=5, delivery=4).status_code == 201
    award = {"name": "First prize", "category": "Global", "prize": "3000 CHF"}
    given = client.post(
        f"{base}/awards", json={**award, "finalist_id": finalist_a}, headers=auth(t["ana"])
    )
    assert given.status_code == 201, given.text
    assert client.post(f"{base}/results/publish", headers=auth(t["bob"])).status_code == 403
    published = client.post(f"{base}/results/publish", headers=auth(t["ana"]))
    assert published.status_code == 200 and published.json()["published_at"]
    ranking = client.get(f"{base}/ranking").json()["rows"]
    assert [(r["rank"], r["team_name"]) for r in ranking] == [(1, "Alpha"), (2, "Beta")]
    assert ranking[0]["awards"][0]["prize"] == "3000 CHF" and ranking[0]["score"] == 0.875
    assert score(t["idle"], finalist_b, impact=5, delivery=5).status_code == 409  # final
    # certificates with a verification URL
    mine = client.get(f"{base}/certificates/me", headers=auth(t["alice"])).json()
    assert sorted(c["kind"] for c in mine) == ["finalist", "participant", "winner"]
    carol = client.get(f"{base}/certificates/me", headers=auth(t["carol"])).json()
    assert sorted(c["kind"] for c in carol) == ["finalist", "participant"]
    winner = next(c for c in mine if c["kind"] == "winner")
    assert "First prize" in winner["detail"]
    verified = client.get(f"/api/v1/certificates/{winner['code']}")
    assert verified.status_code == 200 and verified.json()["username"] == "alice"
    assert verified.json()["verify_url"].endswith(f"/certificates/{winner['code']}")
    document = client.get(winner["pdf"])
    assert document.status_code == 200 and document.content.startswith(b"%PDF-")
    assert document.headers["content-type"] == "application/pdf"
    assert client.get("/api/v1/certificates/forged").status_code == 404
    again = client.post(f"{base}/results/publish", headers=auth(t["ana"]))
    assert again.status_code == 200  # publishing twice issues nothing twice
    assert len(client.get(f"{base}/certificates/me", headers=auth(t["alice"])).json()) == 3
    events = client.get("/api/v1/judging/competitions/tiny/audit", headers=auth(t["ana"])).json()
    assert [e["target"] for e in events if e["action"] == "final.nominated"] == ["Alpha", "Beta"]
    assert [e["actor"] for e in events if e["action"] == "final.scored"] == ["jo", "idle"]
