"""bubblewrap arguments: namespaces, the read-only system view, /dev, /etc files, a trial jail."""

from __future__ import annotations

import glob
import os
import subprocess

from .contract import InfrastructureError
from .settings import SandboxSettings
from .slots import claim_slot
from .supervise import ensure_subreaper, reap_init

HOST_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
SETPRIV = "/usr/bin/setpriv"
CUDA_SYSFS = ("/sys/bus/pci", "/sys/devices", "/sys/module/nvidia")


def namespace_args() -> list[str]:
    """Namespaces, session and environment switches."""
    return [
        "--unshare-user",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--hostname",
        "sandbox",
        "--clearenv",
    ]


def system_dirs() -> list[str]:
    """/usr read-only, and /bin, /lib... as the host has them (links or folders)."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(name):
            args += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            args += ["--ro-bind", name, name]
    return args


def memfd(name: str, data: bytes) -> int:
    """An in-memory file holding `data`, positioned at its start."""
    fd = os.memfd_create(name, 0)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def etc_view(fds: dict[str, int]) -> list[str]:
    """Generated /etc files, copied by bwrap from in-memory files."""
    return [arg for name, fd in fds.items() for arg in ("--ro-bind-data", str(fd), f"/etc/{name}")]


def system_view() -> list[str]:
    """System folders (libraries), /proc and a minimal /dev."""
    args = system_dirs()
    for name in (
        "/etc/ld.so.cache",
        "/etc/ld.so.conf",
        "/etc/ld.so.conf.d",
        "/etc/alternatives",
        "/etc/localtime",
    ):
        if os.path.exists(name):
            args += ["--ro-bind", name, name]
    if os.path.isdir("/sys/devices/system/cpu"):
        args += ["--ro-bind", "/sys/devices/system/cpu", "/sys/devices/system/cpu"]
    return [*args, "--proc", "/proc", "--dev", "/dev"]


def device_args(device: str) -> list[str]:
    """GPU device nodes for `device="cuda"`, then /dev made read-only."""
    args: list[str] = []
    if device == "cuda":
        nodes = sorted(glob.glob("/dev/nvidia*"))
        if not nodes:
            raise InfrastructureError(
                "device 'cuda' was requested but this worker has no /dev/nvidia* device; "
                "route the job to a GPU worker"
            )
        for node in nodes:
            args += ["--dev-bind", node, node]
        # the driver finds its GPUs' PCI topology and NUMA nodes here (read-only)
        for folder in CUDA_SYSFS:
            if os.path.isdir(folder):
                args += ["--ro-bind", folder, folder]
    elif device != "cpu":
        raise InfrastructureError(f"unknown device '{device}'; use 'cpu' or 'cuda'")
    return [*args, "--remount-ro", "/dev"]


_TRIAL_PASSED: set[str] = set()


def trial_jail(settings: SandboxSettings) -> str:
    """Start an empty jail (in a claimed slot) to prove user namespaces work; '' when they do."""
    if settings.bwrap in _TRIAL_PASSED:
        return ""
    ensure_subreaper()
    if os.getuid() != 0:
        why = _trial(settings.bwrap, None)
    else:
        with claim_slot(
            settings.lock_dir, settings.uid_base, settings.slots, settings.slot_wait_s
        ) as uid:
            why = _trial(settings.bwrap, uid)
    if not why:
        _TRIAL_PASSED.add(settings.bwrap)
    return why


def _trial(bwrap: str, uid: int | None) -> str:
    prefix = [SETPRIV, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs"]
    info_r, info_w = os.pipe()
    argv = [*(prefix if uid is not None else []), bwrap, *namespace_args()]
    argv += [*system_dirs(), "--info-fd", str(info_w), "--", "/usr/bin/true"]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=30, env=HOST_ENV, pass_fds=(info_w,)
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bwrap cannot start: {exc}"
    finally:
        os.close(info_w)
        with os.fdopen(info_r, "rb") as info:
            reap_init(info.read())
    if done.returncode != 0:
        return (
            f"bwrap cannot create a jail here: {done.stderr.strip()[-300:]}; unprivileged user "
            "namespaces must be enabled (sysctl kernel.unprivileged_userns_clone=1, "
            "user.max_user_namespaces > 0)"
        )
    return ""
