"""Draft -> published -> archived: who sees a draft, what hosts edit with PATCH."""

from __future__ import annotations

from typing import Any

from tests.arena import Arena
from tests.platform.helpers import auth, create_user, truth_predictions


def patch(arena: Arena, body: dict[str, Any], token: str | None = None) -> Any:
    return arena.client.patch(
        f"/api/v1/competitions/{arena.slug}", json=body, headers=auth(token or arena.host)
    )


def test_drafts_are_seen_by_their_staff_only(arena: Arena) -> None:
    client = arena.client
    assert patch(arena, {"status": "draft"}).json()["status"] == "draft"
    outsider = create_user(client, arena.admin, "outsider")
    for token in (outsider, arena.participant, None):
        headers = auth(token) if token else {}
        listed = client.get("/api/v1/competitions", headers=headers).json()
        assert arena.slug not in [c["slug"] for c in listed]
        assert client.get(f"/api/v1/competitions/{arena.slug}", headers=headers).status_code == 404
        board = client.get(f"/api/v1/competitions/{arena.slug}/leaderboard", headers=headers)
        assert board.status_code == 404
    data = client.get(f"/api/v1/competitions/{arena.slug}/data/train.csv", headers=auth(outsider))
    assert data.status_code == 404
    refused = arena.submit(truth_predictions(arena.bundle))
    assert refused.status_code == 404
    team = client.post(
        f"/api/v1/competitions/{arena.slug}/teams", json={"name": "Late"}, headers=auth(outsider)
    )
    assert team.status_code == 404
    for token in (arena.host, arena.admin):
        assert (
            client.get(f"/api/v1/competitions/{arena.slug}", headers=auth(token)).status_code == 200
        )
        listed = client.get("/api/v1/competitions", headers=auth(token)).json()
        assert arena.slug in [c["slug"] for c in listed]
    assert patch(arena, {"status": "published"}).status_code == 200
    assert arena.submit(truth_predictions(arena.bundle)).status_code == 201


def test_archived_competitions_are_read_only(arena: Arena) -> None:
    assert patch(arena, {"status": "archived"}).status_code == 200
    assert arena.client.get(f"/api/v1/competitions/{arena.slug}").json()["status"] == "archived"
    refused = arena.submit(truth_predictions(arena.bundle))
    assert refused.status_code == 409 and "archived" in refused.json()["message"]


def test_hosts_edit_title_description_limits_and_phases(arena: Arena) -> None:
    changed = patch(
        arena,
        {
            "title": "Tiny, second edition",
            "description": "# New\n\nRules changed.",
            "max_team_size": 3,
            "limits": {"time_s": 30, "memory_mb": 512},
            "phases": [
                {"name": "main", "max_per_day": 2},
                {"name": "final", "start_at": "2027-01-01T00:00:00Z", "max_total": 3},
            ],
        },
    )
    assert changed.status_code == 200, changed.text
    view = changed.json()
    assert view["title"] == "Tiny, second edition" and view["description"].startswith("# New")
    assert view["limits"]["time_s"] == 30 and view["limits"]["memory_mb"] == 512
    assert view["max_team_size"] == 3
    assert [(p["name"], p["max_per_day"]) for p in view["phases"]] == [("main", 2), ("final", 5)]
    removed = patch(arena, {"phases": [{"name": "final", "delete": True}]})
    assert [p["name"] for p in removed.json()["phases"]] == ["main"]
    assert arena.submit(truth_predictions(arena.bundle)).status_code == 201
    used = patch(arena, {"phases": [{"name": "main", "delete": True}]})
    assert used.status_code == 409 and "submission" in used.json()["message"]


def test_only_its_hosts_and_admins_patch_and_bad_input_is_4xx(arena: Arena) -> None:
    assert patch(arena, {"title": "x"}, token=arena.participant).status_code == 403
    other_host = create_user(arena.client, arena.admin, "otherhost", "host")
    assert patch(arena, {"title": "x"}, token=other_host).status_code == 403
    assert patch(arena, {"title": "by admin"}, token=arena.admin).status_code == 200
    for bad in (
        {"status": "secret"},
        {"limits": {"memory_mb": 1}},
        {"unknown": 1},
        {"phases": [{"name": "late", "start_at": "2020-01-01T00:00:00"}]},
        {"phases": [{"name": "nope", "delete": True}]},
    ):
        response = patch(arena, bad)
        assert 400 <= response.status_code < 500, (bad, response.text)
        assert response.json()["message"]


def test_clone_api_and_bundle_slug_override(arena: Arena) -> None:
    from tests.platform.helpers import zip_folder

    client = arena.client
    cloned = client.post(
        f"/api/v1/competitions/{arena.slug}/clone",
        json={"slug": "tiny-next", "title": "Tiny next"},
        headers=auth(arena.host),
    )
    assert cloned.status_code == 201, cloned.text
    assert cloned.json()["status"] == "draft" and cloned.json()["title"] == "Tiny next"
    refused = client.post(
        f"/api/v1/competitions/{arena.slug}/clone",
        json={"slug": "x-by-alice"},
        headers=auth(arena.participant),
    )
    assert refused.status_code == 403
    bad = client.post(
        f"/api/v1/competitions/{arena.slug}/clone", json={"slug": "No"}, headers=auth(arena.host)
    )
    assert bad.status_code == 422
    upload = client.post(
        "/api/v1/competitions",
        headers=auth(arena.host),
        data={"slug": "tiny-upload"},
        files={"bundle": ("b.zip", zip_folder(arena.bundle), "application/zip")},
    )
    assert upload.status_code == 201 and upload.json()["slug"] == "tiny-upload"


def test_a_drafts_board_export_is_hidden_too(arena: Arena) -> None:
    assert patch(arena, {"status": "draft"}).status_code == 200
    url = f"/api/v1/competitions/{arena.slug}/leaderboard/export"
    assert arena.client.get(url).status_code == 404
    assert arena.client.get(url, headers=auth(arena.host)).status_code == 200
