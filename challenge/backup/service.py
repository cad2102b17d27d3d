"""`mlchallenge backup` and `restore`: the database, every storage area and the embedded MLflow
store, in one folder with a manifest of hashes.

```
BACKUP/manifest.json          what is in it, with sizes and SHA-256 hashes
BACKUP/database.jsonl.gz      the platform's database (challenge/backup/database.py)
BACKUP/mlflow.db              the embedded MLflow store, when the tracking URI is SQLite
BACKUP/files/AREA/...         storage, labels (hidden: the folder is mode 0700), mlflow-artifacts
```
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from challenge.backup import database, files
from challenge.config import Settings
from challenge.db.base import utcnow
from challenge.db.migrate import current_revision, head_revision, upgrade
from challenge.files import storage

FORMAT = "mlchallenge-backup"
VERSION = 1
MANIFEST = "manifest.json"
DATABASE_FILE = "database.jsonl.gz"
MLFLOW_FILE = "mlflow.db"
MLFLOW_AREA = "mlflow-artifacts"


class BackupError(Exception):
    """A backup or restore cannot go on; the message says why and what to do."""


@dataclass
class Report:
    """What a backup or restore covered."""

    path: Path
    rows: dict[str, int] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    bytes: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for people."""
        areas = ", ".join(f"{n} {name}" for name, n in self.files.items())
        return (
            f"{sum(self.rows.values())} rows in {len(self.rows)} tables; files: {areas or 'none'} "
            f"({self.bytes / 1024**2:.1f} MB)"
        )


def areas(settings: Settings) -> dict[str, str]:
    """The file areas a backup covers: the platform's storage, and the embedded MLflow store's
    artifacts (a tracking server keeps its own)."""
    found = {
        name: str(path) for name, path in storage.areas(settings.storage, settings.labels).items()
    }
    mlflow = _mlflow_paths(settings)
    if mlflow is not None:
        found[MLFLOW_AREA] = str(mlflow[1])
    return found


def _mlflow_paths(settings: Settings) -> tuple[Path, Path] | None:
    """The embedded MLflow store's database file and artifact folder (None for a server)."""
    uri = settings.mlflow_tracking_uri
    if not uri.startswith("sqlite:///"):
        return None
    from mlfo.tracking import artifact_root

    db_path = Path(uri[len("sqlite:///") :])
    artifacts = artifact_root(uri)
    assert artifacts is not None
    return db_path, Path(artifacts.removeprefix("file://"))


