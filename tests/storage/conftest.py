"""Fixtures of the storage tests: one moto S3 server for the session, a fresh bucket per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.s3 import S3Server, moto_server, pointed_at


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as server, pointed_at(server):
        yield server


@pytest.fixture
def bucket(s3: S3Server) -> str:
    name = f"mlc-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(name)
    return name


@pytest.fixture
def storage_url(bucket: str) -> str:
    return f"s3://{bucket}/platform"


@pytest.fixture
def settings(database_url: str, tmp_path: Path, storage_url: str) -> Iterator[object]:
    """The api's settings: its own home, files at the S3 URL (overrides the shared fixture)."""
    from tests.conftest import _clean

    configured = machine(database_url, tmp_path, tmp_path / "home", storage_url)
    yield configured
    _clean(database_url)


def machine(database_url: str, tmp_path: Path, home: Path, storage_url: str) -> Any:
    """Settings of one machine: its own data directory, the shared database, broker and storage."""
    import challenge.db.models  # noqa: F401
    from challenge.config import Settings

    configured = Settings(
        home=home,
        database_url=database_url,
        broker_url=f"sqla+sqlite:///{tmp_path / 'broker.db'}",
        mlflow_tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        max_upload_mb=5,
        storage_url=storage_url,
    )
    configured.ensure_dirs()
    return configured
