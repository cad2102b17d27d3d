"""System calls a fork-server child makes to confine itself before any submitted code is loaded:
fresh namespaces and mounts, limits, no capabilities, the seccomp filter (see forkserver.py).

Only the standard library (ctypes over libc): this runs inside the jail, before the job.
"""

from __future__ import annotations

import ctypes
import os
import resource
from collections.abc import Mapping

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
NEW_NAMESPACES = (
    CLONE_NEWUSER
    | CLONE_NEWNS
    | CLONE_NEWPID
    | CLONE_NEWIPC
    | CLONE_NEWUTS
    | CLONE_NEWNET
    | CLONE_NEWCGROUP
)
"""Every namespace a run gets afresh: user, mount, pid, ipc, uts, network and cgroup."""

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000

PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PR_CAPBSET_DROP = 24
PR_SET_SECCOMP = 22
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
SECCOMP_MODE_FILTER = 2
CAP_LAST_CAP = 63
LINUX_CAPABILITY_VERSION_3 = 0x20080522

RLIMITS = {
    "data": resource.RLIMIT_DATA,
    "as": resource.RLIMIT_AS,
    "cpu": resource.RLIMIT_CPU,
    "nproc": resource.RLIMIT_NPROC,
    "fsize": resource.RLIMIT_FSIZE,
    "nofile": resource.RLIMIT_NOFILE,
    "core": resource.RLIMIT_CORE,
}
"""The limits a run gets, by the names the host uses in the ticket."""

_libc = ctypes.CDLL(None, use_errno=True)


class ConfineError(OSError):
    """A confinement step failed: the child ends before any job code runs."""


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise ConfineError(code, f"{what}: {os.strerror(code)}")


def unshare(flags: int) -> None:
    """Enter new namespaces."""
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def map_identity(uid: int, gid: int) -> None:
    """Map the caller's uid and gid to themselves in its new user namespace (and nothing else)."""
    maps = {"setgroups": "deny", "uid_map": f"{uid} {uid} 1", "gid_map": f"{gid} {gid} 1"}
    for name, text in maps.items():
        with open(f"/proc/self/{name}", "w", encoding="ascii") as handle:
            handle.write(text)


def mount(source: str | None, target: str, kind: str | None, flags: int, data: str = "") -> None:
    """mount(2)."""
    _check(
        _libc.mount(
            source.encode() if source else None,
            target.encode(),
            kind.encode() if kind else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def bind(source: str, target: str, *, read_only: bool) -> None:
    """Bind `source` at `target`, without setuid or devices (and read-only when asked)."""
    mount(source, target, None, MS_BIND | MS_REC)
    extra = MS_RDONLY if read_only else 0
    mount(None, target, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | extra)


def tmpfs(target: str, size_bytes: int, *, read_only: bool = False) -> None:
    """A new, empty tmpfs at `target`."""
    flags = MS_NOSUID | MS_NODEV | (MS_RDONLY if read_only else 0)
    mount("tmpfs", target, "tmpfs", flags, f"size={max(size_bytes, 4096)},mode=1777")


def set_hostname(name: str) -> None:
    """sethostname(2) in the new uts namespace."""
    raw = name.encode()
    _check(_libc.sethostname(raw, ctypes.c_size_t(len(raw))), "sethostname")


def set_limits(limits: Mapping[str, int]) -> None:
    """Set each resource limit (soft = hard), never above the jail's own hard limit."""
    for name, value in limits.items():
        kind = RLIMITS[name]
        hard = resource.getrlimit(kind)[1]
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(kind, (value, value))


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def drop_capabilities() -> None:
    """Drop every capability: bounding set, ambient, effective, permitted and inheritable."""
    for cap in range(CAP_LAST_CAP + 1):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != 22:
            _check(-1, f"drop capability {cap} from the bounding set")
    _check(_libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient caps")
    header = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), ctypes.byref(data)), "capset")


def set_dumpable(dumpable: bool) -> None:
    """PR_SET_DUMPABLE: whether processes of the same uid may trace or read this one's memory."""
    _check(_libc.prctl(PR_SET_DUMPABLE, int(dumpable), 0, 0, 0), "prctl(PR_SET_DUMPABLE)")


def adopt_orphans() -> None:
    """PR_SET_CHILD_SUBREAPER: orphaned descendants are re-parented to this process."""
    _check(_libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl(PR_SET_CHILD_SUBREAPER)")


class _SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


def install_seccomp(program: bytes) -> None:
    """Load a classic BPF seccomp program (needs no_new_privs, which setpriv set for the jail)."""
    if not program or len(program) % ctypes.sizeof(_SockFilter):
        raise ConfineError(22, "the seccomp program is empty or malformed")
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(
        len(program) // ctypes.sizeof(_SockFilter), ctypes.cast(buffer, ctypes.POINTER(_SockFilter))
    )
    _check(
        _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0),
        "prctl(PR_SET_SECCOMP)",
    )
