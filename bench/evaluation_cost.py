"""What one evaluation costs the platform (issue 17), per evaluation path, side by side.

    python bench/evaluation_cost.py [--paths cold,warm,fork] [--sequential 20] [--rows 1000000]
                                    [--features 8] [--large-runs 3] [--phases 10]

Every path starts its own `mlchallenge serve` (the embedded default: SQLite, SQLite broker, two
worker processes) with the path's environment, and measures:
- small: a scikit-learn model on a 1,000-row regression, submitted one after another: median and
  p95 from upload until the score is committed (status `finished`); core-seconds per evaluation
  of the worker processes and their jails (from /proc: utime+stime of the live processes plus
  cutime+cstime of the children they reaped, so every finished jail counts), taken once the
  evaluation's follow-up work (the diagnostics plot) is done too; and of the API process;
- large: a competition with `--rows` test rows and `--features` feature columns; the same model
  submitted `--large-runs` times (the first fills the worker's table caches): upload-to-score,
  worker and jail core-seconds, and the worker process's peak RSS growth during the evaluation
  (its high-water mark reset before the upload) against the test set's in-memory size;
- bootstrap: the primary metric's bootstrap interval alone on `--rows` rows, in this process.
`--phases N` adds where a worker's own CPU goes for the small model: N evaluations run in this
process under cProfile with a CPU clock, cumulative seconds per pipeline phase.

Paths: `cold` (a jail started per run, `MLCHALLENGE_SANDBOX_WARM=0`), `warm` (warm single-use
jails prepared while a worker idles) and `fork` (each worker process's fork server forks a confined
child per run, `MLCHALLENGE_SANDBOX_FORK_SERVER=1`). Results print as a table with one column per
path, then as JSON with the machine's load averages. The machine is shared: compare paths (or
commits) measured in the same run, and read medians.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import yaml
from sklearn.linear_model import LinearRegression

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.turnaround import percentile, setup, submit, tree_cpu_s, wait
from tests.e2e.server import LiveServer, cmdline, descendants, start_server
from tests.platform.helpers import regression_settings

PATHS: dict[str, dict[str, str]] = {
    "cold": {"MLCHALLENGE_SANDBOX_WARM": "0", "MLCHALLENGE_SANDBOX_FORK_SERVER": "0"},
    "warm": {"MLCHALLENGE_SANDBOX_WARM": "1", "MLCHALLENGE_SANDBOX_FORK_SERVER": "0"},
    "fork": {"MLCHALLENGE_SANDBOX_WARM": "1", "MLCHALLENGE_SANDBOX_FORK_SERVER": "1"},
}
"""Each evaluation path and the environment `mlchallenge serve` gets for it."""
PLOT_WAIT_S = 30.0
"""How long to wait for an evaluation's follow-up work (the plot) before taking the CPU reading."""


def worker_pids(server: LiveServer) -> tuple[int, list[int]]:
    """The `mlchallenge worker` process and its pool processes."""
    for pid in descendants(server.process.pid, depth=1):
        if " worker " in cmdline(pid):
            return pid, descendants(pid, depth=1)
    raise RuntimeError("serve has no worker process")


def api_pid(server: LiveServer) -> int:
    for pid in descendants(server.process.pid, depth=1):
        if " api " in cmdline(pid):
            return pid
    raise RuntimeError("serve has no api process")


def memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def reset_peak(pid: int) -> None:
    """Reset a process's peak RSS (VmHWM) to its current RSS."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


class PeakSampler(threading.Thread):
    """The largest RSS of some processes, read every few milliseconds (the kernel's VmHWM of
    another process is not always brought up to date before its memory is given back)."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.peak_kb = dict.fromkeys(pids, 0)
        self.page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.005):
            for pid in self.pids:
                with contextlib.suppress(OSError, ValueError, IndexError):
                    resident = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
                    self.peak_kb[pid] = max(self.peak_kb[pid], resident * self.page_kb)

    def stop(self) -> dict[int, int]:
        self.done.set()
        self.join()
        return {pid: max(kb, memory_kb(pid, "VmHWM")) for pid, kb in self.peak_kb.items()}


def plot_done(home: Path, submission_id: int) -> bool:
    """Whether the evaluation's diagnostics plot is drawn (or there will be none)."""
    runs = home / "storage" / "runs" / str(submission_id)
    attempts = sorted(runs.glob("attempt-*"))
    if not attempts:
        return False
    latest = attempts[-1]
    return (latest / "diagnostics.png").is_file() or not (latest / "plot_input.parquet").exists()


def settle(home: Path, submission_id: int) -> None:
    deadline = time.monotonic() + PLOT_WAIT_S
    while time.monotonic() < deadline and not plot_done(home, submission_id):
        time.sleep(0.05)


