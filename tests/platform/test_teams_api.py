"""Teams: invite codes, joining, size limits, one team per user per competition, leaving."""

from __future__ import annotations

from typing import Any

from tests.arena import Arena
from tests.platform.helpers import auth, create_user


def test_team_has_invite_code_for_members_and_admins_only(arena: Arena) -> None:
    team = arena.team
    assert team["invite_code"] and [m["username"] for m in team["members"]] == ["alice"]
    outsider = create_user(arena.client, arena.admin, "eve")
    judge = create_user(arena.client, arena.admin, "judy", "judge")
    assigned = arena.client.post(
        f"/api/v1/competitions/{arena.slug}/staff",
        json={"username": "judy", "role": "judge"},
        headers=auth(arena.host),
    )
    assert assigned.status_code == 201, assigned.text
    for token in (outsider, arena.host, judge):  # staff could join with the code: they never see it
        seen = arena.client.get(f"/api/v1/teams/{team['id']}", headers=auth(token)).json()
        assert seen["invite_code"] is None and seen["members"][0]["username"] == "alice"
    admin_view = arena.client.get(f"/api/v1/teams/{team['id']}", headers=auth(arena.admin)).json()
    assert admin_view["invite_code"] == team["invite_code"]


def test_join_with_code_and_size_limit(arena: Arena) -> None:
    client, team = arena.client, arena.team
    bob = create_user(client, arena.admin, "bob")
    wrong = client.post(
        f"/api/v1/teams/{team['id']}/join", json={"invite_code": "deadbeef"}, headers=auth(bob)
    )
    assert wrong.status_code == 404 and "invite code" in wrong.json()["message"]
    joined = client.post(
        f"/api/v1/teams/{team['id']}/join",
        json={"invite_code": team["invite_code"]},
        headers=auth(bob),
    )
    assert joined.status_code == 200
    assert [m["username"] for m in joined.json()["members"]] == ["alice", "bob"]
    carol = create_user(client, arena.admin, "carol")
    full = client.post(
        f"/api/v1/teams/{team['id']}/join",
        json={"invite_code": team["invite_code"]},
        headers=auth(carol),
    )
    assert full.status_code == 409 and "full" in full.json()["message"]


def test_one_team_per_user_per_competition(arena: Arena) -> None:
    again = arena.client.post(
        f"/api/v1/competitions/{arena.slug}/teams",
        json={"name": "Beta"},
        headers=auth(arena.participant),
    )
    assert again.status_code == 409 and "already in a team" in again.json()["message"]
    dave = create_user(arena.client, arena.admin, "dave")
    taken = arena.client.post(
        f"/api/v1/competitions/{arena.slug}/teams", json={"name": "Alpha"}, headers=auth(dave)
    )
    assert taken.status_code == 409 and "Alpha" in taken.json()["message"]


def test_leave_then_create_another(arena: Arena) -> None:
    client = arena.client
    left = client.post(f"/api/v1/teams/{arena.team['id']}/leave", headers=auth(arena.participant))
    assert left.status_code == 204
    mine = client.get(f"/api/v1/competitions/{arena.slug}/team", headers=auth(arena.participant))
    assert mine.status_code == 404
    created = client.post(
        f"/api/v1/competitions/{arena.slug}/teams",
        json={"name": "Gamma"},
        headers=auth(arena.participant),
    )
    assert created.status_code == 201


def test_unknown_competition_and_team(arena: Arena) -> Any:
    missing = arena.client.post(
        "/api/v1/competitions/nope/teams", json={"name": "Zeta"}, headers=auth(arena.participant)
    )
    assert missing.status_code == 404 and "nope" in missing.json()["message"]
    assert (
        arena.client.get("/api/v1/teams/999999", headers=auth(arena.participant)).status_code == 404
    )
