"""Re-runs: one submission, a set, or a whole competition; versioned results; quotas untouched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.arena import Arena, make_arena
from tests.judging.helpers import evaluate, judge_of, quiet, second_team, submit_and_score
from tests.platform.helpers import auth, regression_settings, truth_predictions


def test_rerun_one_then_all_adds_score_versions(
    client: TestClient, settings: Any, tmp_path: Path
) -> None:
    competition = regression_settings()
    competition["phases"][0].update(max_per_day=2, max_total=10, max_pending=1)
    arena = make_arena(client, settings, tmp_path, competition)
    fast = quiet(settings)
    first = submit_and_score(arena, fast, truth_predictions(arena.bundle, 0.1), arena.participant)
    bob = second_team(arena)
    other = submit_and_score(arena, fast, truth_predictions(arena.bundle, 0.3), bob)
    judge = judge_of(arena)

    one = client.post(
        f"/api/v1/judging/submissions/{first}/rescore",
        json={"reason": "scorer fix"},
        headers=auth(judge),
    )
    assert one.status_code == 202, one.text
    assert one.json() == {"queued": [first], "skipped": {}}
    status = client.get(f"/api/v1/submissions/{first}", headers=auth(arena.participant)).json()
    assert status["status"] == "queued"
    busy = client.post(
        f"/api/v1/judging/submissions/{first}/rescore",
        json={"reason": "again"},
        headers=auth(judge),
    )
    assert busy.status_code == 409 and "queued" in busy.json()["message"]
    # The team's own upload is not blocked by the judge's re-run (max_pending is 1).
    second = arena.submit(truth_predictions(arena.bundle, 0.2))
    assert second.status_code == 201, second.text
    evaluate(fast, second.json()["id"])
    evaluate(fast, first)

    everything = client.post(
        f"/api/v1/judging/competitions/{arena.slug}/rescore",
        json={"reason": "new labels"},
        headers=auth(judge),
    )
    assert everything.status_code == 202, everything.text
    assert sorted(everything.json()["queued"]) == sorted([first, other, second.json()["id"]])
    for submission_id in everything.json()["queued"]:
        evaluate(fast, submission_id)

    history = client.get(f"/api/v1/submissions/{first}/scores/history", headers=auth(judge))
    assert history.status_code == 200
    versions = [(r["version"], r["reason"], r["status"]) for r in history.json()]
    assert versions == [
        (1, "initial", "finished"),
        (2, "scorer fix", "finished"),
        (3, "new labels", "finished"),
    ]
    assert len({r["public_score"] for r in history.json()}) == 1
    detail = client.get(f"/api/v1/submissions/{first}", headers=auth(judge)).json()
    assert detail["score_version"] == 3 and detail["status"] == "finished"
    # Re-runs did not use up the daily quota of two: the third upload is refused for the day.
    third = arena.submit(truth_predictions(arena.bundle, 0.2))
    assert third.status_code == 429 and third.json()["detail"]["limit"] == "max_per_day"
    actions = [
        e["action"]
        for e in client.get(
            f"/api/v1/judging/competitions/{arena.slug}/audit", headers=auth(judge)
        ).json()
    ]
    assert actions == ["rescore", "rescore"]


def test_rescore_requests_that_cannot_be_served(arena: Any, settings: Any) -> None:
    client = arena.client
    judge = judge_of(arena)
    url = f"/api/v1/judging/competitions/{arena.slug}/rescore"
    nothing = client.post(url, json={"reason": "x"}, headers=auth(judge))
    assert nothing.status_code == 400 and "no finished or failed" in nothing.json()["message"]
    foreign = client.post(
        url, json={"reason": "x", "submission_ids": [424242]}, headers=auth(judge)
    )
    assert foreign.status_code == 404 and "424242" in foreign.json()["message"]
    no_reason = client.post(url, json={"submission_ids": [1]}, headers=auth(judge))
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["message"]


def test_a_team_cannot_cancel_a_judges_rerun_or_reproduction(arena: Arena, settings: Any) -> None:
    client = arena.client
    fast = quiet(settings)
    first = submit_and_score(arena, fast, truth_predictions(arena.bundle, 0.1), arena.participant)
    before = client.get(f"/api/v1/submissions/{first}", headers=auth(arena.participant)).json()
    judge = judge_of(arena)
    queued = client.post(
        f"/api/v1/judging/submissions/{first}/rescore",
        json={"reason": "scorer fix"},
        headers=auth(judge),
    )
    assert queued.status_code == 202, queued.text
    cancel = f"/api/v1/submissions/{first}/cancel"
    refused = client.post(cancel, headers=auth(arena.participant))
    assert refused.status_code == 403 and "re-run by the judges" in refused.json()["message"]
    evaluate(fast, first)  # the re-run goes through and replaces the old score
    after = client.get(f"/api/v1/submissions/{first}", headers=auth(arena.participant)).json()
    assert after["status"] == "finished" and after["score_version"] == before["score_version"] + 1
    # staff may still stop a re-run of their competition
    again = client.post(
        f"/api/v1/judging/submissions/{first}/rescore", json={"reason": "x"}, headers=auth(judge)
    )
    assert again.status_code == 202
    assert client.post(cancel, headers=auth(judge)).json()["status"] == "cancelled"
    # a reproduction re-runs finished submissions: the team can neither cancel it nor touch it
    second = submit_and_score(arena, fast, truth_predictions(arena.bundle, 0.2), arena.participant)
    assert (
        client.post(f"/api/v1/submissions/{second}/cancel", headers=auth(arena.participant))
        .json()["message"]
        .endswith("already finished")
    )
    reproductions = f"/api/v1/judging/competitions/{arena.slug}/reproductions"
    assert client.post(reproductions, json={}, headers=auth(arena.participant)).status_code == 403
    assert client.get(reproductions, headers=auth(arena.participant)).status_code == 403
