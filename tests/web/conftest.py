"""Fixtures of the web page tests: a competition with a host, a judge and two participants."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.platform.helpers import (
    admin_token,
    auth,
    create_user,
    write_regression_bundle,
    zip_folder,
)

PASSWORD = "correct horse battery"
DESCRIPTION = (
    "# Tiny\n\nPredict **y**.\n\n<script>alert('x')</script>\n\n"
    "[click](javascript:alert(1)) and [docs](https://example.org)\n"
)
CSRF_INPUT = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form of a page."""
    found = CSRF_INPUT.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@dataclass
class Site:
    """The app, its settings and the users' API tokens."""

    app: FastAPI
    settings: Any
    api: TestClient
    tokens: dict[str, str]
    bundle: Path
    slug: str = "tiny"

    def browser(self, username: str | None = None) -> TestClient:
        """A client with its own cookies, logged in through the login form when a name is given."""
        client = TestClient(self.app)
        if username is not None:
            page = client.get("/login")
            response = client.post(
                "/login",
                data={
                    "username": username,
                    "password": PASSWORD,
                    "csrf_token": csrf_of(page.text),
                    "next": "/",
                },
                follow_redirects=False,
            )
            assert response.status_code == 303, response.text
        return client

    def post_form(
        self, client: TestClient, page: str, action: str, data: dict[str, Any], **kwargs: Any
    ) -> Any:
        """Open `page`, then post its form to `action` with the page's CSRF token."""
        token = csrf_of(client.get(page).text)
        return client.post(
            action, data={"csrf_token": token, **data}, follow_redirects=False, **kwargs
        )


@pytest.fixture
def site(app: FastAPI, settings: Any, tmp_path: Path) -> Site:
    api = TestClient(app)
    admin = admin_token(settings)
    tokens = {"admin": admin}
    for name, role in (
        ("host", "host"),
        ("judge", "judge"),
        ("alice", "participant"),
        ("bob", "participant"),
    ):
        tokens[name] = create_user(api, admin, name, role)
    bundle = write_regression_bundle(tmp_path / "bundle")
    (bundle / "description.md").write_text(DESCRIPTION, encoding="utf-8")
    created = api.post(
        "/api/v1/competitions",
        headers=auth(tokens["host"]),
        files={"bundle": ("b.zip", zip_folder(bundle), "application/zip")},
    )
    assert created.status_code == 201, created.text
    judge = api.post(
        "/api/v1/competitions/tiny/staff",
        json={"username": "judge", "role": "judge"},
        headers=auth(tokens["host"]),
    )
    assert judge.status_code == 201, judge.text
    team = api.post(
        "/api/v1/competitions/tiny/teams", json={"name": "Alpha"}, headers=auth(tokens["alice"])
    )
    assert team.status_code == 201, team.text
    return Site(app, settings, api, tokens, bundle)
