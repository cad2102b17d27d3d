"""Helpers for challenge tests: organisations, a challenge, problem statements in it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.judging.helpers import evaluate, quiet
from tests.platform.helpers import (
    admin_token,
    auth,
    create_user,
    regression_settings,
    truth_predictions,
    write_regression_bundle,
    zip_folder,
)


def organisation(
    client: TestClient, token: str, slug: str, *, country: str, region: str
) -> dict[str, Any]:
    """Create an organisation over the API."""
    response = client.post(
        "/api/v1/organisations",
        json={
            "slug": slug,
            "name": slug.upper(),
            "country": country,
            "region": region,
            "logo_url": f"https://{slug}.example.org/logo.png",
            "contact_email": f"contact@{slug}.example.org",
        },
        headers=auth(token),
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def add_member(client: TestClient, token: str, org: str, username: str, role: str) -> Any:
    """Add a member to an organisation (the response)."""
    return client.post(
        f"/api/v1/organisations/{org}/members",
        json={"username": username, "role": role},
        headers=auth(token),
    )


def challenge(client: TestClient, token: str, slug: str = "fiveg", **fields: Any) -> Any:
    """Create a challenge (the response)."""
    return client.post(
        "/api/v1/challenges",
        json={"slug": slug, "title": "AI/ML in 5G", **fields},
        headers=auth(token),
    )


def bundle_problem(client: TestClient, token: str, tmp_path: Path, slug: str, **fields: Any) -> Any:
    """Create a competition from a bundle whose competition.yaml names `fields` (the response)."""
    bundle = write_regression_bundle(tmp_path / slug, settings=regression_settings(slug, **fields))
    return client.post(
        "/api/v1/competitions",
        headers=auth(token),
        files={"bundle": ("b.zip", zip_folder(bundle), "application/zip")},
    )


def register(client: TestClient, token: str, challenge: str = "fiveg", **fields: Any) -> Any:
    """Register to a challenge (the response)."""
    body = {"affiliation": "Uni", "country": "Brazil", "category": "student", **fields}
    return client.post(
        f"/api/v1/challenges/{challenge}/registrations", json=body, headers=auth(token)
    )


def scored_world(client: TestClient, settings: Any, tmp_path: Path) -> dict[str, Any]:
    """Hosts ana (acme, hosting `tiny`) and bob (bolt); judges jo (bolt), ja (acme) and idle;
    alice (affiliation BOLT) in team Alpha and carol in Beta, both scored (Alpha first)."""
    admin = admin_token(settings)
    t: dict[str, Any] = {"admin": admin}
    for name in ("ana", "bob"):
        t[name] = create_user(client, admin, name, "host")
    for name in ("jo", "ja", "idle"):
        t[name] = create_user(client, admin, name, "judge")
    assert challenge(client, t["ana"]).status_code == 201
    organisation(client, t["ana"], "acme", country="Brazil", region="Americas")
    organisation(client, t["bob"], "bolt", country="Japan", region="Asia-Pacific")
    assert add_member(client, t["bob"], "bolt", "jo", "judge").status_code == 201
    assert add_member(client, t["ana"], "acme", "ja", "judge").status_code == 201
    made = bundle_problem(
        client, t["ana"], tmp_path, "tiny", challenge="fiveg", organisation="acme"
    )
    assert made.status_code == 201, made.text
    teams = {}
    for name, affiliation, team, noise in (
        ("alice", "BOLT", "Alpha", 0.0),
        ("carol", "UFPA", "Beta", 0.5),
    ):
        t[name] = create_user(client, admin, name)
        assert register(client, t[name], affiliation=affiliation).status_code == 201
        created = client.post(
            "/api/v1/competitions/tiny/teams", json={"name": team}, headers=auth(t[name])
        )
        assert created.status_code == 201, created.text
        teams[team] = created.json()["id"]
        sent = client.post(
            "/api/v1/competitions/tiny/submissions",
            files={"file": ("p.csv", truth_predictions(tmp_path / "tiny", noise))},
            data={"format": "predictions"},
            headers=auth(t[name]),
        )
        assert sent.status_code == 201, sent.text
        evaluate(quiet(settings), int(sent.json()["id"]))
    t["teams"] = teams
    return t
