"""Measure what the seccomp filter costs a jail start: today's `sandbox.seccomp` against another
revision of it (by default the hand-assembled BPF it replaced), side by side in one run.

Each start gets the filter as `BwrapBackend.launch` does (`build_filter()`: the baseline assembled
it every time, libseccomp's is built once per process), puts it in a memfd and starts an empty
jail (`bwrap ... --seccomp FD -- /usr/bin/true`, through setpriv into a slot uid when run as
root). The two sides alternate which goes first; medians decide, minimums are printed too.

    python bench/seccomp_start.py [--repeats 41] [--baseline-rev 11137d6]

Target: the current filter adds at most 5 ms to the median jail start.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from sandbox import seccomp
from sandbox.bwrap import HOST_ENV, SETPRIV, memfd, namespace_args, system_dirs
from sandbox.settings import get_settings
from sandbox.slots import claim_slot

ROOT = Path(__file__).resolve().parent.parent
TARGET_EXTRA_MS = 5.0


def module_at(rev: str) -> ModuleType:
    """`sandbox/seccomp.py` as it was at a git revision, loaded as a module of its own."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:sandbox/seccomp.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = Path(tempfile.mkdtemp(prefix="seccomp-bench-")) / "baseline_seccomp.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("baseline_seccomp", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def identity() -> Iterator[int | None]:
    """A slot uid when run as root (as the sandbox does), else none."""
    if os.getuid() != 0:
        yield None
        return
    settings = get_settings()
    with claim_slot(settings.lock_dir, settings.uid_base, settings.slots, 30) as uid:
        yield uid


def start_jail(build: Callable[[], bytes], uid: int | None) -> float:
    """Build the filter, start an empty jail with it; wall seconds of the whole start."""
    started = time.perf_counter()
    fd = memfd("mlchallenge-seccomp", build())
    prefix = [SETPRIV, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs"]
    argv = [*(prefix if uid is not None else []), get_settings().bwrap, *namespace_args()]
    argv += [*system_dirs(), "--seccomp", str(fd), "--", "/usr/bin/true"]
    try:
        subprocess.run(argv, check=True, env=HOST_ENV, pass_fds=(fd,), capture_output=True)
    finally:
        os.close(fd)
    return time.perf_counter() - started


def build_seconds(build: Callable[[], bytes], repeats: int) -> float:
    """The median time of building the filter alone."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        build()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print medians; exit 1 when the target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=41)
    parser.add_argument("--baseline-rev", default="11137d6")
    args = parser.parse_args(argv)
    baseline = module_at(args.baseline_rev)
    sides: dict[str, Callable[[], bytes]] = {
        f"baseline ({args.baseline_rev})": baseline.build_filter,
        "current": seccomp.build_filter,
    }
    names = list(sides)
    times: dict[str, list[float]] = {name: [] for name in names}
    with identity() as uid:
        for name in names:  # warm up: page cache, the first memfd, libseccomp's tables
            start_jail(sides[name], uid)
        for index in range(args.repeats):
            order = names if index % 2 == 0 else names[::-1]
            for name in order:
                times[name].append(start_jail(sides[name], uid))
    print(f"load average: {os.getloadavg()[0]:.2f}; {args.repeats} starts per side")
    compiles: dict[str, Callable[[], bytes]] = {
        names[0]: baseline.build_filter,
        names[1]: lambda: seccomp.compile_filter(platform.machine()),
    }
    for name in names:
        build_ms = build_seconds(compiles[name], 200) * 1000
        median = statistics.median(times[name]) * 1000
        print(
            f"{name:>22}: uncached build {build_ms:6.3f} ms, jail start median {median:7.2f} ms, "
            f"min {min(times[name]) * 1000:7.2f} ms"
        )
    base, current = (statistics.median(times[n]) * 1000 for n in names)
    extra = current - base
    print(f"current - baseline: {extra:+.2f} ms (ratio {current / base:.3f}); target <= +5 ms")
    return 0 if extra <= TARGET_EXTRA_MS else 1


if __name__ == "__main__":
    sys.exit(main())
