"""Teams download the files they submitted; the competition's staff download any of them."""

from __future__ import annotations

from tests.arena import Arena
from tests.platform.helpers import auth, create_user, truth_predictions


def test_owner_team_and_staff_download_the_submitted_file(arena: Arena) -> None:
    content = truth_predictions(arena.bundle)
    submitted = arena.submit(content, name="my predictions é.csv").json()["id"]
    path = f"/api/v1/submissions/{submitted}/file"
    mine = arena.client.get(path, headers=auth(arena.participant))
    assert mine.status_code == 200 and mine.content == content
    assert "filename*=UTF-8''my%20predictions%20%C3%A9.csv" in mine.headers["content-disposition"]
    judge = create_user(arena.client, arena.admin, "judy", "judge")
    staffed = arena.client.post(
        f"/api/v1/competitions/{arena.slug}/staff",
        json={"username": "judy", "role": "judge"},
        headers=auth(arena.host),
    )
    assert staffed.status_code == 201
    assert arena.client.get(path, headers=auth(judge)).content == content
    outsider = create_user(arena.client, arena.admin, "mallory")
    assert arena.client.get(path, headers=auth(outsider)).status_code == 404
    assert arena.client.get(path).status_code == 401
