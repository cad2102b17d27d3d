"""Safe extraction of uploaded zip archives (defence in depth: the platform checked them too)."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path, PurePosixPath

from .contract import SubmissionRejected

MAX_MEMBERS = 2_000
MAX_TOTAL_BYTES = 512 * 1024 * 1024
MAX_RATIO = 200


def _check_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or name.startswith(("/", "\\")) or (path.parts and ":" in path.parts[0]):
        raise SubmissionRejected(f"the archive holds an absolute path '{name}'; use relative paths")
    if ".." in path.parts:
        raise SubmissionRejected(f"the archive holds a path that climbs out of it: '{name}'")
    return path


def _check_member(info: zipfile.ZipInfo) -> None:
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise SubmissionRejected(
            f"the archive holds a symbolic link '{info.filename}'; zip the real files instead"
        )
    if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise SubmissionRejected(f"the archive holds a special file '{info.filename}'")
    if info.flag_bits & 0x1:
        raise SubmissionRejected(f"the archive holds an encrypted file '{info.filename}'")


def extract_zip(archive: Path, dest: Path, *, max_total_bytes: int = MAX_TOTAL_BYTES) -> int:
    """Extract `archive` into `dest`, refusing unsafe members; return the bytes written."""
    try:
        bundle = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SubmissionRejected(f"the upload is not a readable zip archive: {exc}") from exc
    with bundle:
        members = bundle.infolist()
        if len(members) > MAX_MEMBERS:
            raise SubmissionRejected(
                f"the archive holds {len(members)} files; the limit is {MAX_MEMBERS}"
            )
        declared = 0
        for info in members:
            _check_name(info.filename)
            _check_member(info)
            declared += info.file_size
            if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
                raise SubmissionRejected(
                    f"'{info.filename}' expands more than {MAX_RATIO} times: a zip bomb is refused"
                )
        if declared > max_total_bytes:
            raise SubmissionRejected(
                f"the archive expands to {declared} bytes; the limit is {max_total_bytes}"
            )
        written = 0
        dest.mkdir(parents=True, exist_ok=True)
        for info in members:
            target = dest.joinpath(*_check_name(info.filename).parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            member_bytes = 0
            try:
                with bundle.open(info) as source, target.open("wb") as sink:
                    while chunk := source.read(1 << 20):
                        member_bytes += len(chunk)
                        if (
                            member_bytes > info.file_size
                            or written + member_bytes > max_total_bytes
                        ):
                            raise SubmissionRejected(
                                f"'{info.filename}' expands beyond its declared size: "
                                "a zip bomb is refused"
                            )
                        sink.write(chunk)
            except (zipfile.BadZipFile, EOFError, NotImplementedError) as exc:
                raise SubmissionRejected(f"'{info.filename}' cannot be extracted: {exc}") from exc
            written += member_bytes
        return written
