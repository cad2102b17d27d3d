"""Devices: CUDA runs get the GPU, a CUDA-sized address space, and a platform fault when CUDA fails.

The tests marked `cuda` need an NVIDIA GPU and a CUDA build of torch; elsewhere they are skipped
and the rest check, on the CPU, every rule that does not need the GPU itself.
"""

from __future__ import annotations

import dataclasses
import glob
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import sandbox
from sandbox import Limits, Outcome, SubmissionFormat
from sandbox.backends import (
    ADDRESS_HEADROOM_MB,
    Identity,
    cuda_env,
    jail_env,
    limit_prefix,
    memory_limits,
)
from sandbox.bwrap import CUDA_SYSFS, device_args
from sandbox.contract import InfrastructureError
from sandbox.formats import FORMATS

from .conftest import request_for

MB = 1024 * 1024
CUDA = bool(glob.glob("/dev/nvidia[0-9]*"))
needs_cuda = pytest.mark.skipif(not CUDA, reason="needs an NVIDIA GPU (/dev/nvidia0)")
needs_no_cuda = pytest.mark.skipif(CUDA, reason="checks the behaviour of a machine with no GPU")

# What the CUDA driver does at start-up: reserve a huge, inaccessible range of address space.
RESERVE_THEN_ALLOCATE = """
import mmap, sys
try:  # prot 0 is PROT_NONE, flag 0x4000 MAP_NORESERVE
    reservation = mmap.mmap(-1, 64 << 30, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x4000,
                            prot=0)
except OSError:
    print("reservation refused", flush=True)
    sys.exit()
print("reserved 64 GiB", flush=True)
try:
    block = bytearray(int(sys.argv[1]) << 20)
except MemoryError:
    print("allocation refused", flush=True)
else:
    print("allocated", len(block) >> 20, "MiB", flush=True)
"""


def run_limited(device: str, allocate_mb: int) -> subprocess.CompletedProcess[str]:
    identity = Identity(uid=0, gid=0, drop=False)
    prefix = limit_prefix(identity, Limits(memory_mb=512), 30, 1, device)
    return subprocess.run(
        [*prefix, sys.executable, "-c", RESERVE_THEN_ALLOCATE, str(allocate_mb)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cuda_runs_limit_private_memory_not_address_space() -> None:
    data = f"--data={512 * MB}"
    assert memory_limits(Limits(memory_mb=512), "cpu") == [
        data,
        f"--as={(512 + ADDRESS_HEADROOM_MB) * MB}",
    ]
    assert memory_limits(Limits(memory_mb=512), "cuda") == [data]
    # the CPU limit refuses the reservation CUDA makes at start-up ...
    cpu = run_limited("cpu", 64)
    assert cpu.stdout.splitlines() == ["reservation refused"], cpu.stderr
    # ... the CUDA limit allows it, and still refuses more memory than the limit
    cuda = run_limited("cuda", 64)
    assert cuda.stdout.splitlines() == ["reserved 64 GiB", "allocated 64 MiB"], cuda.stderr
    greedy = run_limited("cuda", 1024)
    assert greedy.stdout.splitlines() == ["reserved 64 GiB", "allocation refused"], greedy.stderr


ALLOCATE = """
import sys
try:
    block = bytearray(int(sys.argv[1]) << 20)
except MemoryError:
    print("allocation refused", flush=True)
else:
    print("allocated", len(block) >> 20, "MiB", flush=True)
"""


@pytest.mark.parametrize(
    ("allocate_mb", "expected"), [(256, "allocated 256 MiB"), (1024, "allocation refused")]
)
def test_cpu_runs_bound_private_memory_by_memory_mb(allocate_mb: int, expected: str) -> None:
    """The headroom for mapped libraries never lets a CPU process allocate more than `memory_mb`."""
    prefix = limit_prefix(Identity(uid=0, gid=0, drop=False), Limits(memory_mb=512), 30, 1, "cpu")
    done = subprocess.run(
        [*prefix, sys.executable, "-c", ALLOCATE, str(allocate_mb)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout.splitlines() == [expected], done.stderr


def test_cuda_environment_passes_the_gpu_choice_and_only_visible_library_folders(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    monkeypatch.setenv("LD_LIBRARY_PATH", "/usr/local/nvidia/lib64:/opt/secret/lib:/home/x")
    env = cuda_env("/tmp")
    assert env == {
        "CUDA_CACHE_PATH": "/tmp/.nv",
        "CUDA_VISIBLE_DEVICES": "1",
        "LD_LIBRARY_PATH": "/usr/local/nvidia/lib64",
    }
    assert "CUDA_VISIBLE_DEVICES" not in jail_env(1, "/tmp", "cpu")
    assert jail_env(1, "/tmp", "cuda")["CUDA_VISIBLE_DEVICES"] == "1"


def test_unknown_devices_are_refused() -> None:
    with pytest.raises(InfrastructureError, match="unknown device 'tpu'"):
        device_args("tpu")
    assert device_args("cpu") == ["--remount-ro", "/dev"]


@needs_no_cuda
def test_a_cuda_run_on_a_worker_without_a_gpu_is_a_platform_fault(work_dir: Path) -> None:
    """bwrap refuses before starting; the process backend's runner finds no CUDA in torch.

    Either way the outcome is `infrastructure_error` (the team's quota is not used), never a
    failure of the model.
    """
    request = dataclasses.replace(
        request_for(
            FORMATS[SubmissionFormat.TORCHSCRIPT].sample_path, SubmissionFormat.TORCHSCRIPT
        ),
        device="cuda",
        limits=Limits(time_s=60),
    )
    with pytest.raises(InfrastructureError, match="no /dev/nvidia"):
        device_args("cuda")
    jailed = sandbox.run(request, work_dir=work_dir)
    assert jailed.outcome is Outcome.INFRASTRUCTURE_ERROR
    assert "no /dev/nvidia" in jailed.message
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        direct = sandbox.run(request, backend="process", work_dir=work_dir)
    assert direct.outcome is Outcome.INFRASTRUCTURE_ERROR, direct.message
    assert "could not use device 'cuda'" in direct.message
    assert "sees no CUDA device" in direct.message


@needs_cuda
def test_a_cuda_jail_sees_the_gpu_and_its_driver_files() -> None:
    args = device_args("cuda")
    node = args.index("/dev/nvidia0")
    assert args[node - 1 : node + 2] == ["--dev-bind", "/dev/nvidia0", "/dev/nvidia0"]
    assert all(folder in args for folder in CUDA_SYSFS if Path(folder).is_dir())


@needs_cuda
def test_torchscript_runs_on_the_gpu_in_the_jail(tmp_path: Path, work_dir: Path) -> None:
    """A model that refuses to run anywhere but on CUDA scores in the jail."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.fail("this machine has /dev/nvidia0 but its torch has no CUDA: install a CUDA build")

    class OnlyOnCuda(torch.nn.Module):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[name-defined]
            if not x.is_cuda:
                raise RuntimeError("expected a CUDA tensor")
            return self.linear(x)

    model = tmp_path / "model.pt"
    torch.jit.script(OnlyOnCuda()).save(str(model))
    request = dataclasses.replace(
        request_for(model, SubmissionFormat.TORCHSCRIPT), device="cuda", limits=Limits(time_s=120)
    )
    result = sandbox.run(request, work_dir=work_dir)
    assert result.outcome is Outcome.OK, result.message + result.logs
    assert result.predictions is not None and len(result.predictions) == 50