def backup(settings: Settings, destination: Path) -> Report:
    """Write a backup of the configured platform to `destination` (a new folder)."""
    destination = destination.expanduser().resolve()
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise BackupError(f"{destination} exists and is not an empty folder; choose a new path")
    url = settings.database_url
    revision, head = current_revision(url), head_revision()
    if revision != head:
        raise BackupError(
            f"the database is at revision {revision!r}, this mlchallenge at {head!r}: run "
            "`mlchallenge migrate` first (or back up with the version that matches it)"
        )
    work = destination.with_name(f".{destination.name}.partial-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(mode=0o700, parents=True)
    try:
        report = _write(settings, work, revision)
        if destination.exists():
            destination.rmdir()
        work.rename(destination)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    report.path = destination
    return report


def _write(settings: Settings, work: Path, revision: str) -> Report:
    report = Report(path=work)
    with (work / DATABASE_FILE).open("wb") as sink:
        dumped = database.dump(settings.database_url, sink, revision=revision)
    report.rows = dumped.rows
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "created_at": utcnow().isoformat(),
        "platform_version": _version(),
        "schema_revision": revision,
        "database": {
            "file": DATABASE_FILE,
            "dialect": dumped.dialect,
            "rows": dumped.rows,
            **_described(work / DATABASE_FILE),
        },
        "areas": {},
    }
    mlflow = _mlflow_paths(settings)
    if mlflow is not None and mlflow[0].is_file():
        _sqlite_copy(mlflow[0], work / MLFLOW_FILE)
        manifest["mlflow"] = {
            "file": MLFLOW_FILE,
            "artifact_root": mlflow[1].as_uri(),
            **_described(work / MLFLOW_FILE),
        }
    else:
        manifest["mlflow"] = {"skipped": _mlflow_note(settings)}
        report.notes.append(_mlflow_note(settings))
    for name, root in areas(settings).items():
        entries = [files.copy(root, key, str(work / "files" / name)) for key in files.keys(root)]
        manifest["areas"][name] = {"root": root, "files": [e.as_json() for e in entries]}
        report.files[name] = len(entries)
        report.bytes += sum(e.size for e in entries)
    labels = work / "files" / "labels"
    if labels.exists():
        labels.chmod(0o700)
    (work / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    return report


def _mlflow_note(settings: Settings) -> str:
    uri = settings.mlflow_tracking_uri
    if uri.startswith("sqlite:///"):
        return "the embedded MLflow store does not exist yet: nothing of MLflow to back up"
    scheme, _, rest = uri.partition("://")
    where = f"{scheme}://{rest.rpartition('@')[2]}" if rest else uri
    return (
        f"MLflow runs live in the tracking server at {where}: back up its database and "
        "artifact store as docs/deploy.md says"
    )


def _described(path: Path) -> dict[str, Any]:
    return {"size": path.stat().st_size, "sha256": storage.sha256_file(path)}


def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (its online backup)."""
    reader, writer = sqlite3.connect(source), sqlite3.connect(target)
    try:
        reader.backup(writer)
    finally:
        writer.close()
        reader.close()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mlchallenge")
    except PackageNotFoundError:
        return "0+unknown"


def read_manifest(source: Path) -> dict[str, Any]:
    """A backup's manifest, or BackupError saying why it is not a complete backup."""
    path = source / MANIFEST
    if not path.is_file():
        raise BackupError(
            f"{source} has no {MANIFEST}: it is not an mlchallenge backup, or the backup did "
            "not finish"
        )
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise BackupError(f"{path} is not a manifest of mlchallenge's backup format {VERSION}")
    return dict(manifest)


def check(source: Path) -> Report:
    """Verify every file of a backup against its manifest (restores nothing)."""
    source = source.expanduser().resolve()
    manifest = read_manifest(source)
    report = Report(path=source, rows=dict(manifest["database"]["rows"]))
    try:
        for described in (manifest["database"], manifest.get("mlflow", {})):
            if "file" in described:
                files.verify(
                    str(source),
                    files.Entry(described["file"], described["size"], described["sha256"]),
                )
        for name, area in manifest["areas"].items():
            for data in area["files"]:
                entry = files.Entry.from_json(data)
                files.verify(str(source / "files" / name), entry)
                report.bytes += entry.size
            report.files[name] = len(area["files"])
    except files.IntegrityError as exc:
        raise BackupError(f"the backup at {source} is damaged: {exc}") from exc
    return report


def restore(settings: Settings, source: Path) -> Report:
    """Restore a backup into the configured (fresh) home and database."""
    report = check(source)
    source = report.path
    manifest = read_manifest(source)
    head = head_revision()
    if manifest["schema_revision"] != head:
        raise BackupError(
            f"the backup has schema revision {manifest['schema_revision']!r}, this mlchallenge "
            f"{head!r}: restore it with the version that made it ({manifest['platform_version']}), "
            "then upgrade"
        )
    targets = areas(settings)
    settings.ensure_dirs()
    _require_fresh(settings, manifest, targets)
    old_storage = manifest["areas"].get("storage", {}).get("root")
    rebase = {"storage": (old_storage, str(settings.storage))} if old_storage else {}
    with (source / DATABASE_FILE).open("rb") as dump:
        loaded = database.load(settings.database_url, dump, rebase=rebase)
    report.rows = loaded.rows
    for name, area in manifest["areas"].items():
        if name not in targets:
            report.notes.append(f"{name}: not restored, the target has no such area")
            continue
        for data in area["files"]:
            entry = files.Entry.from_json(data)
            try:
                files.copy(str(source / "files" / name), entry.key, targets[name], expected=entry)
            except files.IntegrityError as exc:
                raise BackupError(f"the backup at {source} is damaged: {exc}") from exc
    _restore_mlflow(settings, source, manifest, report)
    settings.ensure_dirs()  # the labels folder is mode 0700 again
    return report


def _require_fresh(settings: Settings, manifest: dict[str, Any], targets: dict[str, str]) -> None:
    upgrade(settings.database_url)
    filled = database.nonempty_tables(settings.database_url)
    if filled:
        raise BackupError(
            f"the database already holds data (tables {', '.join(filled[:5])}); restore into a "
            "fresh home (MLCHALLENGE_HOME) and an empty database"
        )
    for name, root in targets.items():
        if name in manifest["areas"] and not files.is_empty(root):
            raise BackupError(f"{root} already holds files; restore into a fresh home")
    mlflow = _mlflow_paths(settings)
    created_empty = mlflow is not None and mlflow[0].is_file() and mlflow[0].stat().st_size == 0
    if (
        "file" in manifest.get("mlflow", {})
        and mlflow is not None
        and mlflow[0].exists()
        and not created_empty  # `ensure_dirs` creates the database files empty (mode 0600)
    ):
        raise BackupError(f"{mlflow[0]} exists already; restore into a fresh home")


def _restore_mlflow(
    settings: Settings, source: Path, manifest: dict[str, Any], report: Report
) -> None:
    described = manifest.get("mlflow", {})
    if "file" not in described:
        return
    mlflow = _mlflow_paths(settings)
    if mlflow is None:
        report.notes.append(
            "the backup holds an embedded MLflow store but this platform uses a tracking "
            f"server ({settings.mlflow_tracking_uri}); its runs were not restored"
        )
        return
    db_path, artifacts = mlflow
    db_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source / described["file"], db_path)
    _rebase_text(db_path, described["artifact_root"], artifacts.as_uri())


def _rebase_text(db_path: Path, old: str, new: str) -> None:
    """Point every text value that starts with `old` (artifact locations) at `new`."""
    if old == new:
        return
    connection = sqlite3.connect(db_path)
    try:
        with connection:
            tables = [
                r[0]
                for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            for table in tables:
                for column in connection.execute(f'PRAGMA table_info("{table}")'):
                    name, declared = column[1], str(column[2]).upper()
                    if not any(t in declared for t in ("CHAR", "TEXT", "CLOB")):
                        continue
                    connection.execute(
                        f'UPDATE "{table}" SET "{name}" = ? || substr("{name}", ?) '
                        f'WHERE substr("{name}", 1, ?) = ?',
                        (new, len(old) + 1, len(old), old),
                    )
    finally:
        connection.close()
