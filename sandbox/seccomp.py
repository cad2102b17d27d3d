"""A classic-BPF seccomp program for bwrap's `--seccomp FD`, assembled here (no libseccomp)."""

from __future__ import annotations

import errno
import platform
import struct

AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
X32_SYSCALL_BIT = 0x40000000

RET_KILL_PROCESS = 0x80000000
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000

LD_W_ABS = 0x20
JEQ_K = 0x15
JGE_K = 0x35
JSET_K = 0x45
RET_K = 0x06

OFFSET_NR = 0
OFFSET_ARCH = 4
OFFSET_ARG0 = 16

AF_UNIX = 1
CLONE_NEW_NAMESPACES = (
    0x00000080  # CLONE_NEWTIME
    | 0x00020000  # CLONE_NEWNS
    | 0x02000000  # CLONE_NEWCGROUP
    | 0x04000000  # CLONE_NEWUTS
    | 0x08000000  # CLONE_NEWIPC
    | 0x10000000  # CLONE_NEWUSER
    | 0x20000000  # CLONE_NEWPID
    | 0x40000000  # CLONE_NEWNET
)

DENIED = (
    "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root", "chroot",
    "unshare", "setns", "bpf", "keyctl", "add_key", "request_key", "perf_event_open",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "open_tree", "move_mount", "fsopen",
    "fsconfig", "fsmount", "fspick", "mount_setattr", "kexec_load", "kexec_file_load",
    "init_module", "finit_module", "delete_module", "userfaultfd", "syslog", "acct", "swapon",
    "swapoff", "reboot", "quotactl", "open_by_handle_at", "name_to_handle_at",
)  # fmt: skip

SYSCALLS: dict[str, dict[str, int]] = {
    "x86_64": {
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "mount": 165,
        "umount2": 166, "pivot_root": 155, "chroot": 161, "unshare": 272, "setns": 308,
        "bpf": 321, "keyctl": 250, "add_key": 248, "request_key": 249, "perf_event_open": 298,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428,
        "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
        "mount_setattr": 442, "kexec_load": 246, "kexec_file_load": 320, "init_module": 175,
        "finit_module": 313, "delete_module": 176, "userfaultfd": 323, "syslog": 103, "acct": 163,
        "swapon": 167, "swapoff": 168, "reboot": 169, "quotactl": 179, "open_by_handle_at": 304,
        "name_to_handle_at": 303, "socket": 41, "socketpair": 53, "clone": 56, "clone3": 435,
    },
    "aarch64": {
        "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "mount": 40,
        "umount2": 39, "pivot_root": 41, "chroot": 51, "unshare": 97, "setns": 268, "bpf": 280,
        "keyctl": 219, "add_key": 217, "request_key": 218, "perf_event_open": 241,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428,
        "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
        "mount_setattr": 442, "kexec_load": 104, "kexec_file_load": 294, "init_module": 105,
        "finit_module": 273, "delete_module": 106, "userfaultfd": 282, "syslog": 116, "acct": 89,
        "swapon": 224, "swapoff": 225, "reboot": 142, "quotactl": 60, "open_by_handle_at": 265,
        "name_to_handle_at": 264, "socket": 198, "socketpair": 199, "clone": 220, "clone3": 435,
    },
}  # fmt: skip


class UnsupportedArchitecture(Exception):
    """No syscall table for this machine."""


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("<HBBI", code, jt, jf, k)


def _block(nr: int, body: list[bytes]) -> list[bytes]:
    """`if syscall == nr: body` (the body must return on every path)."""
    return [_insn(LD_W_ABS, OFFSET_NR), _insn(JEQ_K, nr, 0, len(body)), *body]


def _errno(code: int) -> bytes:
    return _insn(RET_K, RET_ERRNO | code)


def build_filter(machine: str | None = None) -> bytes:
    """The program: kill on a foreign ABI, EPERM for dangerous calls, only AF_UNIX sockets."""
    arch = machine or platform.machine()
    if arch not in SYSCALLS:
        raise UnsupportedArchitecture(
            f"no seccomp syscall table for {arch}; supported: {', '.join(SYSCALLS)}"
        )
    table = SYSCALLS[arch]
    program = [
        _insn(LD_W_ABS, OFFSET_ARCH),
        _insn(JEQ_K, AUDIT_ARCH[arch], 1, 0),
        _insn(RET_K, RET_KILL_PROCESS),
    ]
    if arch == "x86_64":
        program += [
            _insn(LD_W_ABS, OFFSET_NR),
            _insn(JGE_K, X32_SYSCALL_BIT, 0, 1),
            _errno(errno.EPERM),
        ]
    for name in DENIED:
        program += _block(table[name], [_errno(errno.EPERM)])
    only_unix = [
        _insn(LD_W_ABS, OFFSET_ARG0),
        _insn(JEQ_K, AF_UNIX, 0, 1),
        _insn(RET_K, RET_ALLOW),
        _errno(errno.EACCES),
    ]
    program += _block(table["socket"], only_unix)
    program += _block(table["socketpair"], only_unix)
    program += _block(
        table["clone"],
        [
            _insn(LD_W_ABS, OFFSET_ARG0),
            _insn(JSET_K, CLONE_NEW_NAMESPACES, 0, 1),
            _errno(errno.EPERM),
            _insn(RET_K, RET_ALLOW),
        ],
    )
    program += _block(table["clone3"], [_errno(errno.ENOSYS)])
    program.append(_insn(RET_K, RET_ALLOW))
    return b"".join(program)
