"""`python -m sandbox check`: does the sandbox work on this machine, and if not, why not."""

from __future__ import annotations

import glob
import os
import platform
import sys
import tempfile
from pathlib import Path

from .backends import BACKENDS
from .contract import InfrastructureError, Limits, Outcome, RunRequest
from .formats import FORMATS
from .jail.protocol import SubmissionFormat
from .runs import run
from .runtime import resolve_runtime
from .settings import get_settings
from .slots import stray_processes


def _line(ok: bool, label: str, detail: str = "") -> str:
    return f"[{'ok' if ok else 'FAIL'}] {label}{': ' + detail if detail else ''}"


def _slot_lines() -> list[str]:
    settings = get_settings()
    if os.getuid() != 0:
        return [
            _line(
                True,
                "identity",
                f"the worker runs as uid {os.getuid()}; models run as that uid "
                "(run the worker as root to give each run its own slot uid)",
            )
        ]
    stray = stray_processes(settings.lock_dir, settings.uid_base, settings.slots)
    detail = f"{settings.slots} slot uids from {settings.uid_base}, locks in {settings.lock_dir}"
    if stray:
        owners = ", ".join(f"uid {uid}: pids {pids[:3]}" for uid, pids in list(stray.items())[:5])
        return [
            _line(
                False,
                "slot uids",
                f"{detail}; processes outside any run use them ({owners}); "
                "pick a free range with MLCHALLENGE_SANDBOX_UID_BASE",
            )
        ]
    return [_line(True, "slot uids", detail)]


def _runtime_line() -> str:
    settings = get_settings()
    uid = settings.uid_base if os.getuid() == 0 else os.getuid()
    gid = settings.uid_base if os.getuid() == 0 else os.getgid()
    try:
        runtime = resolve_runtime(settings, uid, gid)
    except InfrastructureError as exc:
        return _line(False, "runtime", str(exc))
    sites = ", ".join(str(p) for p in runtime.site_dirs)
    skipped = "".join(f"; skipped {why}" for why in runtime.skipped)
    return _line(True, "runtime", f"{runtime.interpreter} with packages from {sites}{skipped}")


def _trial(
    backend: str, fmt: SubmissionFormat = SubmissionFormat.SKLEARN, device: str = "cpu"
) -> str:
    spec = FORMATS[fmt]
    samples = spec.sample_path.parent
    request = RunRequest(
        model_path=spec.sample_path,
        format=spec.format,
        features_path=samples / "features.parquet",
        id_column="id",
        target="label",
        task="binary",
        classes=[0, 1],
        limits=Limits(time_s=120),
        device=device,
    )
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o711)
        result = run(request, backend=backend, work_dir=Path(tmp))
    ok = result.outcome is Outcome.OK
    detail = f"{result.outcome}; {result.message or 'KPIs ' + str(result.kpis)}"
    return _line(ok, f"sample {fmt} model on {device} in the {backend} backend", detail)


def _gpu_line(usable: bool) -> str:
    """A GPU is optional; where there is one, a TorchScript sample must run on it in the jail."""
    if not glob.glob("/dev/nvidia[0-9]*"):
        return _line(
            True, "gpu", "no NVIDIA device (/dev/nvidia*): GPU competitions run on the CPU here"
        )
    if not usable:
        return _line(False, "gpu", "a GPU is here, but the bwrap backend is not usable")
    return _trial("bwrap", SubmissionFormat.TORCHSCRIPT, "cuda")


def main() -> int:
    """Print the report; exit 0 when the default (bwrap) backend runs the sample model."""
    settings = get_settings()
    print(
        f"machine: {platform.machine()}, kernel {platform.release()}, "
        f"Python {sys.version.split()[0]}"
    )
    lines = _slot_lines()
    for name, backend in BACKENDS.items():
        why = backend.unavailable(settings)
        lines.append(_line(not why, f"backend {name}", why or "usable"))
    lines.append(_runtime_line())
    usable = not BACKENDS["bwrap"].unavailable(settings)
    if usable:
        lines.append(_trial("bwrap"))
    else:
        lines.append(
            _line(False, "code formats", "refused: install bubblewrap (apt-get install bubblewrap)")
        )
    lines.append(_gpu_line(usable))
    print("\n".join(lines))
    return 0 if all(not line.startswith("[FAIL]") for line in lines) else 1
