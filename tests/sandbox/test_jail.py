"""What the model sees of itself: uid, capabilities, seccomp, namespaces, limits."""

from __future__ import annotations

import re
from pathlib import Path

from sandbox import Limits, Outcome
from sandbox.backends import ADDRESS_HEADROOM_MB
from sandbox.runtime import resolve_runtime
from sandbox.settings import get_settings

from .conftest import FAST, assert_still_scores, run_python

PROBE = """
import ctypes
import errno
import os
import resource

libc = ctypes.CDLL(None, use_errno=True)
CALLS = {
    "unshare": lambda: libc.unshare(0x10000000),
    "ptrace": lambda: libc.ptrace(16, 1, 0, 0),
    "mount": lambda: libc.mount(b"none", b"/tmp", b"tmpfs", 0, None),
    "setns": lambda: libc.setns(0, 0),
    "bpf": lambda: libc.syscall(321, 0, 0, 0),
    "keyctl": lambda: libc.syscall(250, 0, 0, 0),
    "perf_event_open": lambda: libc.syscall(298, 0, 0, -1, -1, 0),
    "io_uring_setup": lambda: libc.syscall(425, 1, 0),
    "clone_newuser": lambda: libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0),
}


def predict(features):
    status = open("/proc/self/status").read()
    for key in ("Uid", "CapEff", "CapBnd", "NoNewPrivs", "Seccomp"):
        print(key, re.search(key + r":\\s+(\\S+)", status).group(1))
    print("uid_map", open("/proc/self/uid_map").read().split())
    for name, call in CALLS.items():
        ctypes.set_errno(0)
        rc = call()
        print("call", name, rc, errno.errorcode.get(ctypes.get_errno(), "0"))
    print("hostname", os.uname().nodename)
    print("nproc", resource.getrlimit(resource.RLIMIT_NPROC)[0])
    print("as", resource.getrlimit(resource.RLIMIT_AS)[0])
    print("data", resource.getrlimit(resource.RLIMIT_DATA)[0])
    print("nofile", resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    print("fsize", resource.getrlimit(resource.RLIMIT_FSIZE)[0])
    print("root", sorted(os.listdir("/")))
    return _good(features)
"""


def _field(logs: str, key: str) -> str:
    return re.search(rf"^{key} (.+)$", logs, re.M).group(1)  # type: ignore[union-attr]


def test_the_jail_is_unprivileged_filtered_and_limited(tmp_path: Path, work_dir: Path) -> None:
    limits = Limits(time_s=20, memory_mb=1536, processes=32, open_files=128, file_size_mb=8)
    result = run_python(tmp_path, work_dir, "import re\n" + PROBE, limits=limits)
    assert result.outcome is Outcome.OK, result.message
    logs = result.logs
    assert int(_field(logs, "Uid").split()[0]) >= 64000
    assert _field(logs, "CapEff") == "0000000000000000"
    assert _field(logs, "CapBnd") == "0000000000000000"
    assert _field(logs, "NoNewPrivs") == "1"
    assert _field(logs, "Seccomp") == "2"
    # one uid is mapped (bwrap nests a second user namespace for --disable-userns; the host
    # side of the chain is the slot uid, which test_fork_bomb_is_capped_and_killed observes)
    assert eval(_field(logs, "uid_map"))[2] == "1"
    for call in ("unshare", "ptrace", "mount", "setns", "bpf", "keyctl", "perf_event_open"):
        assert re.search(rf"^call {call} -1 EPERM$", logs, re.M), call
    assert re.search(r"^call io_uring_setup -1 EPERM$", logs, re.M)
    assert re.search(r"^call clone_newuser -1 EPERM$", logs, re.M)
    assert _field(logs, "hostname") == "sandbox"
    assert int(_field(logs, "nproc")) == 34
    assert int(_field(logs, "data")) == 1536 * 1024 * 1024
    assert int(_field(logs, "as")) == (1536 + ADDRESS_HEADROOM_MB) * 1024 * 1024
    assert int(_field(logs, "nofile")) == 128
    assert int(_field(logs, "fsize")) == 8 * 1024 * 1024
    visible = set(eval(_field(logs, "root")))
    settings = get_settings()
    runtime = resolve_runtime(settings, settings.uid_base, settings.uid_base)
    expected = {"dev", "etc", "job", "out", "proc", "runner", "sys", "tmp", "usr"}
    expected |= {
        Path(name).name for name in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
    }
    expected |= {path.parts[1] for path in (*runtime.mounts, *runtime.site_dirs)}
    assert visible <= expected, visible - expected
    assert {"job", "out", "runner", "tmp", "usr"} <= visible
    assert result.kpis["cpu_time_s"] > 0 and result.kpis["peak_memory_mb"] > 10
    assert FAST.log_kb == 32
    assert_still_scores(tmp_path, work_dir)