def evaluate(
    server: LiveServer, token: str, model: bytes, slug: str, *, timeout: float = 900
) -> dict[str, Any]:
    """Upload, wait for the score and the follow-up work; time and CPU of the worker tree."""
    worker, pool = worker_pids(server)
    api = api_pid(server)
    for pid in pool:
        reset_peak(pid)
    rss_before = {pid: memory_kb(pid, "VmRSS") for pid in pool}
    sampler = PeakSampler(pool)
    sampler.start()
    cpu_before, api_before = tree_cpu_s(worker), tree_cpu_s(api)
    started = time.perf_counter()
    submission_id = submit(server, token, model, slug=slug)
    status = wait(server, token, submission_id, timeout=timeout)
    scored = time.perf_counter() - started
    settle(server.home, submission_id)
    peaks = sampler.stop()
    growth = max(peaks[pid] - rss_before[pid] for pid in pool)
    return {
        "status": status,
        "upload_to_score_s": scored,
        "worker_cpu_s": tree_cpu_s(worker) - cpu_before,
        "api_cpu_s": tree_cpu_s(api) - api_before,
        "peak_rss_growth_mb": growth / 1024,
    }


def small_section(server: LiveServer, folder: Path, runs: int) -> dict[str, Any]:
    token, model = setup(server, folder)
    evaluate(server, token, model, "bench")  # warm-up: imports in the pool process
    results = [evaluate(server, token, model, "bench") for _ in range(runs)]
    return {
        "n": runs,
        "finished": sum(r["status"] == "finished" for r in results),
        "upload_to_score_median_s": _median(results, "upload_to_score_s"),
        "upload_to_score_p95_s": round(
            percentile([r["upload_to_score_s"] for r in results], 0.95), 3
        ),
        "worker_cpu_s_per_evaluation": _median(results, "worker_cpu_s"),
        "api_cpu_s_per_evaluation": _median(results, "api_cpu_s"),
    }


def write_large_bundle(folder: Path, rows: int, features: int) -> tuple[Path, float]:
    """A regression bundle with `rows` test rows; returns it and the test set's size in MB."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    weights = rng.normal(size=features)

    def frame(count: int, start: int) -> pd.DataFrame:
        x = rng.normal(size=(count, features))
        table = pd.DataFrame(x, columns=[f"x{i}" for i in range(features)])
        table.insert(0, "id", np.arange(start, start + count))
        table["y"] = x @ weights + rng.normal(scale=0.5, size=count)
        return table

    train, test = frame(20_000, 0), frame(rows, 10_000_000)
    train.to_parquet(folder / "train.parquet", index=False)
    test.drop(columns="y").to_parquet(folder / "test.parquet", index=False)
    test[["id", "y"]].to_parquet(folder / "test_labels.parquet", index=False)
    settings = regression_settings(slug="large")
    settings["limits"] = {"time_s": 900, "memory_mb": 8192}
    settings["phases"][0].update(max_per_day=1000, max_total=1000, max_pending=100)
    (folder / "competition.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    (folder / "description.md").write_text("# Large\nPredict y.\n", encoding="utf-8")
    size = test.drop(columns="y").memory_usage(index=False, deep=True).sum() / 2**20
    return folder, float(size)


def create_large(server: LiveServer, bundle: Path) -> None:
    """Create the competition straight in the server's database (no upload of a large zip)."""
    from challenge.accounts import service as accounts
    from challenge.competitions import service as competitions
    from challenge.config import Settings
    from challenge.db.session import transaction

    settings = Settings(home=server.home)
    with transaction(settings.database_url) as session:
        owner, _ = accounts.ensure_admin(session)
        competitions.create_from_bundle(
            session, settings=settings, owner=owner, bundle_dir=bundle, with_baseline=False
        )


def large_section(
    server: LiveServer, folder: Path, rows: int, features: int, runs: int
) -> dict[str, Any]:
    bundle, test_mb = write_large_bundle(folder / "large", rows, features)
    create_large(server, bundle)
    token = _participant_token(server)
    with server.client(token) as user:
        user.post("/api/v1/competitions/large/teams", json={"name": "Large"}).raise_for_status()
    train = pd.read_parquet(bundle / "train.parquet")
    columns = [c for c in train.columns if c.startswith("x")]
    buffer = io.BytesIO()
    joblib.dump(LinearRegression().fit(train[columns], train["y"]), buffer)
    results = [evaluate(server, token, buffer.getvalue(), "large") for _ in range(runs)]
    later = results[1:] or results
    return {
        "rows": rows,
        "test_set_mb": round(test_mb, 1),
        "finished": sum(r["status"] == "finished" for r in results),
        "first": {k: _round(v) for k, v in results[0].items()},
        "upload_to_score_median_s": _median(later, "upload_to_score_s"),
        "worker_cpu_s_per_evaluation": _median(later, "worker_cpu_s"),
        "peak_rss_growth_mb": _median(later, "peak_rss_growth_mb"),
        "peak_rss_growth_ratio": round(_median(later, "peak_rss_growth_mb") / test_mb, 2),
    }


