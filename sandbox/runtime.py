"""The Python runtime shown to the jail: an interpreter and packages the slot uid can read."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .contract import InfrastructureError
from .settings import SandboxSettings

SYSTEM_DIRS = (Path("/usr"), Path("/bin"), Path("/lib"), Path("/lib64"), Path("/sbin"))
PROBE = (
    "import json,sys,sysconfig;print(json.dumps({'version':list(sys.version_info[:2]),"
    "'prefixes':sorted({sys.prefix,sys.base_prefix,sys.exec_prefix,sys.base_exec_prefix}),"
    "'stdlib':sysconfig.get_paths()['stdlib']}))"
)


@dataclass(frozen=True)
class Runtime:
    """The interpreter, the folders to show read-only, and the site folders to add to sys.path."""

    interpreter: Path
    mounts: tuple[Path, ...]
    site_dirs: tuple[Path, ...]
    skipped: tuple[str, ...] = ()
    """Why earlier candidates were passed over."""


def accessible(path: Path, uid: int, gid: int, *, need: int = os.R_OK) -> str:
    """'' when `uid`/`gid` can reach and read `path`, else the first component that blocks it."""
    current = Path("/")
    parts = Path(os.path.abspath(path)).parts[1:]
    for index, part in enumerate(parts):
        current = current / part
        try:
            info = os.stat(current)
        except OSError as exc:
            return f"{current}: {exc.strerror}"
        last = index == len(parts) - 1
        wanted = need if last else os.X_OK
        if stat.S_ISDIR(info.st_mode) and last:
            wanted |= os.X_OK
        if info.st_uid == uid:
            bits = (info.st_mode >> 6) & 7
        elif info.st_gid == gid:
            bits = (info.st_mode >> 3) & 7
        else:
            bits = info.st_mode & 7
        if bits & wanted != wanted:
            return f"{current} (mode {stat.filemode(info.st_mode)}, owner uid {info.st_uid})"
    return ""


@lru_cache(maxsize=8)
def probe(interpreter: Path) -> tuple[tuple[int, int], tuple[Path, ...], Path]:
    """Ask an interpreter for its version, prefixes and stdlib folder."""
    try:
        out = subprocess.run(
            [str(interpreter), "-I", "-S", "-c", PROBE],
            capture_output=True,
            text=True,
            timeout=30,
            env={"PATH": "/usr/bin:/bin"},
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise InfrastructureError(
            f"cannot start the sandbox interpreter {interpreter}: {exc}"
        ) from exc
    data = json.loads(out)
    version = (int(data["version"][0]), int(data["version"][1]))
    return version, tuple(Path(p) for p in data["prefixes"]), Path(data["stdlib"])


@lru_cache(maxsize=1)
def default_site_dirs() -> tuple[Path, ...]:
    """The worker's own package folders (never the project's source folders)."""
    paths = sysconfig.get_paths()
    found: list[Path] = []
    for key in ("purelib", "platlib"):
        path = Path(paths[key])
        if path.is_dir() and path not in found:
            found.append(path)
    return tuple(found)


def _candidates(settings: SandboxSettings) -> list[Path]:
    if settings.python is not None:
        return [settings.python]
    major, minor = sys.version_info[:2]
    names = [Path(sys.executable)]
    for folder in ("/usr/bin", "/usr/local/bin"):
        names.append(Path(folder) / f"python{major}.{minor}")
    return names


def _outside_system(path: Path) -> bool:
    return not any(path == d or d in path.parents for d in SYSTEM_DIRS)


def _check_interpreter(interpreter: Path, uid: int, gid: int) -> tuple[Runtime | None, str]:
    real = Path(os.path.realpath(interpreter))
    for path in (interpreter, real):
        blocked = accessible(path, uid, gid, need=os.R_OK | os.X_OK)
        if blocked:
            return None, f"{interpreter}: uid {uid} cannot read {blocked}"
    version, prefixes, stdlib = probe(interpreter)
    if version != sys.version_info[:2]:
        return None, (
            f"{interpreter} is Python {version[0]}.{version[1]}, but the packages are built for "
            f"{sys.version_info[0]}.{sys.version_info[1]}"
        )
    blocked = accessible(stdlib, uid, gid)
    if blocked:
        return None, f"{interpreter}: uid {uid} cannot read its standard library: {blocked}"
    mounts = [p for p in prefixes if _outside_system(p) and p.is_dir()]
    for extra in (interpreter.parent, real.parent):
        if _outside_system(extra) and not any(m == extra or m in extra.parents for m in mounts):
            mounts.append(extra)
    return Runtime(interpreter, tuple(mounts), ()), ""


def resolve_runtime(settings: SandboxSettings, uid: int, gid: int) -> Runtime:
    """Pick an interpreter and package folders that `uid` can read, or say why none works."""
    site_dirs = tuple(settings.site_packages) or default_site_dirs()
    for site in site_dirs:
        blocked = accessible(site, uid, gid)
        if blocked:
            raise InfrastructureError(
                f"the sandbox uid {uid} cannot read the packages folder {site}: {blocked}; "
                "install the platform in a folder readable by other users "
                "(for example /opt/mlchallenge/.venv) or set MLCHALLENGE_SANDBOX_SITE_PACKAGES"
            )
    reasons = []
    for interpreter in _candidates(settings):
        if not interpreter.exists():
            reasons.append(f"{interpreter}: not found")
            continue
        runtime, why = _check_interpreter(interpreter, uid, gid)
        if runtime is not None:
            mounts = list(runtime.mounts)
            for site in site_dirs:
                if _outside_system(site) and not any(
                    m == site or m in site.parents for m in mounts
                ):
                    mounts.append(site)
            return Runtime(runtime.interpreter, tuple(mounts), site_dirs, tuple(reasons))
        reasons.append(why)
    raise InfrastructureError(
        "no Python interpreter readable by the sandbox uid: "
        + "; ".join(reasons)
        + f". Install one of the same version (apt-get install python{sys.version_info[0]}."
        f"{sys.version_info[1]}) or set MLCHALLENGE_SANDBOX_PYTHON to a readable interpreter"
    )
