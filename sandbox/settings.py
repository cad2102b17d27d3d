"""Sandbox configuration: one typed object read from `MLCHALLENGE_SANDBOX_*` variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class SandboxSettings(BaseSettings):
    """Where the jail's runtime, slot uids, locks and scratch folders come from."""

    model_config = SettingsConfigDict(env_prefix="MLCHALLENGE_SANDBOX_")

    python: Path | None = None
    """Interpreter run in the jail; default: the worker's own, else /usr/bin/python3.X."""
    site_packages: list[Path] = []
    """Package folders for the jail; default: the worker's site-packages."""
    uid_base: int = 64000
    """First uid of the slot pool (the workers must run as root to use it)."""
    slots: int = 64
    """How many runs may be jailed at the same time on this host."""
    lock_dir: Path = Path("/run/mlchallenge-sandbox")
    """Root-only folder holding the slot lock files."""
    work_root: Path | None = None
    """Parent of the per-run scratch folders; default: the system temp folder."""
    bwrap: str = "/usr/bin/bwrap"
    slot_wait_s: float = 120.0
    """How long a run waits for a free slot before it reports an infrastructure error."""
    parse_mb: int = 256
    """How much a worker's parsing child may grow while it reads a file from a jail or upload."""
    parse_s: float = 60.0
    """How long that child may take."""
    warm: bool = False
    """Run code submissions in warm single-use jails prepared while the worker idles."""
    warm_max_idle_s: float = 600.0
    """A warm jail that waited longer is destroyed and replaced, never used."""
    warm_jails: int = 1
    """How many warm jails (of different shapes) one process keeps waiting."""
    fork_server: bool = False
    """Run CPU code submissions through a fork server: one pre-imported jail per worker process
    that forks a child entering fresh namespaces per run (docs/sandbox.md#fork-server)."""
    fork_server_runs: int = 500
    """A fork server is replaced after this many runs."""


@lru_cache(maxsize=1)
def get_settings() -> SandboxSettings:
    """The process-wide settings."""
    return SandboxSettings()
