"""Measure the sandbox's own cost: a jailed run against the same runtime as a plain subprocess.

Both sides run the same in-jail runner with the same interpreter, packages, job folder and
model; the plain side skips the slot, setpriv, prlimit, bwrap, seccomp and output checks.
Runs are interleaved (alternating which side goes first); medians decide the targets, and the
minimums and the load average are printed too, because a busy machine blurs the medians.

    python bench/sandbox_overhead.py [--repeats 7] [--rows 10000]

Targets: scikit-learn on 10,000 rows within 1.15x; an empty model within +50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

import sandbox
from sandbox import Limits, Outcome, RunRequest, SubmissionFormat
from sandbox.backends import BOOTSTRAP, jail_env, threads_for
from sandbox.jail.protocol import PREDICTIONS_FILE, JobSpec
from sandbox.runtime import resolve_runtime
from sandbox.settings import get_settings
from sandbox.staging import model_file, stage

EMPTY_MODEL = "def predict(features):\n    return [0] * len(features)\n"
FEATURES = [f"f{i}" for i in range(20)]


@dataclass(frozen=True)
class Case:
    """One benchmark case and its target."""

    name: str
    request: RunRequest
    max_ratio: float | None = None
    max_extra_ms: float | None = None


def make_cases(folder: Path, rows: int) -> list[Case]:
    """A scikit-learn model on `rows` rows and an empty python model."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, len(FEATURES)))
    frame = pd.DataFrame(x, columns=FEATURES)
    frame.insert(0, "id", np.arange(rows))
    frame.to_parquet(folder / "features.parquet", index=False)
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    model = HistGradientBoostingClassifier(max_iter=50).fit(x, y)
    joblib.dump(model, folder / "model.joblib")
    (folder / "empty.py").write_text(EMPTY_MODEL)

    def request(model: str, fmt: SubmissionFormat) -> RunRequest:
        return RunRequest(
            model_path=folder / model,
            format=fmt,
            features_path=folder / "features.parquet",
            id_column="id",
            target="label",
            task="binary",
            classes=[0, 1],
            limits=Limits(time_s=120),
        )

    return [
        Case("sklearn", request("model.joblib", SubmissionFormat.SKLEARN), max_ratio=1.15),
        Case("empty", request("empty.py", SubmissionFormat.PYTHON), max_extra_ms=50.0),
    ]


def run_jailed(request: RunRequest, work: Path) -> float:
    """Seconds for `sandbox.run` end to end."""
    started = time.perf_counter()
    result = sandbox.run(request, work_dir=work)
    elapsed = time.perf_counter() - started
    if result.outcome is not Outcome.OK:
        raise SystemExit(f"jailed run failed: {result.outcome}: {result.message}\n{result.logs}")
    return elapsed


def run_plain(request: RunRequest, work: Path) -> float:
    """Seconds for the same staging, runner and interpreter as a plain subprocess."""
    settings = get_settings()
    started = time.perf_counter()
    runtime = resolve_runtime(settings, os.getuid(), os.getgid())
    run_dir = stage(request, work / f"plain-{uuid.uuid4().hex}", uid=os.getuid(), gid=os.getgid())
    threads = threads_for(request.limits)
    spec = JobSpec(
        format=str(request.format),
        model_path=str(model_file(request, run_dir)),
        features_path=str(run_dir.job / "features.parquet"),
        output_dir=str(run_dir.out),
        id_column=request.id_column,
        target=request.target,
        task=request.task,
        classes=request.classes,
        train_path=None,
        device="cpu",
        status_fd=-1,
        threads=threads,
    )
    (run_dir.job / "spec.json").write_text(spec.dumps())
    argv = [str(runtime.interpreter), "-I", "-S", "-B", "-u", "-c", BOOTSTRAP]
    argv += [str(run_dir.runner), str(run_dir.job / "spec.json")]
    argv += [str(p) for p in runtime.site_dirs]
    done = subprocess.run(
        argv,
        cwd=run_dir.model,
        env=jail_env(threads, str(run_dir.tmp)),
        capture_output=True,
        check=False,
    )
    pd.read_parquet(run_dir.out / PREDICTIONS_FILE)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"plain run failed: {done.stdout.decode()[-2000:]}")
    return elapsed


def main() -> int:
    """Run the cases, print medians and ratios, exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="mlc-bench-"))
    os.chmod(folder, 0o755)
    work = folder / "work"
    work.mkdir(mode=0o711)
    cases = make_cases(folder, args.rows)
    failed = False
    for case in cases:
        run_jailed(case.request, work)
        run_plain(case.request, work)
        jailed: list[float] = []
        plain: list[float] = []
        for index in range(args.repeats):
            if index % 2 == 0:
                jailed.append(run_jailed(case.request, work))
                plain.append(run_plain(case.request, work))
            else:
                plain.append(run_plain(case.request, work))
                jailed.append(run_jailed(case.request, work))
        jailed_s, plain_s = statistics.median(jailed), statistics.median(plain)
        row: dict[str, object] = {
            "case": case.name,
            "repeats": args.repeats,
            "jailed_median_s": round(jailed_s, 4),
            "plain_median_s": round(plain_s, 4),
            "ratio": round(jailed_s / plain_s, 3),
            "extra_ms": round((jailed_s - plain_s) * 1000, 1),
            "jailed_min_s": round(min(jailed), 4),
            "plain_min_s": round(min(plain), 4),
            "extra_ms_of_mins": round((min(jailed) - min(plain)) * 1000, 1),
            "load_average": round(os.getloadavg()[0], 2),
        }
        passed = True
        if case.max_ratio is not None:
            row["target"] = f"ratio <= {case.max_ratio}"
            passed = jailed_s / plain_s <= case.max_ratio
        if case.max_extra_ms is not None:
            row["target"] = f"extra_ms <= {case.max_extra_ms}"
            passed = (jailed_s - plain_s) * 1000 <= case.max_extra_ms
        row["pass"] = passed
        failed |= not passed
        print(json.dumps(row), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
