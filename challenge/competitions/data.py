"""A competition's stored files: written to a fresh folder, moved into place after the commit.

Two hosts may upload bundles with the same slug at once. The database decides who gets the slug
(its unique index); storage must follow that decision, never race it. So a bundle's files are
written to a new folder of their own (`.incoming/<random>` under the storage and labels roots),
the competition row is inserted, and only once that row is committed are the folders renamed to
the slug's place. A rename never replaces a folder that has content, and a slug whose folders
already exist is refused before anything is written, so one competition's labels can never be
overwritten by another's. The loser's staged folder is removed; folders left by a crash are swept
after a day.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from challenge.competitions.bundle import Bundle, ProgramFiles, read_table
from challenge.config import Settings
from challenge.errors import Conflict
from challenge.files import objects, storage
from challenge.problems.base import split_column
from mlfo.integrity import sha256_of

log = logging.getLogger(__name__)

INCOMING = ".incoming"
STALE_AFTER_S = 24 * 3600


@dataclass(frozen=True)
class StagedData:
    """A bundle's files in fresh folders, with the hashes the scorer will check."""

    competition: Path
    """storage/.incoming/<id>: `data/` (public files) and `baseline/`"""
    labels: Path
    """labels/.incoming/<id>: `test_labels.parquet`"""
    files: dict[str, dict[str, Any]]
    labels_sha256: str

    @property
    def test_sha256(self) -> str:
        """The hash of the test features participants download and models are run on."""
        return str(self.files.get("test.parquet", {}).get("sha256", ""))

    @property
    def baseline(self) -> Path | None:
        """The staged copy of the bundle's baseline model, if it has one."""
        folder = self.competition / "baseline"
        found = sorted(folder.iterdir()) if folder.is_dir() else []
        return found[0] if found else None

    def move_into_place(self, settings: Settings, slug: str) -> None:
        """Rename the staged folders to the slug's place (run after the commit)."""
        moves = (
            (self.competition, storage.competition_dir(settings.storage, slug)),
            (self.labels, storage.labels_path(settings.labels, slug).parent),
        )
        for staged, final in moves:
            try:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.rename(staged, final)  # fails on a folder with content: never overwrites
            except OSError:
                log.exception("could not move %s into place at %s", staged, final)
                raise
        store = objects.store_for(settings)  # before the baseline is dispatched (same commit)
        for _, final in moves:
            store.publish_tree(final)

    def discard(self) -> None:
        """Remove the staged folders (the slug went to someone else, or the request failed)."""
        for folder in (self.competition, self.labels):
            shutil.rmtree(folder, ignore_errors=True)


def ensure_free(settings: Settings, slug: str) -> None:
    """Refuse a slug whose folders exist (here or at the storage URL): data is never overwritten."""
    store = objects.store_for(settings)
    for folder in (
        storage.competition_dir(settings.storage, slug),
        storage.labels_path(settings.labels, slug).parent,
    ):
        if folder.exists() or store.exists(folder):
            raise Conflict(
                f"data for a competition {slug!r} is already stored ({folder.name} exists); "
                "choose another slug"
            )


def stage(settings: Settings, bundle: Bundle) -> StagedData:
    """Write a bundle's public files, labels and baseline to fresh folders; hash them."""
    token = uuid.uuid4().hex
    competition = _fresh(settings.storage / INCOMING, token)
    labels = _fresh(settings.labels / INCOMING, token)
    try:
        data_dir = competition / "data"
        data_dir.mkdir()
        if bundle.programs is not None:
            return _stage_programs(bundle.programs, bundle, competition, labels)
        assert bundle.train and bundle.test and bundle.labels
        for source, name in ((bundle.train, "train.parquet"), (bundle.test, "test.parquet")):
            if source.suffix == ".parquet":
                shutil.copy2(source, data_dir / name)
            else:
                read_table(source).to_parquet(data_dir / name, index=False)
        if bundle.sample_submission is not None:
            shutil.copy2(bundle.sample_submission, data_dir / "sample_submission.csv")
        labels_file = labels / "test_labels.parquet"
        _write_labels(bundle, labels_file)
        if bundle.baseline is not None:
            (competition / "baseline").mkdir()
            shutil.copy2(bundle.baseline, competition / "baseline" / bundle.baseline.name)
        files = {
            p.name: {"size": p.stat().st_size, "sha256": storage.sha256_file(p)}
            for p in sorted(data_dir.iterdir())
            if p.is_file()
        }
        return StagedData(competition, labels, files, storage.sha256_file(labels_file))
    except BaseException:
        shutil.rmtree(competition, ignore_errors=True)
        shutil.rmtree(labels, ignore_errors=True)
        raise
    finally:
        if bundle.programs is not None:
            bundle.programs.discard_scratch()


def _stage_programs(
    files: ProgramFiles, bundle: Bundle, competition: Path, labels: Path
) -> StagedData:
    """Programs and input data with the competition, reference data with the hidden labels; the
    bundle's sample submission (a Codabench solution) as a public file."""
    for name, source in files.programs.items():
        shutil.copytree(source, competition / "programs" / name, symlinks=False)
    for name, source in files.reference.items():
        shutil.copytree(source, labels / "reference" / name, symlinks=False)
    data_dir = competition / "data"
    if bundle.sample_submission is not None:
        shutil.copy2(
            bundle.sample_submission,
            data_dir / f"sample_submission{bundle.sample_submission.suffix}",
        )
    files_info = {
        p.name: {"size": p.stat().st_size, "sha256": storage.sha256_file(p)}
        for p in sorted(data_dir.iterdir())
        if p.is_file()
    }
    reference = labels / "reference"
    return StagedData(
        competition, labels, files_info, sha256_of(reference) if reference.is_dir() else ""
    )


def stage_copy(settings: Settings, slug: str) -> StagedData:
    """Copy a stored competition's public files and labels to fresh folders (for a clone)."""
    token = uuid.uuid4().hex
    competition = _fresh(settings.storage / INCOMING, token)
    labels = _fresh(settings.labels / INCOMING, token)
    try:
        shutil.copytree(storage.public_data_dir(settings.storage, slug), competition / "data")
        labels_file = labels / "test_labels.parquet"
        shutil.copy2(storage.labels_path(settings.labels, slug), labels_file)
        data_dir = competition / "data"
        files = {
            p.name: {"size": p.stat().st_size, "sha256": storage.sha256_file(p)}
            for p in sorted(data_dir.iterdir())
            if p.is_file()
        }
        return StagedData(competition, labels, files, storage.sha256_file(labels_file))
    except BaseException:
        shutil.rmtree(competition, ignore_errors=True)
        shutil.rmtree(labels, ignore_errors=True)
        raise


def _write_labels(bundle: Bundle, path: Path) -> None:
    assert bundle.labels is not None
    labels = read_table(bundle.labels)
    if "split" not in labels:
        rng = np.random.default_rng(bundle.intent.split.seed)
        labels["split"] = split_column(len(labels), bundle.intent.split.public_fraction, rng)
    labels.to_parquet(path, index=False)


def _fresh(root: Path, token: str) -> Path:
    """A new private folder under `root`, after sweeping folders left there by crashes."""
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    cutoff = time.time() - STALE_AFTER_S
    for old in root.iterdir():
        try:
            if old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        except FileNotFoundError:
            continue
    folder = root / token
    folder.mkdir(mode=0o700)
    return folder
