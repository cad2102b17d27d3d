"""Settings: defaults under the data directory, and no default secret in production."""

from __future__ import annotations

from pathlib import Path

import pytest

from challenge.config import DEFAULT_SECRET, Mode, Settings


def test_defaults_live_under_the_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLCHALLENGE_HOME", str(tmp_path / "data"))
    settings = Settings()
    home = (tmp_path / "data").resolve()
    assert settings.home == home
    assert settings.database_url == f"sqlite:///{home / 'mlchallenge.db'}"
    assert settings.broker_url == f"sqla+sqlite:///{home / 'broker.db'}"
    assert settings.mlflow_tracking_uri == f"sqlite:///{home / 'mlflow.db'}"
    assert settings.storage == home / "storage"
    assert settings.labels == home / "labels"


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLCHALLENGE_DATABASE_URL", "postgresql+psycopg://u@db/x")
    monkeypatch.setenv("MLCHALLENGE_BROKER_URL", "redis://redis:6379/0")
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg://u@db/x"
    assert settings.broker_url == "redis://redis:6379/0"


def test_production_refuses_the_default_secret() -> None:
    with pytest.raises(ValueError, match="MLCHALLENGE_SECRET_KEY"):
        Settings(mode=Mode.PRODUCTION, secret_key=DEFAULT_SECRET)
    assert Settings(mode=Mode.PRODUCTION, secret_key="s" * 40).secret_key == "s" * 40
    assert Settings(mode=Mode.EMBEDDED).secret_key == DEFAULT_SECRET


def test_labels_folder_is_private(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    settings.ensure_dirs()
    assert settings.labels.stat().st_mode & 0o077 == 0
