"""Files at a storage URL (fsspec): how api and workers share data without sharing a disk.

Every process keeps the same layout on its own disk (`storage/` and `labels/` under its home,
see `storage.py`) and names a file by its path there. With `MLCHALLENGE_STORAGE_URL` unset, that
local folder *is* the storage and nothing here copies anything. With a URL (`s3://bucket/prefix`,
`gs://...`, `file:///srv/shared`), the URL is the source of truth:

- the public area (data, descriptions, baselines, uploads, evaluation outputs) lives under
  `<url>/storage/`, the hidden labels under `MLCHALLENGE_LABELS_URL` (default `<url>/labels/`),
  each key being the file's path relative to the matching local folder;
- writers `publish` a file after writing it locally (streamed in blocks, never read whole);
- workers `fetch` their inputs into a cache keyed by content hash (`<home>/cache/objects/<sha256>/`)
  and check the hash of every byte they download; the api `restore`s a file it serves into its own
  local folder when another machine wrote it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

import fsspec

from challenge.config import Settings
from challenge.errors import ServiceUnavailable

log = logging.getLogger(__name__)

CHUNK = 1 << 20
PART = 8 << 20
_PUT_OPTIONS: dict[str, dict[str, Any]] = {
    # parts of 8 MiB sent one at a time: an upload holds at most two parts in memory (a file
    # under 16 MiB goes in one request), whatever its size
    "s3": {"chunksize": PART, "max_concurrency": 1},
}


class StorageUnavailable(ServiceUnavailable):
    """The storage URL could not be reached or refused the operation (503: try again)."""


class StorageIntegrityError(StorageUnavailable):
    """A stored object is missing, or its content is not the content that was recorded."""


class ObjectStore:
    """The storage and labels areas of one process: local folders mirrored to a URL, or not."""

    def __init__(
        self,
        *,
        storage_root: Path,
        labels_root: Path,
        cache_dir: Path,
        storage_url: str = "",
        labels_url: str = "",
    ) -> None:
        # labels first: a labels folder inside the storage folder still maps to the labels URL
        self.roots = {"labels": labels_root, "storage": storage_root}
        self.cache_dir = cache_dir
        self.remote = bool(storage_url)
        base = storage_url.rstrip("/")
        self.urls = {"storage": f"{base}/storage", "labels": (labels_url or f"{base}/labels")}

    def __repr__(self) -> str:
        where = self.urls if self.remote else self.roots
        return f"ObjectStore({where})"

    # -- naming ----------------------------------------------------------------------------

    def url_of(self, local: Path) -> str:
        """The URL of a local path under the storage or labels folder."""
        for area, root in self.roots.items():
            try:
                relative = local.resolve().relative_to(root.resolve())
            except ValueError:
                continue
            key = PurePosixPath(*relative.parts).as_posix()
            if key in ("", ".") or ".." in relative.parts:
                break
            return f"{self.urls[area].rstrip('/')}/{key}"
        raise ValueError(f"{local} is not under the storage folder or the labels folder")

    def _fs(self, url: str) -> tuple[Any, str]:
        return _filesystem(_scheme(url), os.getpid()), url

    # -- writing ---------------------------------------------------------------------------

    def publish(self, local: Path) -> None:
        """Copy a local file to its place at the storage URL (nothing to do without a URL)."""
        if not self.remote:
            return
        fs, url = self._fs(self.url_of(local))
        try:
            fs.put_file(str(local), url, **_PUT_OPTIONS.get(_scheme(url), {}))
        except Exception as exc:
            log.error("could not write %s to storage: %s", url, exc)
            raise StorageUnavailable(
                "the file storage could not be written to; try again in a minute"
            ) from exc

    def publish_tree(self, folder: Path) -> None:
        """Publish every regular file under a folder."""
        if not self.remote or not folder.is_dir():
            return
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                self.publish(path)

    def remove(self, local: Path) -> None:
        """Remove a file (or a folder's files) at the storage URL, if there; best effort."""
        if not self.remote:
            return
        fs, url = self._fs(self.url_of(local))
        try:
            if fs.exists(url):
                fs.rm(url, recursive=fs.isdir(url))
        except Exception:
            log.warning("could not remove %s from storage", url, exc_info=True)

    # -- reading ---------------------------------------------------------------------------

    def exists(self, local: Path) -> bool:
        """Whether the file or folder exists: at the URL when there is one, else on disk."""
        if not self.remote:
            return local.exists()
        fs, url = self._fs(self.url_of(local))
        try:
            return bool(fs.exists(url))
        except Exception as exc:
            log.error("could not look for %s in storage: %s", url, exc)
            raise StorageUnavailable("the file storage could not be read; try again") from exc

    def listdir(self, local: Path) -> list[str]:
        """The names directly under a folder (at the URL when there is one)."""
        if not self.remote:
            return sorted(p.name for p in local.iterdir()) if local.is_dir() else []
        fs, url = self._fs(self.url_of(local))
        try:
            entries = fs.ls(url, detail=False)
        except FileNotFoundError:
            return []
        except Exception as exc:
            log.error("could not list %s in storage: %s", url, exc)
            raise StorageUnavailable("the file storage could not be read; try again") from exc
        return sorted(PurePosixPath(str(entry).rstrip("/")).name for entry in entries)

    def fetch(self, local: Path, *, sha256: str) -> Path:
        """A verified local copy of a file, for a worker: from the cache keyed by its hash.

        Without a URL the local file is the stored one and is returned as is (the evaluation
        checks the hashes of its data itself). With one, the object is downloaded once into
        `<cache>/<sha256>/<name>`, hashed while it streams, and kept only if the hash matches.
        """
        if not self.remote:
            return local
        if len(sha256) != 64:
            raise StorageIntegrityError(f"no content hash is recorded for {local.name}")
        cached = self.cache_dir / sha256 / local.name
        if cached.is_file():
            return cached
        self._download(self.url_of(local), cached, sha256=sha256)
        return cached

    def restore(self, local: Path, *, sha256: str | None = None) -> Path:
        """Make `local` exist on this machine (downloaded when another machine wrote it)."""
        if self.remote and not local.is_file():
            self._download(self.url_of(local), local, sha256=sha256)
        return local

    def _download(self, url: str, target: Path, *, sha256: str | None) -> None:
        fs, url = self._fs(url)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        digest = hashlib.sha256()
        try:
            try:
                with fs.open(url, "rb", block_size=CHUNK) as source, partial.open("wb") as sink:
                    while chunk := source.read(CHUNK):
                        digest.update(chunk)
                        sink.write(chunk)
            except FileNotFoundError:
                log.error("%s is not in storage", url)
                raise StorageIntegrityError(
                    f"the stored file {target.name!r} is missing from the file storage"
                ) from None
            except Exception as exc:
                log.error("could not read %s from storage: %s", url, exc)
                raise StorageUnavailable(
                    "the file storage could not be read; try again in a minute"
                ) from exc
            if sha256 is not None and digest.hexdigest() != sha256:
                log.error("%s has sha256 %s, expected %s", url, digest.hexdigest(), sha256)
                raise StorageIntegrityError(
                    f"the stored file {target.name!r} differs from the one that was written "
                    "(sha256 mismatch)"
                )
            os.replace(partial, target)  # concurrent fetches of one object each write their own
        finally:
            partial.unlink(missing_ok=True)


def _scheme(url: str) -> str:
    return url.split("://", 1)[0] if "://" in url else "file"


@lru_cache(maxsize=16)
def _filesystem(protocol: str, pid: int) -> Any:
    """One filesystem object per protocol and process (a forked worker makes its own)."""
    del pid
    if protocol in ("file", "local"):
        return fsspec.filesystem("file", auto_mkdir=True)
    # listings are not cached: another machine may have written a file a moment ago
    return fsspec.filesystem(protocol, use_listings_cache=False, skip_instance_cache=True)


def store_for(settings: Settings) -> ObjectStore:
    """The object store the settings describe."""
    return ObjectStore(
        storage_root=settings.storage,
        labels_root=settings.labels,
        cache_dir=settings.home / "cache" / "objects",
        storage_url=settings.storage_url,
        labels_url=settings.labels_url,
    )
