"""A competition from a host bundle, with a host and a participant in a team (for API tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.platform.helpers import (
    admin_token,
    auth,
    create_user,
    write_regression_bundle,
    zip_folder,
)


@dataclass
class Arena:
    """A competition with a host and one participant in a team."""

    client: TestClient
    admin: str
    host: str
    participant: str
    team: dict[str, Any]
    bundle: Path
    slug: str = "tiny"

    def submit(
        self,
        content: bytes,
        name: str = "pred.csv",
        format: str = "predictions",
        token: str | None = None,
    ) -> Any:
        return self.client.post(
            f"/api/v1/competitions/{self.slug}/submissions",
            files={"file": (name, content)},
            data={"format": format},
            headers=auth(token or self.participant),
        )


def make_arena(
    client: TestClient, settings: Any, tmp_path: Path, competition: dict[str, Any]
) -> Arena:
    admin = admin_token(settings)
    host = create_user(client, admin, "host", "host")
    bundle = write_regression_bundle(tmp_path / "bundle", settings=competition)
    created = client.post(
        "/api/v1/competitions",
        headers=auth(host),
        files={"bundle": ("b.zip", zip_folder(bundle), "application/zip")},
    )
    assert created.status_code == 201, created.text
    participant = create_user(client, admin, "alice")
    team = client.post(
        f"/api/v1/competitions/{competition['slug']}/teams",
        json={"name": "Alpha"},
        headers=auth(participant),
    )
    assert team.status_code == 201, team.text
    return Arena(client, admin, host, participant, team.json(), bundle, competition["slug"])