def _participant_token(server: LiveServer) -> str:
    with server.client(server.admin_token) as admin:
        response = admin.post(
            "/api/v1/users",
            json={
                "username": "largeuser",
                "email": "largeuser@example.org",
                "password": "password123",
                "role": "participant",
            },
        )
        response.raise_for_status()
        return str(response.json()["token"])


def bootstrap_section(rows: int) -> dict[str, float]:
    """CPU seconds of the bootstrap interval alone on `rows` rows, per metric."""
    from challenge.scoring import bootstrap_interval, get_scorer

    rng = np.random.default_rng(1)
    y = rng.normal(size=rows)
    pred = y + rng.normal(size=rows)
    labels = rng.integers(0, 4, rows)
    guess = np.where(rng.random(rows) < 0.7, labels, rng.integers(0, 4, rows))
    proba = rng.dirichlet(np.ones(4), rows)
    cases: dict[str, Callable[[], Any]] = {
        "mae": lambda: bootstrap_interval(y, pred, get_scorer("mae")),
        "r2": lambda: bootstrap_interval(y, pred, get_scorer("r2")),
        "f1_macro": lambda: bootstrap_interval(
            labels, guess, get_scorer("f1_macro"), classes=[0, 1, 2, 3]
        ),
        "roc_auc_4_classes": lambda: bootstrap_interval(
            labels, proba, get_scorer("roc_auc"), classes=[0, 1, 2, 3]
        ),
    }
    out = {}
    for name, run in cases.items():
        started = time.process_time()
        run()
        out[name] = round(time.process_time() - started, 3)
    return out


PHASES = {
    "whole evaluation": ("mlfo/worker/execution.py", ("run_evaluation",)),
    "claim+plan": ("mlfo/worker/execution.py", ("claim", "plan")),
    "provenance": ("mlfo/provenance.py", ("provenance_of",)),
    "collect features": ("mlfo/pipeline.py", ("_collect",)),
    "sandbox (host side)": ("mlfo/model.py", ("sandbox_runner",)),
    "validate+score+bootstrap": ("mlfo/distributor.py", ("score_splits",)),
    "scorer sink (report, plot)": ("mlfo/sinks.py", ("scorer_sink",)),
    "mlflow sink": ("mlfo/sinks.py", ("mlflow_sink",)),
    "finish (+leaderboard)": ("mlfo/worker/execution.py", ("finish",)),
    "after commit: scoring-run tag": ("mlfo/worker/execution.py", ("_mark_scoring_run",)),
    "deferred plot task": ("mlfo/worker/plots.py", ("draw",)),
}


def phases_section(folder: Path, runs: int, path: str) -> dict[str, Any]:
    """Host CPU per phase of `runs` small evaluations, in this process (cProfile, CPU clock)."""
    import cProfile
    import pstats
    import resource

    from fastapi.testclient import TestClient

    from challenge.app import create_app
    from challenge.bootstrap import prepare
    from challenge.config import Settings
    from mlfo.worker.execution import run_evaluation
    from tests.platform.helpers import auth, create_user, write_regression_bundle, zip_folder

    settings = Settings(
        home=folder / "home", sandbox_warm=path != "cold", sandbox_fork_server=path == "fork"
    )
    prepared = prepare(settings, seed_problems=[])
    client = TestClient(create_app(settings))
    host = create_user(client, prepared.admin_token, "phasehost", "host")
    competition = regression_settings(slug="phases")
    competition["phases"][0].update(max_per_day=1000, max_total=1000, max_pending=1000)
    bundle = write_regression_bundle(folder / "bundle", n=1_000, settings=competition)
    client.post(
        "/api/v1/competitions", headers=auth(host), files={"bundle": ("b.zip", zip_folder(bundle))}
    ).raise_for_status()
    user = create_user(client, prepared.admin_token, "phaseuser")
    client.post(
        "/api/v1/competitions/phases/teams", json={"name": "Phases"}, headers=auth(user)
    ).raise_for_status()
    train = pd.read_csv(bundle / "train.csv")
    buffer = io.BytesIO()
    joblib.dump(LinearRegression().fit(train[["x1", "x2"]], train["y"]), buffer)

    def one() -> int:
        response = client.post(
            "/api/v1/competitions/phases/submissions",
            files={"file": ("model.joblib", buffer.getvalue())},
            data={"format": "sklearn"},
            headers=auth(user),
        )
        response.raise_for_status()
        return int(response.json()["id"])

    warm_up = one()
    run_evaluation(settings, warm_up, worker="bench")  # imports, caches
    _draw_deferred(settings, warm_up)
    profile = cProfile.Profile(time.process_time)
    host_cpu = jail_cpu = 0.0
    for _ in range(runs):
        submission_id = one()
        before, children = time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN)
        profile.enable()
        run_evaluation(settings, submission_id, worker="bench")
        _draw_deferred(settings, submission_id)
        profile.disable()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        host_cpu += time.process_time() - before
        jail_cpu += after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    from sandbox.forkserver import SERVERS
    from sandbox.warm import POOL

    POOL.close()
    SERVERS.close()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    phases = {}
    for label, (path, names) in PHASES.items():
        total = sum(
            cumulative
            for (file, _, name), (_, _, _, cumulative, _) in stats.items()
            if file.endswith(path) and name in names
        )
        phases[label] = round(total / runs * 1000, 1)
    return {
        "n": runs,
        "host_cpu_ms_per_evaluation": round(host_cpu / runs * 1000, 1),
        "jail_cpu_ms_per_evaluation": round(jail_cpu / runs * 1000, 1),
        "phase_cpu_ms": phases,
    }


