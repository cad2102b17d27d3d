"""Finalization freezes and publishes the boards and closes the phase; boards export as CSV/JSON."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import select

from challenge.db.session import transaction
from leaderboards.models import LeaderboardSnapshot
from tests.arena import Arena
from tests.judging.helpers import board, judge_of, quiet, second_team, submit_and_score
from tests.platform.helpers import auth, truth_predictions


def _export(arena: Arena, token: str | None, query: str) -> Any:
    headers = auth(token) if token else {}
    return arena.client.get(
        f"/api/v1/competitions/{arena.slug}/leaderboard/export?{query}", headers=headers
    )


def test_finalize_publishes_the_private_board_and_closes_the_phase(
    arena: Arena, settings: Any
) -> None:
    client, fast = arena.client, quiet(settings)
    bob = second_team(arena)
    submit_and_score(arena, fast, truth_predictions(arena.bundle, 0.1), arena.participant)
    submit_and_score(arena, fast, truth_predictions(arena.bundle, 0.4), bob)
    judge = judge_of(arena)
    assert board(client, arena.slug, arena.participant, "private").status_code == 403
    final = _export(arena, judge, "board=private&source=final")
    assert final.status_code == 404 and "source=live" in final.json()["message"]

    queued = arena.submit(truth_predictions(arena.bundle)).json()["id"]
    url = f"/api/v1/judging/competitions/{arena.slug}/finalize"
    early = client.post(url, json={}, headers=auth(judge))
    assert early.status_code == 409 and "still queued" in early.json()["message"]
    client.post(f"/api/v1/submissions/{queued}/cancel", headers=auth(arena.participant))

    done = client.post(url, json={"reason": "end of the challenge"}, headers=auth(judge))
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["phase"] == "main" and body["registered_models"] == []
    assert [(s["board"], s["rows"]) for s in body["snapshots"]] == [("public", 2), ("private", 2)]
    private = board(client, arena.slug, arena.participant, "private")
    assert private.status_code == 200 and private.json()["finalized"] is True
    assert [r["team"]["name"] for r in private.json()["rows"]] == ["Alpha", "Beta"]
    own = client.get(
        f"/api/v1/submissions/{private.json()['rows'][0]['submission_id']}",
        headers=auth(arena.participant),
    ).json()
    assert "private" in own["scores"]
    refused = arena.submit(truth_predictions(arena.bundle))
    assert refused.status_code == 403 and "no phase" in refused.json()["message"]
    assert client.post(url, json={}, headers=auth(judge)).status_code == 409
    with transaction(settings.database_url) as session:
        stored = session.scalars(select(LeaderboardSnapshot)).all()
        assert sorted(s.board for s in stored) == ["private", "public"]
        assert all(s.kind == "final" for s in stored)
    events = client.get(
        f"/api/v1/judging/competitions/{arena.slug}/audit", headers=auth(judge)
    ).json()
    assert [(e["action"], e["target"]) for e in events] == [("finalize_phase", "phase:main")]

    exported = _export(arena, None, "board=private&format=json&source=final")
    assert exported.status_code == 200, exported.text
    document = exported.json()
    assert document["source"] == "final" and document["finalized"] is True
    assert document["rows"] == private.json()["rows"]
    assert "attachment" in exported.headers["content-disposition"]


def test_export_csv_and_json_of_the_live_board(arena: Arena, settings: Any) -> None:
    fast = quiet(settings)
    bob = second_team(arena, name="-2 Beta")
    best = submit_and_score(arena, fast, truth_predictions(arena.bundle, 0.1), arena.participant)
    submit_and_score(arena, fast, truth_predictions(arena.bundle, 0.4), bob)
    response = _export(arena, arena.participant, "board=public&format=csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="tiny-main-public-live.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["team"] for r in rows] == ["Alpha", "'-2 Beta"]
    assert rows[0]["rank"] == "1" and rows[0]["submission_id"] == str(best)
    assert float(rows[0]["mae"]) == float(rows[0]["score"]) and "rmse" in rows[0]
    live = board(arena.client, arena.slug, arena.participant).json()
    as_json = _export(arena, None, "board=public&format=json").json()
    assert as_json["rows"] == live["rows"] and as_json["metric"] == "mae"
    bad = _export(arena, None, "board=public&format=xlsx")
    assert bad.status_code == 422 and "format" in bad.json()["message"]
