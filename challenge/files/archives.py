"""Zip archives from untrusted hands: inspected before anything is extracted."""

from __future__ import annotations

import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from challenge.errors import ValidationFailed

MAX_MEMBERS = 10_000
MAX_RATIO = 200


@dataclass(frozen=True)
class ArchiveLimits:
    """How much an archive may hold once extracted."""

    max_total_bytes: int = 2 * 1024**3
    max_members: int = MAX_MEMBERS
    max_ratio: int = MAX_RATIO


def inspect_zip(
    path: Path, *, limits: ArchiveLimits, label: str = "archive"
) -> list[zipfile.ZipInfo]:
    """Check a zip without extracting it: paths, links, sizes and compression ratios."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ValidationFailed(f"{label} is not a readable zip file ({exc})") from exc
    if len(members) > limits.max_members:
        raise ValidationFailed(f"{label} has {len(members)} entries; at most {limits.max_members}")
    total = 0
    for info in members:
        _check_name(info.filename, label)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise ValidationFailed(
                f"{label}: {info.filename!r} is a symbolic link; links are refused"
            )
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise ValidationFailed(f"{label}: {info.filename!r} is not a regular file or folder")
        if info.flag_bits & 0x1:
            raise ValidationFailed(
                f"{label}: {info.filename!r} is encrypted; upload it unencrypted"
            )
        total += info.file_size
        if total > limits.max_total_bytes:
            raise ValidationFailed(
                f"{label} expands to more than {limits.max_total_bytes // 1024**2} MB; "
                "remove large files or upload a smaller model"
            )
        ratio = info.file_size // max(info.compress_size, 1)
        if info.file_size > 1024**2 and ratio > limits.max_ratio:
            raise ValidationFailed(
                f"{label}: {info.filename!r} compresses {ratio}"
                f" times; more than {limits.max_ratio}x looks like a compression bomb"
            )
    return members


def _check_name(name: str, label: str) -> None:
    if "\\" in name or "\x00" in name:
        raise ValidationFailed(f"{label}: entry name {name!r} has a backslash or NUL byte")
    pure = PurePosixPath(name)
    if pure.is_absolute() or (len(name) > 1 and name[1] == ":"):
        raise ValidationFailed(f"{label}: {name!r} is an absolute path; use relative paths")
    if ".." in pure.parts:
        raise ValidationFailed(f"{label}: {name!r} climbs out of the archive with '..'")


def extract_zip(path: Path, dest: Path, *, limits: ArchiveLimits, label: str = "archive") -> Path:
    """Extract a checked zip into `dest`, counting real bytes written (sizes in headers can lie)."""
    members = inspect_zip(path, limits=limits, label=label)
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    written = 0
    with zipfile.ZipFile(path) as archive:
        for info in members:
            target = (root / info.filename).resolve()
            if not target.is_relative_to(root):
                raise ValidationFailed(f"{label}: {info.filename!r} points outside the archive")
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, target.open("wb") as sink:
                while chunk := source.read(1 << 20):
                    written += len(chunk)
                    if written > limits.max_total_bytes:
                        raise ValidationFailed(f"{label} expands to more than its declared size")
                    sink.write(chunk)
    return root
