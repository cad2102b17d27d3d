"""Copying file areas with a manifest of sizes and SHA-256 hashes, through fsspec.

An area is a root (a local folder today; any fsspec URL, such as `s3://bucket/prefix`, works the
same) whose files are copied under a relative key. Every copy is hashed while it streams, and
checked against the manifest when it is read back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import fsspec

CHUNK = 1 << 20
SKIPPED_SUFFIXES = (".part",)
"""Uploads still being written."""


class IntegrityError(Exception):
    """A file does not match its manifest entry."""


@dataclass(frozen=True)
class Entry:
    """One file of an area: its key under the root, size and SHA-256."""

    key: str
    size: int
    sha256: str

    def as_json(self) -> dict[str, Any]:
        """The manifest's form."""
        return {"path": self.key, "size": self.size, "sha256": self.sha256}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Entry:
        """Read a manifest entry."""
        return cls(key=str(data["path"]), size=int(data["size"]), sha256=str(data["sha256"]))


def _fs(root: str) -> tuple[Any, str]:
    fs, path = fsspec.core.url_to_fs(root)
    return fs, str(path).rstrip("/")


def keys(root: str) -> Iterator[str]:
    """The keys of the regular files under `root` (symbolic links are never followed)."""
    fs, base = _fs(root)
    if not fs.exists(base):
        return
    for path, info in sorted(fs.find(base, withdirs=False, detail=True).items()):
        if info.get("islink") or info.get("type") != "file" or path.endswith(SKIPPED_SUFFIXES):
            continue
        yield path[len(base) + 1 :]


def is_empty(root: str) -> bool:
    """True when `root` holds no file (it may not exist)."""
    return next(keys(root), None) is None


def copy(source_root: str, key: str, dest_root: str, *, expected: Entry | None = None) -> Entry:
    """Copy one file, hashing it on the way; with `expected`, refuse a mismatch (and leave no
    partial file)."""
    source_fs, source = _fs(source_root)
    dest_fs, dest = _fs(dest_root)
    target = f"{dest}/{key}"
    dest_fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
    digest, size = hashlib.sha256(), 0
    partial = f"{target}.restoring"
    with source_fs.open(f"{source}/{key}", "rb") as reader, dest_fs.open(partial, "wb") as writer:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            writer.write(chunk)
    entry = Entry(key=key, size=size, sha256=digest.hexdigest())
    if expected is not None and entry != expected:
        dest_fs.rm(partial)
        raise IntegrityError(
            f"{key}: {size} bytes with SHA-256 {entry.sha256[:12]}..., the manifest says "
            f"{expected.size} bytes with {expected.sha256[:12]}..."
        )
    dest_fs.mv(partial, target)
    return entry


def verify(root: str, entry: Entry) -> None:
    """Check one file against its manifest entry."""
    fs, base = _fs(root)
    digest, size = hashlib.sha256(), 0
    try:
        with fs.open(f"{base}/{entry.key}", "rb") as reader:
            while chunk := reader.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except FileNotFoundError:
        raise IntegrityError(f"{entry.key}: missing") from None
    if size != entry.size or digest.hexdigest() != entry.sha256:
        raise IntegrityError(f"{entry.key}: its content differs from the manifest")
