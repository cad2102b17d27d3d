"""Competitions from host bundles: validation errors name the key or file; data and labels."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient

from challenge.files import storage
from tests.platform.helpers import (
    admin_token,
    auth,
    create_user,
    regression_settings,
    write_regression_bundle,
    zip_folder,
)


def upload_bundle(client: TestClient, token: str, data: bytes) -> Any:
    return client.post(
        "/api/v1/competitions",
        files={"bundle": ("bundle.zip", data, "application/zip")},
        headers=auth(token),
    )


@pytest.fixture
def host(client: TestClient, settings: Any) -> str:
    return create_user(client, admin_token(settings), "host1", "host")


def test_create_from_bundle_zip(
    client: TestClient, settings: Any, host: str, tmp_path: Path
) -> None:
    bundle = write_regression_bundle(tmp_path / "b")
    response = upload_bundle(client, host, zip_folder(bundle))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["slug"] == "tiny" and body["metric"] == "mae" and body["task"] == "regression"
    assert set(body["data_files"]) == {"train.parquet", "test.parquet"}
    assert body["phases"][0]["max_per_day"] == 5
    listed = client.get("/api/v1/competitions").json()
    assert [c["slug"] for c in listed] == ["tiny"]
    # Hidden labels live under the labels root, with a split column, never in public data.
    labels = pd.read_parquet(storage.labels_path(settings.labels, "tiny"))
    assert set(labels["split"]) == {"public", "private"}
    assert round(len(labels) * 0.3) == (labels["split"] == "public").sum()
    public = storage.public_data_dir(settings.storage, "tiny")
    assert not any("label" in p.name for p in public.iterdir())
    assert "y" not in pd.read_parquet(public / "test.parquet").columns


def test_data_download_is_public_data_only(
    client: TestClient, settings: Any, host: str, tmp_path: Path
) -> None:
    upload_bundle(client, host, zip_folder(write_regression_bundle(tmp_path / "b")))
    participant = create_user(client, admin_token(settings), "p1")
    ok = client.get("/api/v1/competitions/tiny/data/train.parquet", headers=auth(participant))
    assert ok.status_code == 200
    assert len(pd.read_parquet(io.BytesIO(ok.content))) == 200
    for name in (
        "test_labels.parquet",
        "..%2F..%2Flabels%2Ftiny%2Ftest_labels.parquet",
        "competition.yaml",
    ):
        denied = client.get(f"/api/v1/competitions/tiny/data/{name}", headers=auth(participant))
        assert denied.status_code == 404
    assert client.get("/api/v1/competitions/tiny/data/train.parquet").status_code == 401


def test_participants_cannot_create(client: TestClient, settings: Any, tmp_path: Path) -> None:
    participant = create_user(client, admin_token(settings), "p2")
    response = upload_bundle(client, participant, zip_folder(write_regression_bundle(tmp_path)))
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda s, d: s.update(slug="Bad Slug"), "competition.yaml: slug"),
        (lambda s, d: s.pop("title"), "competition.yaml: title"),
        (lambda s, d: s.update(metrics=["accuracy_of_doom"]), "accuracy_of_doom"),
        (lambda s, d: s.update(formats=["exe"]), "exe"),
        (lambda s, d: s.update(unknown_key=1), "unknown_key"),
        (lambda s, d: s["phases"][0].update(start="2026-02-01", end="2026-01-01"), "phases[0]"),
        (lambda s, d: s.update(target="nope"), "nope"),
        (lambda s, d: (d / "train.csv").unlink(), "train.csv or train.parquet is missing"),
        (lambda s, d: (d / "test_labels.csv").write_text("id,y\n1,2\n"), "test_labels.csv"),
        (
            lambda s, d: (
                pd.read_csv(d / "test_labels.csv")
                .assign(x1=1.0)
                .to_csv(d / "test.csv", index=False)
            ),
            "must not be in the test features",
        ),
    ],
)
def test_bad_bundles_name_the_problem(
    client: TestClient, host: str, tmp_path: Path, mutate: Any, expected: str
) -> None:
    folder = tmp_path / "bundle"
    settings = regression_settings()
    write_regression_bundle(folder)
    mutate(settings, folder)
    (folder / "competition.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    response = upload_bundle(client, host, zip_folder(folder))
    assert response.status_code == 422, response.text
    assert expected in response.json()["message"]
    assert client.get("/api/v1/competitions").json() == []


def test_hostile_bundle_archives(client: TestClient, host: str, tmp_path: Path) -> None:
    bundle = write_regression_bundle(tmp_path / "b")
    for name in ("../evil.txt", "/abs/evil.txt"):
        buffer = io.BytesIO(zip_folder(bundle))
        with zipfile.ZipFile(buffer, "a") as archive:
            archive.writestr(name, "x")
        response = upload_bundle(client, host, buffer.getvalue())
        assert response.status_code == 422, name
    buffer = io.BytesIO(zip_folder(bundle))
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        for index in range(300):  # 300 MB of 1 MB entries, each under the per-entry check
            archive.writestr(f"pad/{index}.bin", bytes(1024**2))
    bomb = upload_bundle(client, host, buffer.getvalue())
    assert bomb.status_code == 422 and "times its size" in bomb.json()["message"]
    assert upload_bundle(client, host, b"not a zip").status_code == 422
    missing = client.post("/api/v1/competitions", files={"other": ("a", b"x")}, headers=auth(host))
    assert missing.status_code == 400 and "bundle" in missing.json()["message"]


def test_duplicate_slug(client: TestClient, host: str, tmp_path: Path) -> None:
    data = zip_folder(write_regression_bundle(tmp_path / "b"))
    assert upload_bundle(client, host, data).status_code == 201
    again = upload_bundle(client, host, data)
    assert again.status_code == 409 and "tiny" in again.json()["message"]


def test_unknown_problem_lists_the_valid_ones(client: TestClient, host: str) -> None:
    response = client.post("/api/v1/competitions", json={"problem": "nope"}, headers=auth(host))
    assert response.status_code == 422
    assert "network-delay" in response.json()["message"]


def test_an_empty_or_broken_csv_is_named(client: TestClient, host: str, tmp_path: Path) -> None:
    for content in ("", 'id,"x1\n1,"2\n'):
        folder = write_regression_bundle(tmp_path / f"b{len(content)}")
        (folder / "test.csv").write_text(content)
        response = upload_bundle(client, host, zip_folder(folder))
        assert response.status_code == 422, response.text
        assert "test.csv" in response.json()["message"]
