"""Archives are extracted safely: no `../`, absolute paths, symlinks or bombs; good zips run."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

import sandbox
from sandbox import Outcome, SubmissionFormat
from sandbox.archive import BUNDLE_ARCHIVES, MB, ArchiveLimits, extract_zip, inspect_zip
from sandbox.contract import SubmissionRejected

from .conftest import request_for


def _zip(path: Path, members: dict[str, bytes], *, symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
        if symlink is not None:
            info = zipfile.ZipInfo("link.py")
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            bundle.writestr(info, symlink)
    return path


GOOD = b"def predict(f):\n    return (f['f0'] > 0).astype(int).to_numpy()\n"


@pytest.mark.parametrize(
    ("members", "symlink", "expected"),
    [
        ({"model.py": GOOD, "../evil.py": b"x"}, None, "climbs out of it: '../evil.py'"),
        ({"model.py": GOOD, "sub/../../evil.py": b"x"}, None, "climbs out of it"),
        ({"model.py": GOOD, "/tmp/evil.py": b"x"}, None, "absolute path '/tmp/evil.py'"),
        ({"model.py": GOOD}, "/etc/passwd", "symbolic link 'link.py'"),
        ({"model.py": GOOD, "zeros.bin": bytes(20_000_000)}, None, "a zip bomb is refused"),
    ],
)
def test_unsafe_archives_are_invalid_submissions(
    tmp_path: Path, members: dict[str, bytes], symlink: str | None, expected: str
) -> None:
    (tmp_path / "upload").mkdir()
    archive = _zip(tmp_path / "upload" / "model.zip", members, symlink=symlink)
    result = sandbox.run(request_for(archive, SubmissionFormat.PYTHON))
    assert result.outcome is Outcome.INVALID_SUBMISSION
    assert expected in result.message
    assert not (tmp_path / "evil.py").exists() and not Path("/tmp/evil.py").exists()


def test_extraction_caps_the_total_size(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "big.zip", {"a.bin": b"a" * 3000, "b.bin": b"b" * 3000})
    with pytest.raises(SubmissionRejected, match="expands to 6000 bytes"):
        extract_zip(archive, tmp_path / "out", limits=ArchiveLimits(max_total_bytes=5000))
    assert not (tmp_path / "out").exists()


def small_member_bomb(path: Path, members: int = 300) -> Path:
    """Entries of exactly 1 MB of zeros: each under the per-entry ratio check, 300 MB in all."""
    zeros = bytes(MB)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("model.py", GOOD)
        for index in range(members):
            bundle.writestr(f"pad/{index}.bin", zeros)
    return path


def test_the_total_ratio_counts_every_member_however_small(tmp_path: Path) -> None:
    archive = small_member_bomb(tmp_path / "model.zip")
    assert archive.stat().st_size < 2 * MB
    for limits in (ArchiveLimits(), BUNDLE_ARCHIVES):
        with pytest.raises(SubmissionRejected, match="more than 200 times its size"):
            inspect_zip(archive, limits=limits)
    result = sandbox.run(request_for(archive, SubmissionFormat.PYTHON))
    assert result.outcome is Outcome.INVALID_SUBMISSION
    assert "a zip bomb is refused" in result.message


def test_a_small_archive_may_expand_to_the_ratio_times_a_megabyte(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "model.zip", {"model.py": GOOD, "zeros.bin": bytes(MB)})
    assert len(inspect_zip(archive)) == 2
    assert extract_zip(archive, tmp_path / "out") == MB + len(GOOD)


def test_a_file_that_is_not_a_zip_is_refused(tmp_path: Path) -> None:
    upload = tmp_path / "model.zip"
    upload.write_bytes(b"PK but not really")
    result = sandbox.run(request_for(upload, SubmissionFormat.MLFLOW))
    assert result.outcome is Outcome.INVALID_SUBMISSION
    assert "not a readable zip archive" in result.message


def test_a_zipped_python_model_loads_its_files_relative_to_its_folder(
    tmp_path: Path, work_dir: Path
) -> None:
    source = (
        b"import json\n\nTHRESHOLD = json.load(open('params/threshold.json'))['t']\n\n"
        b"class Model:\n    def predict(self, f):\n"
        b"        return (f['f0'] > THRESHOLD).astype(int).to_numpy()\n"
    )
    archive = _zip(
        tmp_path / "model.zip", {"model.py": source, "params/threshold.json": b'{"t": 0.0}'}
    )
    result = sandbox.run(request_for(archive, SubmissionFormat.PYTHON), work_dir=work_dir)
    assert result.outcome is Outcome.OK, result.message
