"""The data an evaluation scores against is the data the host uploaded: checked before every run.

A competition row records the SHA-256 of its test features and of its hidden labels when it is
created. Before the model runs, the worker hashes both files again; a file that changed on disk
(overwritten, truncated, swapped with another competition's) stops the evaluation as a platform
fault: an `infrastructure_error` after the retries, never a score.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

log = logging.getLogger(__name__)


class DataIntegrityError(RuntimeError):
    """A competition's stored test data or labels differ from what was uploaded."""


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read in chunks; of a folder (a scoring program's reference data),
    of its files' relative paths and hashes in order."""
    if path.is_dir():
        tree = hashlib.sha256()
        for member in sorted(p for p in path.rglob("*") if p.is_file() or p.is_symlink()):
            tree.update(f"{member.relative_to(path).as_posix()}\0{sha256_of(member)}\n".encode())
        return tree.hexdigest()
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify_inputs(*, slug: str, expected: dict[str, str], paths: dict[str, Path]) -> None:
    """Raise DataIntegrityError unless every file of `paths` has its `expected` hash."""
    for what, path in paths.items():
        want = expected.get(what, "")
        try:
            got = sha256_of(path)
        except OSError as exc:
            log.error("competition %s: %s unreadable at %s: %s", slug, what, path, exc)
            raise DataIntegrityError(
                f"the competition's stored {what} cannot be read; the evaluation was stopped "
                "and will be retried"
            ) from None
        if not want or got != want:
            log.error(
                "competition %s: %s at %s has sha256 %s, the competition expects %s",
                slug,
                what,
                path,
                got,
                want or "(none recorded)",
            )
            raise DataIntegrityError(
                f"the competition's stored {what} differ from what the host uploaded; the "
                "evaluation was stopped and no score was recorded"
            )
