"""The jail's seccomp filter, built with libseccomp (`pyseccomp` over the system's library) and
exported as the classic BPF program bwrap loads with `--seccomp FD`.

The rules: a foreign ABI (x32 or i386 on x86_64, arm32 on aarch64) kills the process; the calls in
`DENIED` fail with EPERM; `socket` and `socketpair` fail with EACCES for any family but AF_UNIX;
`clone` with a namespace flag fails with EPERM; `clone3` fails with ENOSYS (its flags are in memory
a filter cannot read, so libc falls back to `clone`). Everything else is allowed.

The program is the same for every jail: it is built once per process and architecture.
bench/seccomp_start.py measures what it costs a jail start.
"""

from __future__ import annotations

import errno
import platform
import tempfile
from functools import lru_cache

AF_UNIX = 1
CLONE_NAMESPACE_FLAGS = (
    0x00000080,  # CLONE_NEWTIME
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
)

DENIED = (
    "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root", "chroot",
    "unshare", "setns", "bpf", "keyctl", "add_key", "request_key", "perf_event_open",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "open_tree", "move_mount", "fsopen",
    "fsconfig", "fsmount", "fspick", "mount_setattr", "kexec_load", "kexec_file_load",
    "init_module", "finit_module", "delete_module", "userfaultfd", "syslog", "acct", "swapon",
    "swapoff", "reboot", "quotactl", "open_by_handle_at", "name_to_handle_at",
)  # fmt: skip

SERVER_ALLOWED = ("unshare", "mount")
"""What the fork server's jail may do that a run may not: each run's first two processes enter
new namespaces and mount its view; the run loads the full filter before any job code
(`jail/forkserver.py`)."""

ARCHITECTURES = ("x86_64", "aarch64")
"""Machines the filter is built for (`platform.machine()` names)."""


class SeccompUnavailable(Exception):
    """The filter cannot be built here (no libseccomp, or an architecture it is not made for)."""


class UnsupportedArchitecture(SeccompUnavailable):
    """No filter for this machine's architecture."""


def build_filter(machine: str | None = None, *, server: bool = False) -> bytes:
    """The BPF program for this machine (or `machine`), built once per process; `server`: the
    fork server's, which allows `SERVER_ALLOWED`."""
    arch = machine or platform.machine()
    if arch not in ARCHITECTURES:
        raise UnsupportedArchitecture(
            f"no seccomp filter for {arch}; supported: {', '.join(ARCHITECTURES)}"
        )
    return _cached(arch, server)


@lru_cache(maxsize=2 * len(ARCHITECTURES))
def _cached(arch: str, server: bool) -> bytes:
    return compile_filter(arch, server=server)


def compile_filter(arch: str, *, server: bool = False) -> bytes:
    """Build the filter for `arch` with libseccomp and export its BPF program (not cached)."""
    try:
        import pyseccomp as seccomp
    except (ImportError, RuntimeError) as exc:  # pyseccomp raises RuntimeError without the library
        raise SeccompUnavailable(
            f"libseccomp is not available ({exc}): apt-get install libseccomp2"
        ) from exc
    target = {"x86_64": seccomp.Arch.X86_64, "aarch64": seccomp.Arch.AARCH64}[arch]
    rules = seccomp.SyscallFilter(seccomp.ALLOW)
    rules.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.KILL_PROCESS)
    if target != seccomp.system_arch():
        rules.add_arch(target)
        rules.remove_arch(seccomp.Arch.NATIVE)
    for name in DENIED:
        if server and name in SERVER_ALLOWED:
            continue
        rules.add_rule(seccomp.ERRNO(errno.EPERM), name)
    for name in ("socket", "socketpair"):
        rules.add_rule(seccomp.ERRNO(errno.EACCES), name, seccomp.Arg(0, seccomp.NE, AF_UNIX))
    for flag in CLONE_NAMESPACE_FLAGS:
        rules.add_rule(
            seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag)
        )
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    with tempfile.TemporaryFile() as program:
        rules.export_bpf(program)
        program.seek(0)
        return program.read()
