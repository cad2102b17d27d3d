"""The object store on a real S3-protocol server (moto): publish, fetch by hash, refuse changes."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from pathlib import Path

import pytest
from pydantic import ValidationError

from challenge.config import Settings
from challenge.files.objects import ObjectStore, StorageIntegrityError, StorageUnavailable
from tests.s3 import S3Server


def make_store(tmp_path: Path, url: str, labels_url: str = "", name: str = "m") -> ObjectStore:
    home = tmp_path / name
    for folder in ("storage", "labels"):
        (home / folder).mkdir(parents=True, exist_ok=True)
    return ObjectStore(
        storage_root=home / "storage",
        labels_root=home / "labels",
        cache_dir=home / "cache",
        storage_url=url,
        labels_url=labels_url,
    )


def write(path: Path, content: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return hashlib.sha256(content).hexdigest()


def keys(s3: S3Server, bucket: str) -> list[str]:
    listed = s3.client().list_objects_v2(Bucket=bucket)  # type: ignore[attr-defined]
    return sorted(item["Key"] for item in listed.get("Contents", []))


def test_a_file_written_on_one_machine_is_fetched_verified_on_another(
    s3: S3Server, bucket: str, storage_url: str, tmp_path: Path
) -> None:
    writer, reader = (
        make_store(tmp_path, storage_url, name="api"),
        make_store(tmp_path, storage_url),
    )
    upload = writer.roots["storage"] / "submissions" / "tiny" / "abc.zip"
    digest = write(upload, b"model bytes")
    writer.publish(upload)
    assert keys(s3, bucket) == ["platform/storage/submissions/tiny/abc.zip"]

    view = reader.roots["storage"] / "submissions" / "tiny" / "abc.zip"
    assert not view.exists() and reader.exists(view)
    fetched = reader.fetch(view, sha256=digest)
    assert fetched == reader.cache_dir / digest / "abc.zip"
    assert fetched.read_bytes() == b"model bytes"
    assert not view.exists()  # the cache holds it, keyed by content; the layout stays empty
    assert reader.listdir(view.parent) == ["abc.zip"]
    writer.remove(upload)
    assert keys(s3, bucket) == [] and reader.fetch(view, sha256=digest) == fetched  # cached


def test_a_changed_or_missing_object_is_refused_and_not_cached(
    s3: S3Server, bucket: str, storage_url: str, tmp_path: Path
) -> None:
    store = make_store(tmp_path, storage_url)
    data = store.roots["storage"] / "competitions" / "tiny" / "data" / "test.parquet"
    digest = write(data, b"the features")
    store.publish(data)
    s3.client().put_object(  # type: ignore[attr-defined]
        Bucket=bucket, Key="platform/storage/competitions/tiny/data/test.parquet", Body=b"other"
    )
    with pytest.raises(StorageIntegrityError, match="sha256 mismatch"):
        store.fetch(data, sha256=digest)
    with pytest.raises(StorageIntegrityError, match="missing"):
        store.fetch(data.with_name("train.parquet"), sha256=digest)
    with pytest.raises(StorageIntegrityError, match="no content hash"):
        store.fetch(data, sha256="")
    assert not (store.cache_dir / digest).exists() or not any((store.cache_dir / digest).iterdir())
    assert issubclass(StorageIntegrityError, StorageUnavailable)  # 503 in the api, retried


def test_labels_live_under_their_own_prefix_or_bucket(
    s3: S3Server, bucket: str, storage_url: str, tmp_path: Path
) -> None:
    store = make_store(tmp_path, storage_url)
    labels = store.roots["labels"] / "tiny" / "test_labels.parquet"
    write(labels, b"y")
    store.publish(labels)
    assert keys(s3, bucket) == ["platform/labels/tiny/test_labels.parquet"]

    s3.create_bucket(f"{bucket}-labels")
    apart = make_store(tmp_path, storage_url, labels_url=f"s3://{bucket}-labels", name="apart")
    labels = apart.roots["labels"] / "tiny" / "test_labels.parquet"
    write(labels, b"y")
    apart.publish(labels)
    assert keys(s3, f"{bucket}-labels") == ["tiny/test_labels.parquet"]
    with pytest.raises(ValueError, match="not under the storage folder"):
        apart.url_of(tmp_path / "elsewhere.txt")


def test_an_upload_is_streamed_in_parts_not_read_whole(
    s3: S3Server, bucket: str, storage_url: str, tmp_path: Path
) -> None:
    store = make_store(tmp_path, storage_url)
    big = store.roots["storage"] / "submissions" / "tiny" / "big.bin"
    big.parent.mkdir(parents=True)
    with big.open("wb") as sink:
        for _ in range(48):
            sink.write(os.urandom(1 << 20))
    tracemalloc.start()
    try:
        store.publish(big)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 24 << 20, f"publishing 48 MiB held {peak / 2**20:.0f} MiB"
    client = s3.client()
    head = client.head_object(Bucket=bucket, Key="platform/storage/submissions/tiny/big.bin")  # type: ignore[attr-defined]
    assert head["ContentLength"] == 48 << 20 and "-" in head["ETag"]  # a multipart upload


def test_the_local_default_copies_nothing(tmp_path: Path) -> None:
    store = make_store(tmp_path, "")
    path = store.roots["storage"] / "x" / "a.txt"
    digest = write(path, b"a")
    store.publish(path)
    assert not store.remote and store.fetch(path, sha256=digest) == path
    assert store.restore(path) == path and store.listdir(path.parent) == ["a.txt"]


@pytest.mark.parametrize(
    ("url", "message"),
    [("/srv/data", "is not a URL"), ("nope://bucket", "scheme 'nope' is unknown")],
)
def test_a_bad_storage_url_is_refused_with_what_to_use(url: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(storage_url=url)
    with pytest.raises(ValidationError, match="needs MLCHALLENGE_STORAGE_URL"):
        Settings(labels_url="s3://b/labels")


def test_a_labels_folder_inside_the_storage_folder_still_maps_to_the_labels_url(
    tmp_path: Path,
) -> None:
    root = tmp_path / "storage"
    store = ObjectStore(
        storage_root=root,
        labels_root=root / "labels",
        cache_dir=tmp_path / "cache",
        storage_url="s3://bucket/p",
        labels_url="s3://secret",
    )
    assert store.url_of(root / "labels" / "tiny" / "test_labels.parquet") == (
        "s3://secret/tiny/test_labels.parquet"
    )
    assert store.url_of(root / "competitions" / "x") == "s3://bucket/p/storage/competitions/x"
