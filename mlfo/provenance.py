"""Provenance of a score: hashes of what was scored and the versions of what scored it."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from mlfo.evaluation import EvaluationInput
from mlfo.intent import INTENT_VERSION

_BLOCK = 1 << 20


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, or of a folder's files (relative names and contents, sorted)."""
    if path.is_dir():
        digest = hashlib.sha256()
        for item in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(item.relative_to(path).as_posix().encode() + b"\0")
            digest.update(_file_sha256(item).encode())
        return digest.hexdigest()
    return _file_sha256(path)


def _file_sha256(path: Path) -> str:
    stat = path.stat()
    # the status change time moves with every write and every utime, and cannot be set back:
    # with the inode it tells a rewritten file from the one hashed before, whatever its mtime
    changed = (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev)
    return _cached_sha256(str(path.resolve()), changed)


@lru_cache(maxsize=64)
def _cached_sha256(path: str, changed: tuple[int, ...]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def scorer_version() -> str:
    """The version of the scoring library (its own, else the platform's)."""
    from challenge import scoring
    from mlfo.tracking import platform_version

    return str(getattr(scoring, "__version__", None) or platform_version())


def sandbox_backend(inp: EvaluationInput) -> str:
    """The sandbox backend that ran the model (`none` for a format that runs no code)."""
    from sandbox.contract import SubmissionRejected
    from sandbox.formats import get_format
    from sandbox.runs import DEFAULT_BACKEND

    try:
        runs_code = get_format(inp.format).runs_code
    except SubmissionRejected:
        return "none"
    if not runs_code:
        return "none"
    return inp.sandbox_backend or DEFAULT_BACKEND


def provenance_of(inp: EvaluationInput) -> dict[str, str]:
    """The provenance tags of one evaluation (MLflow tag names)."""
    from mlfo.placement import device_name
    from mlfo.tracking import platform_version

    return {
        "mlchallenge.submission_sha256": sha256_of(inp.model_path),
        "mlchallenge.test_data_sha256": sha256_of(inp.test_path),
        "mlchallenge.labels_sha256": sha256_of(inp.labels_path),
        "mlchallenge.scorer": inp.intent.primary_metric.name,
        "mlchallenge.scorer_version": scorer_version(),
        "mlchallenge.platform_version": platform_version(),
        "mlchallenge.sandbox_backend": sandbox_backend(inp),
        "mlchallenge.intent_version": str(INTENT_VERSION),
        "mlchallenge.format": inp.format,
        "mlchallenge.resource_class": str(inp.intent.placement.resource_class),
        "mlchallenge.device": device_name(inp.device),
    }
