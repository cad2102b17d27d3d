"""Peak memory of a worker and of its parsing children under inflating outputs, and what a bounded
parse costs.

For each inflating file (tests/sandbox/bombs.py) a fresh worker-like process runs `sandbox.run`
and reports its resident size when idle, its peak while handling the file (VmHWM after a reset)
and the peak of every bounded child it forked. Then a valid predictions file is read both ways,
interleaved: in a bounded child (what the sandbox does) and the same work in-process, medians and
minimums of the wall time.

    python bench/output_bounds.py [--rows 20000] [--repeats 9]

Target: every worker grows by at most the budget (`MLCHALLENGE_SANDBOX_PARSE_MB`, 256 MB) over its
idle size; the bound (fork, limits, reply, reaping) adds to a 20,000-row file at most 10% of the
time a jailed run of the empty `python` model takes on the same features (measured alongside).
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
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sandbox.reader import Expected, read_predictions, warm_up  # noqa: E402
from sandbox.reader import _decode as decode  # noqa: E402
from sandbox.reader import _parse as parse  # noqa: E402
from sandbox.settings import get_settings  # noqa: E402
from tests.sandbox import bombs  # noqa: E402

MB = 1024 * 1024


def _features(folder: Path, rows: int) -> Path:
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(rows, 4)), columns=list("abcd"))
    frame.insert(0, "id", np.arange(rows))
    path = folder / "features.parquet"
    frame.to_parquet(path, index=False)
    os.chmod(path, 0o644)
    return path


def inflating(folder: Path, rows: int) -> list[dict[str, object]]:
    """The worker's and its children's peaks for each inflating predictions file."""
    features = _features(folder, rows)
    ids = np.arange(rows)
    files = {
        "parquet dictionary bomb": bombs.dictionary_bomb(folder / "dictionary.parquet", ids),
        "parquet compression bomb": bombs.compression_bomb(folder / "compression.parquet", ids),
        "bomb in an unread column": bombs.dictionary_bomb(
            folder / "unread.parquet", ids, column="x"
        ),
        "nested list column": bombs.nested_column(folder / "nested.parquet", ids),
        "CSV with a 200 MB line": bombs.huge_line_csv(folder / "line.csv", ids, line_mb=200),
    }
    cases = [
        {
            "name": name,
            "model": str(path),
            "format": "predictions",
            "features": str(features),
            "limits": {"output_mb": 512},
        }
        for name, path in files.items()
    ]
    spec = folder / "probe.json"
    spec.write_text(json.dumps(cases))
    done = subprocess.run(
        [sys.executable, "-m", "tests.sandbox.bombs", str(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    reports: list[dict[str, object]] = json.loads(done.stdout.strip().splitlines()[-1])
    for name, path in files.items():
        for report in reports:
            if report["name"] == name:
                report["file_kb"] = path.stat().st_size // 1024
    return reports


def jailed_times(folder: Path, features: Path, repeats: int) -> list[float]:
    """Wall times of `sandbox.run` on the empty python model (the smallest jailed run)."""
    import sandbox
    from sandbox import Limits, RunRequest, SubmissionFormat
    from sandbox.reference import empty_model

    work = folder / "work"
    work.mkdir(mode=0o711, exist_ok=True)
    request = RunRequest(
        model_path=empty_model(SubmissionFormat.PYTHON),
        format=SubmissionFormat.PYTHON,
        features_path=features,
        id_column="id",
        target="label",
        task="regression",
        limits=Limits(time_s=120),
    )
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        sandbox.run(request, work_dir=work)
        times.append(time.perf_counter() - started)
    return times


def parse_times(folder: Path, rows: int, repeats: int) -> tuple[list[float], list[float]]:
    """Wall times of a valid predictions file read in a bounded child and in-process."""
    features = _features(folder, rows)
    ids = pd.read_parquet(features)["id"].to_numpy()
    predictions = folder / "predictions.parquet"
    rng = np.random.default_rng(1)
    pd.DataFrame(
        {"id": ids, "label": rng.integers(0, 2, rows), "proba_0": 0.5, "proba_1": 0.5}
    ).to_parquet(predictions, index=False)
    expected = Expected("id", "label", "binary", [0, 1], ids, 64 * MB)
    settings = get_settings()
    warm_up()
    bounded, plain = [], []
    for index in range(repeats):
        for side in ("bounded", "plain") if index % 2 else ("plain", "bounded"):
            started = time.perf_counter()
            if side == "bounded":
                read_predictions(
                    predictions, expected, memory_mb=settings.parse_mb, time_s=settings.parse_s
                )
                bounded.append(time.perf_counter() - started)
            else:
                decode(parse(predictions, expected), expected)
                plain.append(time.perf_counter() - started)
    return bounded, plain


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    budget_kb = get_settings().parse_mb * 1024
    print(f"load average {os.getloadavg()[0]:.1f}; budget {budget_kb // 1024} MB")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.chmod(folder, 0o755)
        print(f"{'file':28} {'KB':>7} {'outcome':>15} {'idle MB':>8} {'grew MB':>8} child peak MB")
        for report in inflating(folder, args.rows):
            children = [int(c["peak_kb"]) // 1024 for c in report["children"]]  # type: ignore[attr-defined]
            grew = int(report["growth_kb"])  # type: ignore[call-overload]
            ok &= grew <= budget_kb
            print(
                f"{report['name']!s:28} {report['file_kb']!s:>7} {report['outcome']!s:>15} "
                f"{int(report['idle_kb']) // 1024:>8} {grew // 1024:>8} {children}"  # type: ignore[call-overload]
            )
        bounded, plain = parse_times(folder, args.rows, args.repeats)
        jailed = jailed_times(folder, folder / "features.parquet", 5)
    extra_ms = (statistics.median(bounded) - statistics.median(plain)) * 1000
    run_ms = statistics.median(jailed) * 1000
    print(
        f"valid {args.rows}-row file: bounded {statistics.median(bounded) * 1000:.1f} ms "
        f"(min {min(bounded) * 1000:.1f}), in-process {statistics.median(plain) * 1000:.1f} ms "
        f"(min {min(plain) * 1000:.1f}); the bound adds {extra_ms:.1f} ms, "
        f"{extra_ms / run_ms:.1%} of a jailed empty run ({run_ms:.0f} ms; target <= 10%)"
    )
    ok &= extra_ms <= 0.1 * run_ms
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
