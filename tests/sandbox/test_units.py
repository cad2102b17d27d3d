"""Unit checks of the pieces: seccomp program, log buffer, validation, readability checks."""

from __future__ import annotations

import errno
import os
import stat
import struct
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sandbox.runtime import accessible, resolve_runtime
from sandbox.seccomp import ARCHITECTURES, UnsupportedArchitecture, build_filter, compile_filter
from sandbox.settings import get_settings
from sandbox.staging import RUNNER_PACKAGE, link_or_copy, runner_folder
from sandbox.supervise import LogBuffer
from sandbox.validate import OutputInvalid, validate_predictions

AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
RET, ALLOW, KILL_PROCESS = 0x06, 0x7FFF0000, 0x80000000


@pytest.mark.parametrize("machine", ARCHITECTURES)
def test_the_seccomp_program_is_well_formed(machine: str) -> None:
    program = build_filter(machine)
    assert build_filter(machine) is program  # built once per process
    assert compile_filter(machine) == program
    assert len(program) % 8 == 0
    count = len(program) // 8
    assert 10 < count < 4096
    instructions = [struct.unpack("<HBBI", program[i * 8 : i * 8 + 8]) for i in range(count)]
    assert instructions[0] == (0x20, 0, 0, 4)  # load the architecture first
    assert instructions[1][0] == 0x15 and instructions[1][3] == AUDIT_ARCH[machine]
    returns = {k for code, _, _, k in instructions if code == RET}
    assert {ALLOW, KILL_PROCESS, 0x00050000 | errno.EPERM, 0x00050000 | errno.EACCES} <= returns
    for index, (code, jt, jf, _) in enumerate(instructions):
        if code & 0x07 == 0x05:
            assert index + 1 + max(jt, jf) < count


def test_an_unknown_architecture_is_refused() -> None:
    with pytest.raises(UnsupportedArchitecture, match="supported: x86_64, aarch64"):
        build_filter("riscv64")


def test_the_log_buffer_keeps_head_and_tail() -> None:
    logs = LogBuffer(100)
    logs.feed(b"A" * 60)
    logs.feed(b"B" * 500)
    logs.feed(b"C" * 10)
    text = logs.text()
    assert logs.truncated and logs.total == 570
    assert text.startswith("A" * 50) and text.endswith("B" * 40 + "C" * 10)
    assert "470 bytes of output dropped" in text


def test_validation_maps_labels_to_the_competition_classes() -> None:
    frame = pd.DataFrame(
        {"id": [1, 2], "label": ["1", "0"], "proba_0": [0.2, 0.9], "proba_1": [0.8, 0.1]}
    )
    result = validate_predictions(
        frame, id_column="id", target="label", task="binary", classes=[0, 1], n_rows=2
    )
    assert result["label"].tolist() == [1, 0]
    assert list(result.columns) == ["id", "label", "proba_0", "proba_1"]
    with pytest.raises(OutputInvalid, match="have 2 rows; the test set has 3"):
        validate_predictions(
            frame, id_column="id", target="label", task="binary", classes=[0, 1], n_rows=3
        )


def test_readability_is_judged_for_the_slot_uid(base: Path) -> None:
    assert accessible(Path("/usr/bin/env"), 64000, 64000) == ""
    hidden = base / "hidden"
    hidden.mkdir(mode=0o700)
    (hidden / "file").write_text("x")
    blocked = accessible(hidden / "file", 64000, 64000)
    assert str(hidden) in blocked and "drwx------" in blocked
    assert accessible(hidden / "file", os.getuid(), os.getgid()) == ""


def test_the_jail_interpreter_uses_the_runner_bytecode_compiled_for_it() -> None:
    package = runner_folder() / RUNNER_PACKAGE
    cached = sorted(p.name for p in (package / "__pycache__").iterdir())
    sources = sorted(p.stem for p in package.glob("*.py"))
    assert [name.split(".")[0] for name in cached] == sources
    assert "main" in sources and "loaders" in sources
    for path in (package / "__pycache__", *(package / "__pycache__").iterdir()):
        assert path.stat().st_mode & stat.S_IROTH, path
    runtime = resolve_runtime(get_settings(), os.getuid(), os.getgid())
    code = f"import sys; sys.path.insert(0, {str(package.parent)!r}); import jail.protocol"
    done = subprocess.run(
        [str(runtime.interpreter), "-I", "-S", "-B", "-v", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    pyc = package / "__pycache__" / f"protocol.{sys.implementation.cache_tag}.pyc"
    assert f"{pyc} matches" in done.stderr


def test_data_files_are_linked_into_a_job_only_when_everyone_may_read_them(tmp_path: Path) -> None:
    shared, private = tmp_path / "features.parquet", tmp_path / "private.parquet"
    for path, mode in ((shared, 0o644), (private, 0o600)):
        path.write_bytes(b"table")
        os.chmod(path, mode)
    link_or_copy(shared, tmp_path / "linked")
    link_or_copy(private, tmp_path / "copied")
    assert (tmp_path / "linked").stat().st_ino == shared.stat().st_ino  # no copy per run
    assert (tmp_path / "copied").stat().st_ino != private.stat().st_ino
    assert (tmp_path / "copied").read_bytes() == b"table"


SECCOMP_PROBE = """
import ctypes, os, sys
from sandbox.jail import confine
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS, which setpriv sets for every jail
confine.install_seccomp(open(sys.argv[1], "rb").read())
verdicts = []
for name, call in (
    ("unshare", lambda: libc.unshare(confine.CLONE_NEWUSER)),
    ("ptrace", lambda: libc.ptrace(0, 0, 0, 0)),
    ("setns", lambda: libc.setns(-1, 0)),
):
    ctypes.set_errno(0)
    failed = call() != 0
    verdicts.append(f"{name}={'EPERM' if failed and ctypes.get_errno() == 1 else 'allowed'}")
print(" ".join(verdicts))
"""


@pytest.mark.parametrize(
    ("server", "expected"),
    [(False, "unshare=EPERM ptrace=EPERM setns=EPERM"), (True, "unshare=allowed ptrace=EPERM")],
)
def test_the_fork_servers_filter_allows_namespaces_and_mounts_only(
    tmp_path: Path, server: bool, expected: str
) -> None:
    program = tmp_path / "filter.bpf"
    program.write_bytes(build_filter(server=server))
    assert build_filter(server=server) is build_filter(server=server)
    assert build_filter(server=True) != build_filter()
    done = subprocess.run(
        [sys.executable, "-c", SECCOMP_PROBE, str(program)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(expected)
