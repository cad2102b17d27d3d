"""Zip archives from untrusted hands: the platform's one safe-archive check, with one set of limits.

Submission archives are checked at upload and again when the sandbox extracts them (with the same
limits, so an upload that passes is never refused later); host bundles are checked before they are
extracted. An archive is refused when:

- it is not a readable zip, or holds more than `max_members` entries;
- an entry is not a plain file or folder (links, devices, encrypted entries), or its name is
  absolute, has a drive letter, a backslash or a NUL byte, or climbs out with `..`;
- its entries add up to more than `max_total_bytes` once extracted;
- it expands more than `max_ratio` times its size on disk, counting every entry, however small
  (an archive under `RATIO_FLOOR_BYTES` may expand to `max_ratio` times that floor);
- an entry larger than `RATIO_FLOOR_BYTES` alone expands more than `max_ratio` times.

Sizes in the headers can lie: extraction counts the bytes really written against each entry's
declared size and against the total. docs/formats.md lists the limits for participants and
docs/host-bundle.md for hosts.
"""

from __future__ import annotations

import stat
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .contract import SubmissionRejected

MB = 1024 * 1024
RATIO_FLOOR_BYTES = 1 * MB
"""Below this size an archive (or an entry) is not judged by its ratio alone."""


class ArchiveRefused(SubmissionRejected):
    """An archive is unsafe or too large to extract; the message says which entry and why."""


@dataclass(frozen=True)
class ArchiveLimits:
    """How much an archive may hold once extracted."""

    max_members: int = 2_000
    max_total_bytes: int = 512 * MB
    max_ratio: int = 200


SUBMISSION_ARCHIVES = ArchiveLimits()
"""A submission (a model zip, a TorchScript file): 2,000 entries, 512 MB extracted, 200 times."""
BUNDLE_ARCHIVES = ArchiveLimits(max_members=10_000, max_total_bytes=8 * 1024 * MB)
"""A host bundle (data files included): 10,000 entries, 8 GB extracted, 200 times."""


def _check_name(name: str, label: str) -> PurePosixPath:
    if "\\" in name or "\x00" in name:
        raise ArchiveRefused(f"{label} holds an entry name with a backslash or NUL byte: {name!r}")
    path = PurePosixPath(name)
    if path.is_absolute() or (path.parts and ":" in path.parts[0]):
        raise ArchiveRefused(f"{label} holds an absolute path '{name}'; use relative paths")
    if ".." in path.parts:
        raise ArchiveRefused(f"{label} holds a path that climbs out of it: '{name}' (no '..')")
    return path


def _check_member(info: zipfile.ZipInfo, label: str) -> None:
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ArchiveRefused(
            f"{label} holds a symbolic link '{info.filename}'; zip the real files instead"
        )
    if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise ArchiveRefused(f"{label} holds a special file '{info.filename}'")
    if info.flag_bits & 0x1:
        raise ArchiveRefused(
            f"{label} holds an encrypted file '{info.filename}'; upload it unencrypted"
        )


CENTRAL_ENTRY_BYTES = 1024
"""Room per entry in the central directory (46 bytes of header, then name, extra and comment)."""
_EOCD = struct.Struct("<4s4xHHII2x")
_ZIP64_LOCATOR = struct.Struct("<4sIQI")
_ZIP64_EOCD = struct.Struct("<4sQ2H2I2QQQ")


