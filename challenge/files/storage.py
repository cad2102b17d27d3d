"""Where things live under the storage root, and small file helpers (hashes, atomic copies)."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import BinaryIO

from challenge.errors import PayloadTooLarge


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def areas(storage: Path, labels: Path) -> dict[str, Path]:
    """Every place the platform keeps files, by name: what a backup must cover.

    `storage`: public data, descriptions, baselines, uploads and evaluation outputs; `labels`:
    the hidden labels (worker-only, mode 0700).
    """
    return {"storage": storage, "labels": labels}


def competition_dir(storage: Path, slug: str) -> Path:
    """Public data, description and baseline of a competition."""
    return storage / "competitions" / slug


def public_data_dir(storage: Path, slug: str) -> Path:
    """Files any registered user may download."""
    return competition_dir(storage, slug) / "data"


def labels_path(labels_root: Path, slug: str) -> Path:
    """The hidden labels of a competition (worker-only)."""
    return labels_root / slug / "test_labels.parquet"


def programs_dir(storage: Path, slug: str) -> Path:
    """A competition's own programs and their tasks' input data (never served to participants)."""
    return competition_dir(storage, slug) / "programs"


def reference_dir(labels_root: Path, slug: str) -> Path:
    """A competition's tasks' reference data, stored with its hidden labels."""
    return labels_path(labels_root, slug).parent / "reference"


def submissions_dir(storage: Path, slug: str) -> Path:
    """Uploaded submissions of a competition."""
    return storage / "submissions" / slug


def runs_dir(storage: Path, submission_id: int) -> Path:
    """Outputs of a submission's evaluations (diagnostics, samples)."""
    return storage / "runs" / str(submission_id)


def save_stream(stream: BinaryIO, folder: Path, *, suffix: str, max_bytes: int) -> tuple[Path, int]:
    """Write an upload to a new file in `folder`, refusing it once it passes `max_bytes`."""
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{uuid.uuid4().hex}{suffix}"
    partial = final.with_name(final.name + ".part")
    size = 0
    try:
        with partial.open("wb") as sink:
            while chunk := stream.read(1 << 20):
                size += len(chunk)
                if size > max_bytes:
                    raise PayloadTooLarge(
                        f"the upload is larger than {max_bytes // 1024**2} MB; "
                        "shrink the model or ask the host to raise max_upload_mb"
                    )
                sink.write(chunk)
        os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    return final, size
