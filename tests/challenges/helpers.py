"""Helpers for challenge tests: organisations, a challenge, problem statements in it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.platform.helpers import auth, regression_settings, write_regression_bundle, zip_folder


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
