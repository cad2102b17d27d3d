"""The platform's settings: one typed object, read from `MLCHALLENGE_*` environment variables."""

from __future__ import annotations

import os
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from fsspec.registry import known_implementations
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "change-me-embedded-only"


class Mode(StrEnum):
    """Embedded runs everything in one command on local files; production uses real services."""

    EMBEDDED = "embedded"
    DEV = "dev"
    PRODUCTION = "production"


class LogFormat(StrEnum):
    """How the processes write their logs."""

    TEXT = "text"
    JSON = "json"


class Registration(StrEnum):
    """Who may make an account on their own (`POST /api/v1/auth/register`, the sign-up page)."""

    OPEN = "open"
    INVITE = "invite"
    CLOSED = "closed"


class SmtpSecurity(StrEnum):
    """How the connection to the SMTP server is protected."""

    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


class Settings(BaseSettings):
    """Everything the platform reads from its environment, in one place."""

    model_config = SettingsConfigDict(env_prefix="MLCHALLENGE_", extra="ignore")

    mode: Mode = Mode.EMBEDDED
    home: Path = Field(default=Path(".mlchallenge"), description="data directory")
    database_url: str = ""
    broker_url: str = ""
    mlflow_tracking_uri: str = ""
    mlflow_ui_url: str = Field(
        default="", description="where pages link to the MLflow UI (`/mlflow` when it is proxied)"
    )
    mlflow_ui_upstream: str = Field(
        default="",
        description="the MLflow UI server the platform proxies at /mlflow, behind its login: "
        "`unix:/path/to/socket` or an internal `http://host:port`",
    )
    storage_root: Path | None = None
    labels_root: Path | None = None
    storage_url: str = Field(
        default="",
        description="where uploads, public data, baselines and outputs live when api and workers "
        "share no disk (`s3://bucket/prefix`, any fsspec URL; empty: the local storage folder)",
    )
    labels_url: str = Field(
        default="",
        description="where hidden labels live with a storage URL (default `<storage_url>/labels`); "
        "a separate bucket or prefix only the platform's credentials can read",
    )
    secret_key: str = DEFAULT_SECRET
    secure_cookies: bool = Field(
        default=False,
        description="mark cookies Secure on every request, not only those that arrive over HTTPS",
    )
    sandbox_backend: str = "bwrap"
    sandbox_warm: bool = Field(
        default=True,
        description="workers run code submissions in warm single-use jails prepared while they "
        "idle (docs/sandbox.md#warm-jails); false: a cold jail per run",
    )
    sandbox_fork_server: bool = Field(
        default=True,
        description="workers run CPU code submissions through a fork server that imports once and "
        "forks a child with fresh namespaces per run (docs/sandbox.md#fork-server); runs it does "
        "not take go warm or cold",
    )
    max_upload_mb: int = Field(default=100, ge=1, le=10_240)
    max_bundle_mb: int = Field(
        default=2048, ge=1, le=102_400, description="the largest host bundle zip accepted"
    )
    max_body_kb: int = Field(
        default=1024,
        ge=16,
        le=1_048_576,
        description="the largest body of any request other than an upload (JSON, forms)",
    )
    header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="a client must send a request's line and headers within this time",
    )
    body_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="the longest pause while a request body arrives",
    )
    body_min_bytes_per_s: int = Field(
        default=1024,
        gt=0,
        description="once body_timeout_s has passed, a body must arrive at least this fast",
    )
    lease_seconds: float = Field(default=30.0, gt=1)
    reaper_interval_s: float = Field(default=10.0, gt=0.1)
    max_attempts: int = Field(default=3, ge=1)
    log_format: LogFormat = Field(
        default=LogFormat.TEXT,
        description="json: one JSON object per log line, with the submission id while evaluating",
    )
    metrics_token: str = Field(
        default="",
        description=(
            "bearer token that Prometheus sends to /metrics (api) and to a worker's metrics "
            "port; without one, metrics are open outside production and off in production"
        ),
    )
    metrics_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="the port of a worker's metrics endpoint (0: none; the api serves /metrics)",
    )
    rate_limits: bool = Field(default=True, description="refuse bursts on credential endpoints")
    rate_limit_storage: str = Field(
        default="",
        description="where rate-limit counters live (a `limits` storage URI); default: the "
        "broker when it is Redis, else memory (one API process)",
    )
    rate_limit_login: str = Field(default="10/minute;100/hour", description="per client address")
    rate_limit_login_user: str = Field(default="30/hour", description="per username")
    rate_limit_register: str = Field(default="5/hour;20/day", description="per client address")
    rate_limit_tokens: str = Field(default="30/minute", description="per client address")
    registration: Registration | None = Field(
        default=None,
        description="open, invite or closed; default: open on the embedded default and in dev, "
        "closed in production",
    )
    public_url: str = Field(
        default="",
        description="the address people reach the site at (links in emails); default: the "
        "address of the request",
    )
    smtp_host: str = Field(default="", description="SMTP server for emails; empty: no emails")
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: SmtpSecurity = SmtpSecurity.STARTTLS
    smtp_username: str = ""
    smtp_password: str = ""
    mail_from: str = Field(default="mlchallenge@localhost", description="the emails' sender")
    login_link_minutes: int = Field(default=15, ge=1, le=1440)
    reset_link_minutes: int = Field(default=60, ge=1, le=10_080)
    invite_days: int = Field(default=7, ge=1, le=90)
    broker_polling_interval_s: float = Field(
        default=0.1,
        gt=0,
        description=(
            "how often a worker polls the embedded SQLite broker: 0.1 s costs about 2% of a core "
            "when idle and 30 ms of turnaround (0.02 s: 8% and none)"
        ),
    )

    @model_validator(mode="after")
    def _resolve(self) -> Settings:
        self.home = self.home.expanduser().resolve()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.home / 'mlchallenge.db'}"
        if not self.broker_url:
            self.broker_url = f"sqla+sqlite:///{self.home / 'broker.db'}"
        if not self.mlflow_tracking_uri:
            self.mlflow_tracking_uri = f"sqlite:///{self.home / 'mlflow.db'}"
        if self.storage_root is None:
            self.storage_root = self.home / "storage"
        if self.labels_root is None:
            self.labels_root = self.home / "labels"
        if self.registration is None:
            closed = self.mode is Mode.PRODUCTION
            self.registration = Registration.CLOSED if closed else Registration.OPEN
        if self.labels_url and not self.storage_url:
            raise ValueError("MLCHALLENGE_LABELS_URL needs MLCHALLENGE_STORAGE_URL as well")
        if self.mlflow_ui_upstream and not self.mlflow_ui_url:
            self.mlflow_ui_url = "/mlflow"
        if self.mode is Mode.PRODUCTION and self.secret_key == DEFAULT_SECRET:
            raise ValueError(
                "MLCHALLENGE_SECRET_KEY is the built-in default; set a long random secret in "
                "production, for example the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )
        return self

    @field_validator("storage_url", "labels_url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        url = url.strip()
        scheme = url.split("://", 1)[0] if "://" in url else ""
        if url and not scheme:
            raise ValueError(
                f"{url!r} is not a URL; use s3://bucket/prefix or file:///absolute/folder "
                "(leave it empty for the local storage folder)"
            )
        if scheme and scheme not in known_implementations and scheme != "file":
            raise ValueError(
                f"storage URL scheme {scheme!r} is unknown; use s3://, gs://, az:// or file://"
            )
        return url

    @property
    def sign_up(self) -> Registration:
        """The registration policy, resolved for the mode."""
        assert self.registration is not None
        return self.registration

    @property
    def mail_enabled(self) -> bool:
        """True when an SMTP server is configured."""
        return bool(self.smtp_host)

    @property
    def storage(self) -> Path:
        """Where datasets, uploads and evaluation outputs live."""
        assert self.storage_root is not None
        return self.storage_root

    @property
    def labels(self) -> Path:
        """Where hidden labels live: read only by the scorer in the worker."""
        assert self.labels_root is not None
        return self.labels_root

    @property
    def mlflow_artifacts(self) -> Path:
        """The MLflow artifact folder of the embedded default."""
        return self.home / "mlartifacts"

    def ensure_dirs(self) -> None:
        """Create the data directory and its folders, readable by this user only.

        A new data directory and its storage, labels and artifact folders are 0700; SQLite
        database files (the platform's, the embedded broker's, MLflow's) are created 0600, and
        SQLite gives their -wal and -shm files the same mode.
        """
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        for path in (self.storage, self.labels, self.mlflow_artifacts):
            path.mkdir(parents=True, exist_ok=True)
            _private(path, 0o700)
        for url in (self.database_url, self.broker_url, self.mlflow_tracking_uri):
            database = sqlite_file(url)
            if database is not None:
                database.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                os.close(os.open(database, os.O_CREAT | os.O_WRONLY, 0o600))
                _private(database, 0o600)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (`sqlite:///path`, `sqla+sqlite:///path`), else None."""
    scheme, sep, rest = url.partition(":///")
    path = rest.split("?", 1)[0]
    if not sep or scheme not in ("sqlite", "sqla+sqlite") or path in ("", ":memory:"):
        return None
    return Path(path)


def _private(path: Path, mode: int) -> None:
    """Set `mode` on a path this user owns (a shared volume owned by another user is left as is)."""
    try:
        if path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o777 != mode:
            path.chmod(mode)
    except OSError:
        pass


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
