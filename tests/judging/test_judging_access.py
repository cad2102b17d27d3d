"""Who sees what: participants, another team, a host of another competition, judges, admins."""

from __future__ import annotations

from typing import Any

from tests.arena import Arena
from tests.judging.helpers import board, quiet, second_team, submit_and_score
from tests.platform.helpers import auth, create_user, truth_predictions


def test_each_role_sees_what_it_may(arena: Arena, settings: Any) -> None:
    client = arena.client
    submission = submit_and_score(
        arena, quiet(settings), truth_predictions(arena.bundle, 0.1), arena.participant
    )
    other_team = second_team(arena)
    other_host = create_user(client, arena.admin, "olga", "host")
    judge = create_user(client, arena.admin, "judy", "judge")
    paths = [
        f"/api/v1/submissions/{submission}",
        f"/api/v1/submissions/{submission}/logs",
        f"/api/v1/submissions/{submission}/scores/history",
    ]
    for token in (judge, arena.admin, arena.host):
        for path in paths:
            assert client.get(path, headers=auth(token)).status_code == 200, path
        detail = client.get(paths[0], headers=auth(token)).json()
        assert "private" in detail["scores"] and "public" in detail["scores"]
        assert board(client, arena.slug, token, "private").status_code == 200
        audit = client.get(f"/api/v1/judging/competitions/{arena.slug}/audit", headers=auth(token))
        assert audit.status_code == 200
    own = client.get(paths[0], headers=auth(arena.participant)).json()
    assert "public" in own["scores"] and "private" not in own["scores"]
    history = client.get(paths[2], headers=auth(arena.participant)).json()
    assert history[0]["private_score"] is None and "private" not in history[0]["scores"]
    for token in (other_team, other_host):
        for path in paths:
            assert client.get(path, headers=auth(token)).status_code == 404, path
    for token in (arena.participant, other_team, other_host):
        assert board(client, arena.slug, token, "private").status_code == 403
        for method, path, body in (
            ("post", f"/api/v1/judging/submissions/{submission}/flag", {}),
            ("post", f"/api/v1/judging/submissions/{submission}/disqualify", {"reason": "x"}),
            ("post", f"/api/v1/judging/teams/{arena.team['id']}/annotations", {"text": "x"}),
            ("post", f"/api/v1/judging/submissions/{submission}/rescore", {"reason": "x"}),
            ("post", f"/api/v1/judging/competitions/{arena.slug}/finalize", {}),
            ("get", f"/api/v1/judging/competitions/{arena.slug}/audit", None),
            ("get", f"/api/v1/judging/competitions/{arena.slug}/annotations", None),
        ):
            response = client.request(method, path, json=body, headers=auth(token))
            assert response.status_code == 403, (path, response.text)
            assert "judge" in response.json()["message"]
    assert board(client, arena.slug, None, "private").status_code == 403
    export = client.get(
        f"/api/v1/competitions/{arena.slug}/leaderboard/export?board=private",
        headers=auth(arena.participant),
    )
    assert export.status_code == 403
    missing = client.post("/api/v1/judging/submissions/999999/flag", json={}, headers=auth(judge))
    assert missing.status_code == 404 and "999999" in missing.json()["message"]
