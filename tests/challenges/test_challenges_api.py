"""Challenges and organisations: create, group problem statements, scope organisation members."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.challenges.helpers import (
    add_member,
    bundle_problem,
    challenge,
    organisation,
    register,
)
from tests.judging.helpers import board
from tests.platform.helpers import admin_token, auth, create_user


def _setup(client: TestClient, settings: Any, tmp_path: Path) -> dict[str, str]:
    admin = admin_token(settings)
    tokens = {"admin": admin}
    for name in ("ana", "bob"):
        tokens[name] = create_user(client, admin, name, "host")
    tokens["organiser"] = create_user(client, admin, "organiser", "host")
    assert challenge(client, tokens["organiser"]).status_code == 201
    organisation(client, tokens["ana"], "acme", country="Brazil", region="Americas")
    organisation(client, tokens["bob"], "bolt", country="Japan", region="Asia-Pacific")
    made = bundle_problem(
        client, tokens["ana"], tmp_path, "acme-beams", challenge="fiveg", organisation="acme"
    )
    assert made.status_code == 201, made.text
    made = bundle_problem(
        client, tokens["bob"], tmp_path, "bolt-delay", challenge="fiveg", organisation="bolt"
    )
    assert made.status_code == 201, made.text
    return tokens


def test_a_challenge_groups_problems_by_region_and_organisation(
    client: TestClient, settings: Any, tmp_path: Path
) -> None:
    tokens = _setup(client, settings, tmp_path)
    page = client.get("/api/v1/challenges/fiveg")
    assert page.status_code == 200, page.text
    body = page.json()
    assert [p["competition"] for p in body["problems"]] == ["acme-beams", "bolt-delay"]
    assert body["problems"][0]["organisation"]["slug"] == "acme"
    assert body["regions"] == {"Americas": ["acme"], "Asia-Pacific": ["bolt"]}
    labels = [m["label"] for m in body["timeline"]]
    assert any("acme-beams" not in label and "main opens" in label for label in labels)
    assert body["statistics"]["problems"] == 2 and body["statistics"]["organisations"] == 2
    assert body["statistics"]["teams"] == 0
    detail = client.get("/api/v1/competitions/acme-beams").json()
    assert (detail["challenge"], detail["organisation"]) == ("fiveg", "acme")
    listed = client.get("/api/v1/challenges").json()
    assert [c["slug"] for c in listed] == ["fiveg"]
    # statistics follow the teams, people, countries and submissions
    alice = create_user(client, tokens["admin"], "alice")
    assert register(client, alice, country="Kenya").status_code == 201
    team = client.post(
        "/api/v1/competitions/acme-beams/teams", json={"name": "Alpha"}, headers=auth(alice)
    )
    assert team.status_code == 201, team.text
    stats = client.get("/api/v1/challenges/fiveg").json()["statistics"]
    counts = (stats["registered"], stats["teams"], stats["people"], stats["countries"])
    assert counts == (1, 1, 1, 1)


def test_bad_challenge_input_is_a_clear_4xx(
    client: TestClient, settings: Any, tmp_path: Path
) -> None:
    admin = admin_token(settings)
    host = create_user(client, admin, "ana", "host")
    participant = create_user(client, admin, "alice")
    assert challenge(client, participant).status_code == 403  # hosts and admins create them
    assert challenge(client, host, slug="No Spaces").status_code == 422
    closes_first = challenge(
        client,
        host,
        registration_opens_at="2027-01-02T00:00:00Z",
        registration_closes_at="2027-01-01T00:00:00Z",
    )
    assert closes_first.status_code == 422 and "after" in closes_first.json()["message"]
    assert challenge(client, host, registration_opens_at="2027-01-02T00:00:00").status_code == 422
    assert challenge(client, host).status_code == 201
    again = challenge(client, host)
    assert again.status_code == 409 and "exists" in again.json()["message"]
    assert client.get("/api/v1/challenges/nope").status_code == 404
    missing = bundle_problem(client, host, tmp_path, "lost", challenge="nope")
    assert missing.status_code == 404 and "nope" in missing.json()["message"]
    assert client.get("/api/v1/competitions/lost").status_code == 404  # rolled back
    orphan = bundle_problem(client, host, tmp_path, "orphan", organisation="acme")
    assert orphan.status_code == 422 and "challenge" in orphan.json()["message"]
    bad_logo = client.post(
        "/api/v1/organisations",
        json={"slug": "acme", "name": "Acme", "logo_url": "javascript:alert(1)"},
        headers=auth(host),
    )
    assert bad_logo.status_code == 422
    named = client.post(
        "/api/v1/organisations",
        json={"name": "Demo Lab, Inc.", "country": "Brazil", "logo": "https://x.example/l.png"},
        headers=auth(host),
    )
    assert named.status_code == 201, named.text
    assert named.json()["slug"] == "demo-lab-inc" and named.json()["logo_url"].endswith("l.png")
    unnamed = client.post("/api/v1/organisations", json={"name": "!!"}, headers=auth(host))
    assert unnamed.status_code == 422 and "slug" in unnamed.json()["message"]


def test_organisation_members_act_on_their_organisations_problems_only(
    client: TestClient, settings: Any, tmp_path: Path
) -> None:
    tokens = _setup(client, settings, tmp_path)
    judge = create_user(client, tokens["admin"], "judy", "judge")
    assert add_member(client, tokens["ana"], "acme", "judy", "judge").status_code == 201
    assert board(client, "acme-beams", judge, "private").status_code == 200
    assert board(client, "bolt-delay", judge, "private").status_code == 403
    # the hosts of one organisation hold nothing on the other's problem
    assert board(client, "bolt-delay", tokens["ana"], "private").status_code == 403
    staff = client.post(
        "/api/v1/competitions/bolt-delay/staff",
        json={"username": "ana", "role": "judge"},
        headers=auth(tokens["ana"]),
    )
    assert staff.status_code == 403
    # a judge of the organisation manages nothing, a host of another adds no member to it
    assert add_member(client, judge, "acme", "bob", "judge").status_code == 403
    assert add_member(client, tokens["bob"], "acme", "bob", "host").status_code == 403
    # joining a problem to an organisation needs a host of that organisation
    made = bundle_problem(client, tokens["bob"], tmp_path, "sneaky")
    assert made.status_code == 201
    moved = client.post(
        "/api/v1/challenges/fiveg/problems",
        json={"competition": "sneaky", "organisation": "acme"},
        headers=auth(tokens["bob"]),
    )
    assert moved.status_code == 403 and "acme" in moved.json()["message"]
    joined = client.post(
        "/api/v1/challenges/fiveg/problems",
        json={"competition": "sneaky", "organisation": "bolt", "level": "L2"},
        headers=auth(tokens["bob"]),
    )
    assert joined.status_code == 201, joined.text
    assert joined.json()["level"] == "L2"
    # removal takes the rights away; an organisation keeps a host
    removed = client.delete("/api/v1/organisations/acme/members/judy", headers=auth(tokens["ana"]))
    assert removed.status_code == 204
    assert board(client, "acme-beams", judge, "private").status_code == 403
    last = client.delete("/api/v1/organisations/acme/members/ana", headers=auth(tokens["ana"]))
    assert last.status_code == 409


def test_members_never_compete_in_their_organisations_problems(
    client: TestClient, settings: Any, tmp_path: Path
) -> None:
    tokens = _setup(client, settings, tmp_path)
    judge = create_user(client, tokens["admin"], "judy", "judge")
    assert add_member(client, tokens["ana"], "acme", "judy", "judge").status_code == 201
    assert register(client, judge).status_code == 201
    own = client.post(
        "/api/v1/competitions/acme-beams/teams", json={"name": "Jays"}, headers=auth(judge)
    )
    assert own.status_code == 403 and "staff" in own.json()["message"]
    other = client.post(
        "/api/v1/competitions/bolt-delay/teams", json={"name": "Jays"}, headers=auth(judge)
    )
    assert other.status_code == 201  # another organisation's problem is open to them
    added = add_member(client, tokens["bob"], "bolt", "judy", "judge")
    assert added.status_code == 409 and "team" in added.json()["message"]


def test_participants_register_once_for_every_problem(
    client: TestClient, settings: Any, tmp_path: Path
) -> None:
    tokens = _setup(client, settings, tmp_path)
    alice = create_user(client, tokens["admin"], "alice")
    refused = client.post(
        "/api/v1/competitions/acme-beams/teams", json={"name": "Alpha"}, headers=auth(alice)
    )
    assert refused.status_code == 403
    assert "mlchallenge register fiveg" in refused.json()["message"]
    assert register(client, alice, category="astronaut").status_code == 422
    first = register(client, alice, affiliation="UFPA", country="Brazil")
    assert first.status_code == 201, first.text
    assert first.json()["category"] == "student"
    update = register(client, alice, affiliation="UFPA", country="Brazil", category="professional")
    assert update.status_code == 200 and update.json()["category"] == "professional"
    mine = client.get("/api/v1/challenges/fiveg/registrations/me", headers=auth(alice))
    assert mine.json()["affiliation"] == "UFPA"
    for slug in ("acme-beams", "bolt-delay"):
        team = client.post(
            f"/api/v1/competitions/{slug}/teams", json={"name": "Alpha"}, headers=auth(alice)
        )
        assert team.status_code == 201, team.text
    # only the organiser sees every registration
    organiser = auth(tokens["organiser"])
    everyone = client.get("/api/v1/challenges/fiveg/registrations", headers=organiser)
    assert [r["username"] for r in everyone.json()] == ["alice"]
    hidden = client.get("/api/v1/challenges/fiveg/registrations", headers=auth(alice))
    assert hidden.status_code == 403


def test_registration_window_is_enforced(client: TestClient, settings: Any) -> None:
    admin = admin_token(settings)
    host = create_user(client, admin, "ana", "host")
    alice = create_user(client, admin, "alice")
    challenge(client, host, slug="later", registration_opens_at="2999-01-01T00:00:00Z")
    early = register(client, alice, challenge="later")
    assert early.status_code == 403 and "opens" in early.json()["message"]
    challenge(client, host, slug="over", registration_closes_at="2001-01-01T00:00:00Z")
    late = register(client, alice, challenge="over")
    assert late.status_code == 403 and "closed" in late.json()["message"]


def test_a_bundle_declares_its_level_and_data_profile(
    client: TestClient, settings: Any, tmp_path: Path
) -> None:
    admin = admin_token(settings)
    host = create_user(client, admin, "ana", "host")
    assert challenge(client, host).status_code == 201
    organisation(client, host, "acme", country="Brazil", region="Americas")
    profile = {"source": "drive tests in Belem", "nature": "real", "sharing": "CC-BY-4.0"}
    made = bundle_problem(
        client,
        host,
        tmp_path,
        "drive",
        challenge="fiveg",
        organisation="acme",
        intelligence_level="L4",
        data_handling=profile,
    )
    assert made.status_code == 201, made.text
    problem = client.get("/api/v1/challenges/fiveg").json()["problems"][0]
    assert problem["level"] == "L4" and problem["data_profile"] == profile
    bad = bundle_problem(
        client,
        host,
        tmp_path,
        "vague",
        challenge="fiveg",
        organisation="acme",
        data_handling={"source": "x", "nature": "imagined"},
    )
    assert bad.status_code == 422 and "nature" in bad.json()["message"]
    level = bundle_problem(
        client, host, tmp_path, "high", challenge="fiveg", intelligence_level="L9"
    )
    assert level.status_code == 422
    # built in, JSON create: the problem declares its own
    built_in = client.post(
        "/api/v1/competitions",
        json={
            "problem": "network-delay",
            "slug": "delay",
            "size": 200,
            "baseline": False,
            "challenge": "fiveg",
            "organisation": "acme",
        },
        headers=auth(host),
    )
    assert built_in.status_code == 201, built_in.text
    rows = {p["competition"]: p for p in client.get("/api/v1/challenges/fiveg").json()["problems"]}
    assert rows["delay"]["level"] == "L2" and rows["delay"]["data_profile"]["nature"] == "synthetic"
