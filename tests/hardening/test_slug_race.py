"""Two hosts upload the same slug at once: one 201, one 409, and the winner's labels stay intact."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from challenge.competitions.models import Competition
from challenge.db.session import transaction
from challenge.files import storage
from tests.platform.helpers import (
    admin_token,
    auth,
    create_user,
    regression_settings,
    write_regression_bundle,
    zip_folder,
)


def rival_bundles(tmp_path: Path, slug: str) -> dict[str, tuple[bytes, pd.DataFrame]]:
    """Two bundles for one slug whose labels differ (zip, labels by title)."""
    bundles = {}
    for who in ("first", "second"):
        folder = write_regression_bundle(
            tmp_path / f"{slug}-{who}",
            n=4000,
            settings=regression_settings(slug, title=f"{who} host"),
        )
        labels = pd.read_csv(folder / "test_labels.csv")
        if who == "second":
            labels["y"] = labels["y"] * -1 + 100
            labels.to_csv(folder / "test_labels.csv", index=False)
        bundles[f"{who} host"] = (zip_folder(folder), labels)
    return bundles


def race(client: TestClient, tokens: list[str], zips: list[bytes]) -> list[Any]:
    barrier = threading.Barrier(len(zips))
    responses: list[Any] = [None] * len(zips)

    def upload(index: int) -> None:
        barrier.wait()
        responses[index] = client.post(
            "/api/v1/competitions",
            headers=auth(tokens[index]),
            files={"bundle": ("b.zip", zips[index], "application/zip")},
        )

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(len(zips))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return responses


@pytest.mark.parametrize("round_", range(2))
def test_same_slug_at_once_one_wins_and_keeps_its_labels(
    client: TestClient, settings: Any, tmp_path: Path, round_: int
) -> None:
    admin = admin_token(settings)
    tokens = [create_user(client, admin, f"host{i}", "host") for i in range(2)]
    slug = f"race-{round_}"
    bundles = rival_bundles(tmp_path, slug)
    responses = race(client, tokens, [zipped for zipped, _ in bundles.values()])
    codes = sorted(r.status_code for r in responses)
    assert codes == [201, 409], [r.text[:300] for r in responses]
    loser = next(r for r in responses if r.status_code == 409).json()
    assert loser["error"] == "conflict" and slug in loser["message"]
    winner = next(r for r in responses if r.status_code == 201).json()
    _, expected = bundles[winner["title"]]
    stored = pd.read_parquet(storage.labels_path(settings.labels, slug))
    assert stored["y"].tolist() == expected["y"].tolist()
    with transaction(settings.database_url) as session:
        competition = session.query(Competition).filter_by(slug=slug).one()
        assert competition.labels_sha256 == storage.sha256_file(
            storage.labels_path(settings.labels, slug)
        )
    assert not list((settings.storage / ".incoming").iterdir())
    assert not list((settings.labels / ".incoming").iterdir())


def test_a_slug_whose_folders_exist_is_refused_not_overwritten(
    client: TestClient, settings: Any, tmp_path: Path
) -> None:
    host = create_user(client, admin_token(settings), "host", "host")
    leftover = storage.labels_path(settings.labels, "tiny")
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"labels of an earlier competition")
    bundle = write_regression_bundle(tmp_path / "bundle")
    response = client.post(
        "/api/v1/competitions",
        headers=auth(host),
        files={"bundle": ("b.zip", zip_folder(bundle), "application/zip")},
    )
    assert response.status_code == 409, response.text
    assert "already stored" in response.json()["message"]
    assert leftover.read_bytes() == b"labels of an earlier competition"
