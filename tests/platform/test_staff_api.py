"""Staff per competition: assignment, scoping, removal, and staff never compete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.arena import Arena
from tests.judging.helpers import board
from tests.platform.helpers import (
    auth,
    create_user,
    regression_settings,
    truth_predictions,
    write_regression_bundle,
    zip_folder,
)

BASELINE_MODEL = "def predict(features):\n    return 2 * features['x1'] - features['x2']\n"


def assign(arena: Arena, token: str, username: str, role: str, slug: str | None = None) -> Any:
    return arena.client.post(
        f"/api/v1/competitions/{slug or arena.slug}/staff",
        json={"username": username, "role": role},
        headers=auth(token),
    )


def second_competition(arena: Arena, tmp_path: Path, host: str, slug: str = "other") -> None:
    bundle = write_regression_bundle(tmp_path / slug, settings=regression_settings(slug))
    created = arena.client.post(
        "/api/v1/competitions",
        headers=auth(host),
        files={"bundle": ("b.zip", zip_folder(bundle), "application/zip")},
    )
    assert created.status_code == 201, created.text


def test_the_creator_is_the_first_host_and_assigns_a_judge(arena: Arena) -> None:
    client = arena.client
    listed = client.get(f"/api/v1/competitions/{arena.slug}/staff", headers=auth(arena.host))
    assert listed.status_code == 200
    assert [(m["username"], m["role"]) for m in listed.json()] == [("host", "host")]
    judge = create_user(client, arena.admin, "judy", "judge")
    assert board(client, arena.slug, judge, "private").status_code == 403  # not assigned yet
    added = assign(arena, arena.host, "judy", "judge")
    assert added.status_code == 201, added.text
    assert added.json()["role"] == "judge" and added.json()["added_by"] == "host"
    assert board(client, arena.slug, judge, "private").status_code == 200
    again = assign(arena, arena.host, "judy", "judge")
    assert again.status_code == 200  # idempotent: the role is set, nothing is duplicated
    staff = client.get(f"/api/v1/competitions/{arena.slug}/staff", headers=auth(judge)).json()
    assert [m["username"] for m in staff] == ["host", "judy"]
    refused = assign(arena, judge, "alice", "judge")  # a judge does not manage staff
    assert refused.status_code == 403 and "host" in refused.json()["message"]
    outsider = client.get(
        f"/api/v1/competitions/{arena.slug}/staff", headers=auth(arena.participant)
    )
    assert outsider.status_code == 403


def test_rights_hold_only_where_assigned(arena: Arena, tmp_path: Path) -> None:
    client = arena.client
    other_host = create_user(client, arena.admin, "olga", "host")
    second_competition(arena, tmp_path, other_host)
    judge = create_user(client, arena.admin, "judy", "judge")
    assert assign(arena, other_host, "judy", "judge", slug="other").status_code == 201
    submission = arena.submit(truth_predictions(arena.bundle)).json()["id"]
    # olga hosts `other` and judy judges it: neither has rights on `tiny`
    for token in (other_host, judge):
        assert board(client, arena.slug, token, "private").status_code == 403
        assert board(client, "other", token, "private").status_code == 200
        seen = client.get(f"/api/v1/submissions/{submission}", headers=auth(token))
        assert seen.status_code == 404
        listed = client.get(f"/api/v1/competitions/{arena.slug}/submissions", headers=auth(token))
        assert listed.json() == []
        assert assign(arena, token, "judy", "host").status_code == 403
    taken = assign(arena, other_host, "olga", "host")  # cannot make themselves staff of tiny
    assert taken.status_code == 403
    # the admin acts everywhere without an assignment
    assert board(client, arena.slug, arena.admin, "private").status_code == 200
    assert assign(arena, arena.admin, "olga", "judge").status_code == 201
    assert board(client, arena.slug, other_host, "private").status_code == 200


def test_removal_takes_the_rights_away_and_a_host_remains(arena: Arena) -> None:
    client = arena.client
    judge = create_user(client, arena.admin, "judy", "judge")
    assert assign(arena, arena.host, "judy", "judge").status_code == 201
    assert board(client, arena.slug, judge, "private").status_code == 200
    removed = client.delete(f"/api/v1/competitions/{arena.slug}/staff/judy", headers=auth(judge))
    assert removed.status_code == 403  # a judge cannot remove staff, not even themselves
    removed = client.delete(
        f"/api/v1/competitions/{arena.slug}/staff/judy", headers=auth(arena.host)
    )
    assert removed.status_code == 204
    assert board(client, arena.slug, judge, "private").status_code == 403
    missing = client.delete(
        f"/api/v1/competitions/{arena.slug}/staff/judy", headers=auth(arena.host)
    )
    assert missing.status_code == 404 and "judy" in missing.json()["message"]
    last = client.delete(f"/api/v1/competitions/{arena.slug}/staff/host", headers=auth(arena.host))
    assert last.status_code == 409 and "at least one host" in last.json()["message"]
    demoted = assign(arena, arena.host, "host", "judge")
    assert demoted.status_code == 409
    unknown = assign(arena, arena.host, "nobody", "judge")
    assert unknown.status_code == 404 and "nobody" in unknown.json()["message"]
    bad_role = assign(arena, arena.host, "judy", "admin")
    assert bad_role.status_code == 422


def test_staff_never_compete(arena: Arena) -> None:
    client = arena.client
    member = assign(arena, arena.host, "alice", "judge")  # alice is in team Alpha
    assert member.status_code == 409 and "Alpha" in member.json()["message"]
    judge = create_user(client, arena.admin, "judy", "judge")
    assert assign(arena, arena.host, "judy", "judge").status_code == 201
    for token in (judge, arena.host, arena.admin):
        founded = client.post(
            f"/api/v1/competitions/{arena.slug}/teams", json={"name": "Staff"}, headers=auth(token)
        )
        assert founded.status_code == 403 and "staff" in founded.json()["message"]
        joined = client.post(
            f"/api/v1/teams/{arena.team['id']}/join",
            json={"invite_code": arena.team["invite_code"]},
            headers=auth(token),
        )
        assert joined.status_code == 403 and "staff" in joined.json()["message"]
        uploaded = arena.submit(truth_predictions(arena.bundle), token=token)
        assert uploaded.status_code == 403 and "staff" in uploaded.json()["message"]


def test_the_baseline_is_no_team_of_the_host(
    client: TestClient, settings: Any, tmp_path: Path
) -> None:
    from tests.arena import make_arena

    competition = regression_settings(baseline={"path": "model.py", "format": "python"})
    bundle_dir = tmp_path / "bundle"
    bundle_dir.mkdir()
    (bundle_dir / "model.py").write_text(BASELINE_MODEL, encoding="utf-8")
    arena = make_arena(client, settings, tmp_path, competition)
    staff_view = client.get(
        f"/api/v1/competitions/{arena.slug}/submissions", headers=auth(arena.host)
    ).json()
    (baseline,) = [s for s in staff_view if s["is_baseline"]]
    baseline_team = client.get(f"/api/v1/teams/{baseline['team']['id']}", headers=auth(arena.host))
    assert baseline_team.json()["name"] == "Baseline" and baseline_team.json()["members"] == []
    mine = client.get(f"/api/v1/competitions/{arena.slug}/team", headers=auth(arena.host))
    assert mine.status_code == 404
    upload = arena.submit(truth_predictions(arena.bundle), token=arena.host)
    assert upload.status_code == 403 and "staff" in upload.json()["message"]
    joined = client.post(
        f"/api/v1/teams/{baseline['team']['id']}/join",
        json={"invite_code": "whatever"},
        headers=auth(arena.participant),
    )
    assert joined.status_code in (403, 404)
    after = client.get(
        f"/api/v1/competitions/{arena.slug}/submissions", headers=auth(arena.host)
    ).json()
    assert [s["id"] for s in after] == [baseline["id"]]
