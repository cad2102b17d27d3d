"""Helpers for platform tests: users over the API and small host bundles written on the fly."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from fastapi.testclient import TestClient


def admin_token(settings: Any) -> str:
    """A token of the admin user (created if missing)."""
    from challenge.accounts import service
    from challenge.db.session import transaction

    with transaction(settings.database_url) as session:
        _, token = service.ensure_admin(session)
    return token


def auth(token: str) -> dict[str, str]:
    """The bearer header."""
    return {"Authorization": f"Bearer {token}"}


def create_user(client: TestClient, admin: str, username: str, role: str = "participant") -> str:
    """Create a user over the API and return its token."""
    response = client.post(
        "/api/v1/users",
        json={
            "username": username,
            "email": f"{username}@example.org",
            "password": "correct horse battery",
            "role": role,
        },
        headers=auth(admin),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def regression_settings(slug: str = "tiny", **overrides: Any) -> dict[str, Any]:
    """competition.yaml of a small regression competition."""
    settings: dict[str, Any] = {
        "title": "Tiny regression",
        "slug": slug,
        "task": "regression",
        "id_column": "id",
        "target": "y",
        "metrics": ["mae", "rmse"],
        "formats": ["predictions", "sklearn", "python"],
        "limits": {"time_s": 60, "memory_mb": 1024},
        "split": {"public_fraction": 0.3, "seed": 1},
        "phases": [
            {
                "name": "main",
                "start": "2026-01-01T00:00:00Z",
                "max_per_day": 5,
                "max_total": 20,
                "max_pending": 5,
            }
        ],
        "team": {"max_size": 2},
    }
    settings.update(overrides)
    return settings


def write_regression_bundle(
    folder: Path, *, n: int = 200, slug: str = "tiny", settings: dict[str, Any] | None = None
) -> Path:
    """A host bundle whose target is y = 2 x1 - x2 + noise."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)

    def frame(count: int, start: int) -> pd.DataFrame:
        x1, x2 = rng.normal(size=count), rng.normal(size=count)
        return pd.DataFrame(
            {
                "id": np.arange(start, start + count),
                "x1": x1,
                "x2": x2,
                "y": 2 * x1 - x2 + rng.normal(scale=0.1, size=count),
            }
        )

    train, test = frame(n, 0), frame(n, 10_000)
    train.to_csv(folder / "train.csv", index=False)
    test.drop(columns=["y"]).to_csv(folder / "test.csv", index=False)
    test[["id", "y"]].to_csv(folder / "test_labels.csv", index=False)
    (folder / "description.md").write_text("# Tiny\nPredict y.\n", encoding="utf-8")
    (folder / "competition.yaml").write_text(
        yaml.safe_dump(settings or regression_settings(slug)), encoding="utf-8"
    )
    return folder


def zip_folder(folder: Path) -> bytes:
    """A zip of a folder's files (at the top of the archive)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def truth_predictions(bundle: Path, noise: float = 0.0) -> bytes:
    """A predictions CSV built from the bundle's labels (plus optional noise)."""
    labels = pd.read_csv(bundle / "test_labels.csv")
    rng = np.random.default_rng(1)
    labels["y"] = labels["y"] + rng.normal(scale=noise, size=len(labels)) if noise else labels["y"]
    return labels[["id", "y"]].to_csv(index=False).encode()