def _draw_deferred(settings: Any, submission_id: int) -> None:
    """Draw a deferred plot here, as the worker's low-priority task would (no-op before it)."""
    try:
        from mlfo.provenance import sha256_of
        from mlfo.worker import plots
    except ImportError:
        return
    from challenge.db.session import transaction
    from challenge.submissions.models import Submission
    from mlfo.worker.execution import plan

    runs = settings.storage / "runs" / str(submission_id)
    attempt = sorted(runs.glob("attempt-*"))[-1].name
    with transaction(settings.database_url) as session:
        row = session.get(Submission, submission_id)
        run_id = row.mlflow_run_id if row is not None else None
        labels = plan(session, settings=settings, submission_id=submission_id).labels_path
    plots.draw(settings, submission_id, attempt, run_id, sha256_of(labels))


def _median(results: list[dict[str, Any]], key: str) -> float:
    return round(statistics.median(r[key] for r in results), 3)


def _round(value: Any) -> Any:
    return round(value, 3) if isinstance(value, float) else value


def measure_path(env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-cost-") as tmp:
        server = start_server(Path(tmp) / "home", concurrency=2, extra_env=env)
        try:
            out: dict[str, Any] = {"small": small_section(server, Path(tmp), args.sequential)}
            if args.rows:
                out["large"] = large_section(
                    server, Path(tmp), args.rows, args.features, args.large_runs
                )
        finally:
            server.stop()
    return out


def table(results: dict[str, dict[str, Any]]) -> str:
    """One row per figure, one column per path."""
    rows: dict[str, dict[str, Any]] = {}

    def flatten(prefix: str, value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                flatten(f"{prefix}.{key}" if prefix else key, item, path)
        else:
            rows.setdefault(prefix, {})[path] = value

    for path, figures in results.items():
        flatten("", figures, path)
    paths = list(results)
    width = max(len(name) for name in rows) + 2
    lines = [f"{'':{width}}" + "".join(f"{p:>14}" for p in paths)]
    for name, values in rows.items():
        lines.append(f"{name:{width}}" + "".join(f"{values.get(p, '-')!s:>14}" for p in paths))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--paths", default="cold,warm,fork", help="comma-separated: " + ", ".join(PATHS)
    )
    parser.add_argument("--sequential", type=int, default=20)
    parser.add_argument("--rows", type=int, default=1_000_000, help="0: no large section")
    parser.add_argument("--features", type=int, default=8)
    parser.add_argument("--large-runs", type=int, default=3)
    parser.add_argument("--phases", type=int, default=0, help="profiled evaluations (0: none)")
    args = parser.parse_args()
    load_before = os.getloadavg()
    results: dict[str, dict[str, Any]] = {}
    for path in args.paths.split(","):
        results[path] = measure_path(PATHS[path], args)
        if args.rows:
            results[path]["bootstrap_cpu_s"] = bootstrap_section(args.rows)
        if args.phases:
            with (
                tempfile.TemporaryDirectory(prefix="bench-phases-") as tmp,
                contextlib.redirect_stdout(sys.stderr),
            ):
                results[path]["phases"] = phases_section(Path(tmp), args.phases, path)
    summary = {
        "results": results,
        "machine": {
            "cpus": os.cpu_count(),
            "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in os.getloadavg()],
        },
    }
    print(table(results))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
