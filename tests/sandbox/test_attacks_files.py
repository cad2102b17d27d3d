"""Attacks on files: hidden labels, other submissions, secrets, /proc, writes outside, pickles."""

from __future__ import annotations

import re
from pathlib import Path

import joblib
import pytest

import sandbox
from sandbox import Outcome, SubmissionFormat

from .conftest import SECRET, Host, assert_still_scores, python_model, request_for, run_python

SEARCH = """
import os

SECRET = {head!r} + {tail!r}
SKIP = ("/usr", "/proc", "/sys", "/dev")


def _hits(path):
    try:
        with open(path, "rb") as handle:
            return SECRET.encode() in handle.read(2_000_000)
    except OSError as exc:
        print("blocked", path, type(exc).__name__)
        return False


def predict(features):
    direct = {direct!r}
    found = [p for p in direct if _hits(p)]
    scanned = 0
    if not found:
        for top, dirs, files in os.walk("/"):
            if top.startswith(SKIP) or "site-packages" in top or "python3." in top:
                dirs[:] = []
                continue
            for name in files:
                scanned += 1
                if _hits(os.path.join(top, name)):
                    found.append(os.path.join(top, name))
    print("scanned", scanned, "found", found)
    if found:
        raise RuntimeError("LEAK " + repr(found))
    return _good(features)
"""


def _search(paths: list[str]) -> str:
    half = len(SECRET) // 2
    return SEARCH.format(head=SECRET[:half], tail=SECRET[half:], direct=paths)


def _direct_paths(host: Host) -> list[str]:
    labels = str(host.labels)
    return [
        labels,
        str(host.data_dir / "train.csv"),
        str(host.other_submission),
        "/proc/1/root" + labels,
        "/proc/self/root" + labels,
        "../../../../../../.." + labels,
        "/root/.bash_history",
    ]


def test_hidden_labels_cannot_be_read_by_any_path(
    tmp_path: Path, work_dir: Path, host: Host
) -> None:
    result = run_python(tmp_path, work_dir, _search(_direct_paths(host)))
    assert result.outcome is Outcome.OK, result.message
    assert "found []" in result.logs
    assert int(re.search(r"scanned (\d+)", result.logs).group(1)) > 0  # type: ignore[union-attr]
    assert SECRET not in result.logs
    assert_still_scores(tmp_path, work_dir)


def test_the_labels_search_finds_them_without_the_jail(
    tmp_path: Path, work_dir: Path, host: Host
) -> None:
    """Control: the same model under the process backend reads the labels, so the search works."""
    model = python_model(tmp_path, _search(_direct_paths(host)))
    with pytest.warns(RuntimeWarning, match="process"):
        result = sandbox.run(
            request_for(model, SubmissionFormat.PYTHON), backend="process", work_dir=work_dir
        )
    assert result.outcome is Outcome.RUNTIME_ERROR
    assert "LEAK" in result.message and str(host.labels) in result.message


def test_another_submission_cannot_be_read(tmp_path: Path, work_dir: Path, host: Host) -> None:
    paths = [str(host.other_submission), str(host.other_submission.parent)]
    result = run_python(tmp_path, work_dir, _search(paths))
    assert result.outcome is Outcome.OK, result.message
    assert f"blocked {host.other_submission} FileNotFoundError" in result.logs
    assert_still_scores(tmp_path, work_dir)


ENVIRON = """
import os


def predict(features):
    secret = "s3" + "cr3t"
    pids = sorted(p for p in os.listdir("/proc") if p.isdigit())
    blobs = [repr(dict(os.environ))]
    for pid in pids:
        for name in ("environ", "cmdline"):
            try:
                with open(f"/proc/{pid}/{name}", "rb") as handle:
                    blobs.append(handle.read().decode(errors="replace"))
            except OSError as exc:
                print("blocked", pid, name, type(exc).__name__)
    print("ENV", sorted(os.environ))
    print("PIDS", len(pids))
    text = " ".join(blobs)
    if secret in text or "pytest" in text or "MLCHALLENGE" in text:
        raise RuntimeError("LEAK")
    return _good(features)
"""


def test_environment_secrets_and_worker_proc_are_invisible(
    tmp_path: Path, work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLCHALLENGE_SECRET_KEY", "s3cr3t-token")
    monkeypatch.setenv("DATABASE_URL", "postgresql://admin:s3cr3t@127.0.0.1:5432/mlchallenge")
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://:s3cr3t@127.0.0.1:6379/0")
    result = run_python(tmp_path, work_dir, ENVIRON)
    assert result.outcome is Outcome.OK, result.message
    pids = int(re.search(r"PIDS (\d+)", result.logs).group(1))  # type: ignore[union-attr]
    assert pids <= 2, "only bwrap's init and the runner are visible"
    assert "s3cr3t" not in result.logs and "DATABASE_URL" not in result.logs
    assert_still_scores(tmp_path, work_dir)


WRITES = """
import os

TARGETS = {targets!r}


def predict(features):
    for target in TARGETS:
        try:
            with open(target, "w") as handle:
                handle.write("x")
            print("WROTE", target)
        except OSError as exc:
            print("blocked", target, type(exc).__name__)
    for allowed in ("/tmp/scratch", "/out/scratch"):
        with open(allowed, "w") as handle:
            handle.write("fine")
    return _good(features)
"""


def test_writes_outside_the_output_folder_fail(tmp_path: Path, work_dir: Path, host: Host) -> None:
    outside = host.root / "pwned"
    host.root.chmod(0o777)
    targets = [str(outside), "/job/pwned", "/job/model/pwned", "pwned", "/usr/pwned", "/etc/pwned"]
    targets += ["/pwned", "/dev/pwned", "/proc/pwned", str(work_dir / "pwned")]
    result = run_python(tmp_path, work_dir, WRITES.format(targets=targets))
    assert result.outcome is Outcome.OK, result.message
    assert "WROTE" not in result.logs
    assert result.logs.count("blocked") == len(targets)
    assert not outside.exists() and not (work_dir / "pwned").exists()
    assert_still_scores(tmp_path, work_dir)


class _Evil:
    """A pickle payload that runs code when loaded."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (exec, (self.code,))


def test_a_malicious_pickle_runs_only_inside_the_jail(
    tmp_path: Path, work_dir: Path, host: Host
) -> None:
    outside = host.root / "pwned-by-pickle"
    host.root.chmod(0o777)
    code = (
        "import os\nprint('PICKLE RAN uid', os.getuid())\n"
        f"try:\n    open({str(outside)!r}, 'w').write('x')\n"
        "except OSError as exc:\n    print('blocked', type(exc).__name__)\n"
    )
    model = tmp_path / "evil.joblib"
    joblib.dump(_Evil(code), model)
    result = sandbox.run(request_for(model, SubmissionFormat.SKLEARN), work_dir=work_dir)
    assert result.outcome is Outcome.INVALID_SUBMISSION
    assert "has no predict()" in result.message
    uid = int(re.search(r"PICKLE RAN uid (\d+)", result.logs).group(1))  # type: ignore[union-attr]
    assert uid != 0
    assert "blocked FileNotFoundError" in result.logs
    assert not outside.exists()
    assert_still_scores(tmp_path, work_dir)