def _directory_size(path: Path, label: str) -> tuple[int, int]:
    """(entries, central directory bytes) from the end records, read before `ZipFile` parses
    the directory: a zip listing millions of entries would otherwise grow the reader first."""
    with path.open("rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        tail_start = max(0, size - (_EOCD.size + 65_535 + _ZIP64_LOCATOR.size + _ZIP64_EOCD.size))
        handle.seek(tail_start)
        tail = handle.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + _EOCD.size > len(tail):
        raise ArchiveRefused(f"{label} is not a readable zip archive: no end of central directory")
    _, _, entries, directory, _ = _EOCD.unpack_from(tail, at)
    locator = at - _ZIP64_LOCATOR.size
    if locator >= 0 and tail[locator : locator + 4] == b"PK\x06\x07":
        _, _, record, _ = _ZIP64_LOCATOR.unpack_from(tail, locator)
        if not 0 <= record <= size - _ZIP64_EOCD.size:
            raise ArchiveRefused(f"{label} is not a readable zip archive: bad zip64 record")
        with path.open("rb") as handle:
            handle.seek(record)
            head = handle.read(_ZIP64_EOCD.size)
        if len(head) < _ZIP64_EOCD.size or head[:4] != b"PK\x06\x06":
            raise ArchiveRefused(f"{label} is not a readable zip archive: bad zip64 record")
        fields = _ZIP64_EOCD.unpack(head)
        entries, directory = max(entries, fields[7]), max(directory, fields[8])
    return entries, directory


def _open(path: Path, label: str, limits: ArchiveLimits) -> zipfile.ZipFile:
    try:
        entries, directory = _directory_size(path, label)
    except OSError as exc:
        raise ArchiveRefused(f"{label} is not a readable zip archive: {exc}") from exc
    if entries > limits.max_members:
        raise ArchiveRefused(f"{label} holds {entries} entries; the limit is {limits.max_members}")
    if directory > limits.max_members * CENTRAL_ENTRY_BYTES:
        raise ArchiveRefused(
            f"{label} has a central directory of {directory} bytes: too large for "
            f"{limits.max_members} entries"
        )
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ArchiveRefused(f"{label} is not a readable zip archive: {exc}") from exc


def open_zip(
    path: Path, *, limits: ArchiveLimits = SUBMISSION_ARCHIVES, label: str = "the archive"
) -> zipfile.ZipFile:
    """Open a zip for reading its names, once its end records show a bounded directory."""
    return _open(path, label, limits)


def inspect_zip(
    path: Path, *, limits: ArchiveLimits = SUBMISSION_ARCHIVES, label: str = "the archive"
) -> list[zipfile.ZipInfo]:
    """Check a zip without extracting it: entry count, names, kinds, sizes and ratios."""
    with _open(path, label, limits) as archive:
        members = archive.infolist()
    if len(members) > limits.max_members:
        raise ArchiveRefused(
            f"{label} holds {len(members)} entries; the limit is {limits.max_members}"
        )
    total = 0
    for info in members:
        _check_name(info.filename, label)
        _check_member(info, label)
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR_BYTES and ratio > limits.max_ratio:
            raise ArchiveRefused(
                f"'{info.filename}' expands more than {limits.max_ratio} times: "
                "a zip bomb is refused"
            )
    if total > limits.max_total_bytes:
        raise ArchiveRefused(
            f"{label} expands to {total} bytes; the limit is {limits.max_total_bytes} "
            f"({limits.max_total_bytes // MB} MB)"
        )
    size = max(path.stat().st_size, RATIO_FLOOR_BYTES)
    if total > limits.max_ratio * size:
        raise ArchiveRefused(
            f"{label} expands to {total} bytes, more than {limits.max_ratio} times its size: "
            "a zip bomb is refused"
        )
    return members


def extract_zip(
    path: Path,
    dest: Path,
    *,
    limits: ArchiveLimits = SUBMISSION_ARCHIVES,
    label: str = "the archive",
) -> int:
    """Check, then extract a zip into `dest`; returns the bytes written."""
    members = inspect_zip(path, limits=limits, label=label)
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    written = 0
    with _open(path, label, limits) as archive:
        for info in members:
            target = root.joinpath(*_check_name(info.filename, label).parts)
            if not target.resolve().is_relative_to(root):
                raise ArchiveRefused(f"{label}: '{info.filename}' points outside the archive")
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            written += _extract_member(archive, info, target, limits.max_total_bytes - written)
    return written


def _extract_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, room: int
) -> int:
    """Copy one entry, refusing more bytes than it declares or than the total leaves room for."""
    count = 0
    try:
        with archive.open(info) as source, target.open("wb") as sink:
            while chunk := source.read(MB):
                count += len(chunk)
                if count > info.file_size or count > room:
                    raise ArchiveRefused(
                        f"'{info.filename}' expands beyond its declared size: a zip bomb is refused"
                    )
                sink.write(chunk)
    except (zipfile.BadZipFile, EOFError, NotImplementedError) as exc:
        raise ArchiveRefused(f"'{info.filename}' cannot be extracted: {exc}") from exc
    return count
