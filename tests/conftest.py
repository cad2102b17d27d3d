"""Shared fixtures: a real database (SQLite and PostgreSQL), settings in a temporary home."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

PG_ADMIN_URL = os.environ.get(
    "MLCHALLENGE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--databases",
        default="sqlite,postgresql",
        help="databases the platform tests run on (comma-separated: sqlite, postgresql)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_url" in metafunc.fixturenames:
        kinds = [k.strip() for k in metafunc.config.getoption("--databases").split(",") if k]
        metafunc.parametrize("database_kind", kinds, scope="session", indirect=True)


@pytest.fixture(scope="session")
def database_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(database_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database for the session: a SQLite file or a fresh PostgreSQL database."""
    from challenge.db.migrate import upgrade
    from challenge.db.session import get_engine

    if database_kind == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        upgrade(url)
        yield url
        get_engine(url).dispose()
        return
    name = f"mlc_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        pytest.fail(
            f"PostgreSQL is needed at {PG_ADMIN_URL} (set MLCHALLENGE_TEST_POSTGRES, or run "
            f"`make services`): {exc}"
        )
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    get_engine(url).dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _clean(url: str) -> None:
    from challenge.db.base import Base
    from challenge.db.session import get_engine

    engine = get_engine(url)
    tables = list(reversed(Base.metadata.sorted_tables))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(table.delete())


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Iterator[object]:
    """Settings in a fresh home on the session's database; tables are emptied after the test."""
    import challenge.db.models  # noqa: F401
    from challenge.config import Settings

    home = tmp_path / "home"
    configured = Settings(
        home=home,
        database_url=database_url,
        broker_url=f"sqla+sqlite:///{tmp_path / 'broker.db'}",
        mlflow_tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        max_upload_mb=5,
    )
    configured.ensure_dirs()
    yield configured
    _clean(database_url)


@pytest.fixture
def app(settings: object) -> object:
    from challenge.app import create_app

    return create_app(settings)  # type: ignore[arg-type]


@pytest.fixture
def client(app: object) -> Iterator[object]:
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:  # type: ignore[arg-type]
        yield test_client


@pytest.fixture
def arena(client: Any, settings: Any, tmp_path: Path) -> Any:
    """A host, a competition from a small regression bundle, a participant in team Alpha."""
    from tests.arena import make_arena
    from tests.platform.helpers import regression_settings

    return make_arena(client, settings, tmp_path, regression_settings())
