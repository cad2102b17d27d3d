"""Disqualify, reinstate, flag, annotate: the boards update at once; the audit log keeps it."""

from __future__ import annotations

from typing import Any

from tests.arena import Arena
from tests.judging.helpers import judge_of, quiet, ranked_teams, second_team, submit_and_score
from tests.platform.helpers import auth, truth_predictions


def test_disqualify_and_reinstate_a_submission_and_a_team(arena: Arena, settings: Any) -> None:
    client, fast = arena.client, quiet(settings)
    bob = second_team(arena)
    best = submit_and_score(arena, fast, truth_predictions(arena.bundle, 0.05), arena.participant)
    worse = submit_and_score(arena, fast, truth_predictions(arena.bundle, 0.5), arena.participant)
    beta = submit_and_score(arena, fast, truth_predictions(arena.bundle, 0.2), bob)
    judge = judge_of(arena)
    assert ranked_teams(client, arena.slug, judge) == ["Alpha", "Beta"]

    url = f"/api/v1/judging/submissions/{best}"
    reason = {"reason": "leaked labels"}
    response = client.post(f"{url}/disqualify", json=reason, headers=auth(judge))
    assert response.status_code == 200, response.text
    assert response.json()["disqualified_reason"] == "leaked labels"
    board = client.get(f"/api/v1/competitions/{arena.slug}/leaderboard", headers=auth(judge))
    counted = [(r["team"]["name"], r["submission_id"]) for r in board.json()["rows"]]
    assert counted == [("Beta", beta), ("Alpha", worse)]
    again = client.post(f"{url}/disqualify", json={"reason": "x"}, headers=auth(judge))
    assert again.status_code == 409 and "already disqualified" in again.json()["message"]
    undo = client.post(f"{url}/reinstate", json={"reason": "appeal upheld"}, headers=auth(judge))
    assert undo.status_code == 200 and undo.json()["disqualified_reason"] is None
    assert ranked_teams(client, arena.slug, judge) == ["Alpha", "Beta"]

    team_url = f"/api/v1/judging/teams/{arena.team['id']}"
    out = client.post(
        f"{team_url}/disqualify", json={"reason": "shared accounts"}, headers=auth(judge)
    )
    assert out.status_code == 200 and out.json()["disqualified"] is True
    assert ranked_teams(client, arena.slug, arena.participant) == ["Beta"]
    refused = arena.submit(truth_predictions(arena.bundle))
    assert refused.status_code == 403 and "shared accounts" in refused.json()["message"]
    back = client.post(f"{team_url}/reinstate", json={"reason": "cleared"}, headers=auth(judge))
    assert back.status_code == 200 and back.json()["disqualified"] is False
    assert ranked_teams(client, arena.slug, judge) == ["Alpha", "Beta"]

    events = client.get(f"/api/v1/judging/competitions/{arena.slug}/audit", headers=auth(judge))
    assert [(e["action"], e["actor"]) for e in events.json()] == [
        ("disqualify_submission", "judy"),
        ("reinstate_submission", "judy"),
        ("disqualify_team", "judy"),
        ("reinstate_team", "judy"),
    ]
    assert events.json()[0]["target"] == f"submission:{best}"
    assert events.json()[0]["reason"] == "leaked labels"


def test_flag_and_annotate(arena: Arena, settings: Any) -> None:
    client = arena.client
    submission = arena.submit(truth_predictions(arena.bundle)).json()["id"]
    judge = judge_of(arena)
    flagged = client.post(
        f"/api/v1/judging/submissions/{submission}/flag",
        json={"reason": "too good"},
        headers=auth(judge),
    )
    assert flagged.status_code == 200 and flagged.json()["flagged"] is True
    twice = client.post(
        f"/api/v1/judging/submissions/{submission}/flag", json={}, headers=auth(judge)
    )
    assert twice.status_code == 409
    cleared = client.post(
        f"/api/v1/judging/submissions/{submission}/flag",
        json={"flagged": False},
        headers=auth(judge),
    )
    assert cleared.json()["flagged"] is False
    note = client.post(
        f"/api/v1/judging/submissions/{submission}/annotations",
        json={"text": "check the feature engineering"},
        headers=auth(judge),
    )
    assert note.status_code == 201, note.text
    assert note.json()["author"] == "judy" and note.json()["team_id"] == arena.team["id"]
    team_note = client.post(
        f"/api/v1/judging/teams/{arena.team['id']}/annotations",
        json={"text": "strong team"},
        headers=auth(arena.host),
    )
    assert team_note.status_code == 201
    listed = client.get(
        f"/api/v1/judging/competitions/{arena.slug}/annotations", headers=auth(judge)
    ).json()
    assert [n["text"] for n in listed] == ["check the feature engineering", "strong team"]
    only = client.get(
        f"/api/v1/judging/competitions/{arena.slug}/annotations?submission_id={submission}",
        headers=auth(judge),
    ).json()
    assert [n["text"] for n in only] == ["check the feature engineering"]
    empty = client.post(
        f"/api/v1/judging/teams/{arena.team['id']}/annotations",
        json={"text": ""},
        headers=auth(judge),
    )
    assert empty.status_code == 422 and "text" in empty.json()["message"]
    extra = client.post(
        f"/api/v1/judging/teams/{arena.team['id']}/annotations",
        json={"text": "x", "color": "red"},
        headers=auth(judge),
    )
    assert extra.status_code == 422
    actions = [
        e["action"]
        for e in client.get(
            f"/api/v1/judging/competitions/{arena.slug}/audit", headers=auth(judge)
        ).json()
    ]
    assert actions == ["flag_submission", "unflag_submission"]
