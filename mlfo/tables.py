"""A worker's caches of a competition's tables, keyed by the content hash of their files.

- Hidden labels, checked and prepared for scoring (`challenge.scoring.prepare_labels`), stay in
  memory (least recently used first out, within `LABELS_CACHE_BYTES`).
- Collected test features (SRC -> C -> PP, the file the sandbox copies into each jail) and, for
  models trained in the sandbox, the collected training data, are kept as Parquet files in the
  evaluation's `cache_dir` (the worker's `<home>/cache/tables`, within `FEATURE_FILES` files and
  `FEATURE_BYTES`).

Keys hold the SHA-256 of the files' contents (the one provenance records), so a changed data file
is never served from a cache, plus everything else the result depends on: the intent's columns,
task, classes and split for the labels; the PP steps, chunk size and the code of the built-in
steps for the features. Only built-in PP steps are cached: a step registered by a plug-in runs for
every submission.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import uuid
from collections.abc import Callable, Hashable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq
from cachetools import LRUCache

from mlfo.collector import Collected, read_table
from mlfo.intent import Intent

if TYPE_CHECKING:
    from challenge.scoring import HiddenLabels

LABELS_CACHE_BYTES = 512 * 2**20
"""Memory a worker process gives prepared hidden labels, all competitions together."""
FEATURE_FILES = 32
FEATURE_BYTES = 2 * 2**30
"""Collected feature files kept in a cache folder: at most this many, and this many bytes in all
(least recently used removed first; the newest file is always kept)."""

_labels: LRUCache[Hashable, HiddenLabels] = LRUCache(
    maxsize=LABELS_CACHE_BYTES, getsizeof=lambda hidden: max(1, hidden.nbytes)
)
_lock = threading.Lock()


def hidden_labels(path: Path, sha256: str, intent: Intent) -> HiddenLabels:
    """The competition's hidden labels, with the intent's split, prepared for scoring."""
    from challenge.scoring import prepare_labels
    from mlfo.distributor import with_split

    split = intent.split
    key = (
        sha256,
        intent.id_column,
        intent.target,
        str(intent.task),
        tuple(intent.classes) if intent.classes is not None else None,
        split.public_fraction,
        split.seed,
    )
    with _lock:
        cached = _labels.get(key)
    if cached is not None:
        return cached
    hidden = prepare_labels(
        with_split(read_table(path), split),
        id_column=intent.id_column,
        target=intent.target,
        task=str(intent.task),
        classes=intent.classes,
    )
    with _lock:
        if hidden.nbytes <= LABELS_CACHE_BYTES:
            _labels[key] = hidden
    return hidden


def clear() -> None:
    """Forget every cached table held in memory (the files stay until evicted)."""
    with _lock:
        _labels.clear()


@lru_cache(maxsize=1)
def _code_fingerprint() -> str:
    """A hash of the code that collects features: a new version never reuses old files."""
    from mlfo import collector, preprocessing

    digest = hashlib.sha256()
    for module in (collector, preprocessing):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:16]


def features_key(parts: dict[str, Any]) -> str:
    """The cache file name stem for collected features described by `parts` (JSON-able)."""
    text = json.dumps({**parts, "code": _code_fingerprint()}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cached_collect(
    cache_dir: Path | None, key: str, out_path: Path, collect: Callable[[Path], Collected]
) -> Collected:
    """The collected table for `key`: from the cache folder, else collected there (or at
    `out_path` when there is no cache folder)."""
    if cache_dir is None:
        return collect(out_path)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"{key}.parquet"
    try:
        os.utime(path)  # recently used
        return _described(path)
    except FileNotFoundError:  # not collected yet (or just evicted by another worker)
        pass
    partial = cache_dir / f".{key}.{uuid.uuid4().hex}.partial"
    try:
        collect(partial)
        os.replace(partial, path)  # atomic: another worker may write the same file
    finally:
        partial.unlink(missing_ok=True)
    _evict(cache_dir)
    return _described(path)


def _described(path: Path) -> Collected:
    metadata = pq.read_metadata(path)
    return Collected(path, metadata.num_rows, metadata.num_row_groups, metadata.schema.names)


def _evict(cache_dir: Path) -> None:
    files = sorted(_stats(cache_dir), key=lambda item: item[1].st_mtime, reverse=True)
    total = 0
    for index, (path, stat) in enumerate(files):
        total += stat.st_size
        if index >= FEATURE_FILES or (index > 0 and total > FEATURE_BYTES):
            path.unlink(missing_ok=True)


def _stats(cache_dir: Path) -> list[tuple[Path, os.stat_result]]:
    found = []
    for path in cache_dir.glob("*.parquet"):
        try:
            found.append((path, path.stat()))
        except FileNotFoundError:  # removed by another worker meanwhile
            continue
    return found
