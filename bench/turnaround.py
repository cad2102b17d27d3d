"""Turnaround and throughput of the embedded default (issue 4's targets).

Starts `mlchallenge serve` (SQLite, SQLite broker, `--concurrency 2`), creates a competition from a
small host bundle, then:
- turnaround: 50 small scikit-learn models submitted one after another; time from the upload
  until the
  submission is finished, which is when its leaderboard entry is committed (same transaction);
- throughput: 200 submissions uploaded at once, scored by the two worker processes; also the
  CPU seconds the whole server tree (API, workers, jails) spent per submission meanwhile, a
  figure that other load on the machine does not change much.
Targets: median turnaround <= 3 s, >= 60 submissions a minute (issue 17: <= 0.5 s and >= 200 a
minute). `--paths cold,warm,fork` measures each evaluation path with its own server in the same
run (cold: a jail started per run, `MLCHALLENGE_SANDBOX_WARM=0`; warm: warm single-use jails; fork:
each worker process's fork server, `MLCHALLENGE_SANDBOX_FORK_SERVER=1`) and prints one JSON
summary with the machine's load averages.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import joblib
import pandas as pd
from sklearn.linear_model import LinearRegression

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.server import LiveServer, start_server
from tests.platform.helpers import (
    regression_settings,
    write_regression_bundle,
    zip_folder,
)


def setup(server: LiveServer, folder: Path) -> tuple[str, bytes]:
    """A host, a competition with generous limits, a participant in a team; a model file."""
    settings = regression_settings(slug="bench")
    settings["phases"][0].update(max_per_day=10_000, max_total=10_000, max_pending=1_000)
    bundle = write_regression_bundle(folder / "bundle", n=1_000, settings=settings)
    with server.client(server.admin_token) as admin:
        tokens = {}
        for name, role in (("benchhost", "host"), ("benchuser", "participant")):
            response = admin.post(
                "/api/v1/users",
                json={
                    "username": name,
                    "email": f"{name}@example.org",
                    "password": "password123",
                    "role": role,
                },
            )
            response.raise_for_status()
            tokens[role] = response.json()["token"]
    with server.client(tokens["host"]) as host:
        host.post(
            "/api/v1/competitions", files={"bundle": ("b.zip", zip_folder(bundle))}
        ).raise_for_status()
    with server.client(tokens["participant"]) as user:
        user.post("/api/v1/competitions/bench/teams", json={"name": "Bench"}).raise_for_status()
    train = pd.read_csv(bundle / "train.csv")
    model = LinearRegression().fit(train[["x1", "x2"]], train["y"])
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return tokens["participant"], buffer.getvalue()


def submit(server: LiveServer, token: str, model: bytes, slug: str = "bench") -> int:
    with server.client(token) as client:
        response = client.post(
            f"/api/v1/competitions/{slug}/submissions",
            files={"file": ("model.joblib", model)},
            data={"format": "sklearn"},
        )
        response.raise_for_status()
        return int(response.json()["id"])


def wait(server: LiveServer, token: str, submission_id: int, timeout: float = 600) -> str:
    deadline = time.monotonic() + timeout
    with server.client(token) as client:
        while time.monotonic() < deadline:
            status = client.get(f"/api/v1/submissions/{submission_id}").json()["status"]
            if status in ("finished", "failed", "cancelled"):
                return str(status)
            time.sleep(0.05)
    raise TimeoutError(f"submission {submission_id} not done after {timeout} s")


def tree_cpu_s(root: int) -> float:
    """CPU seconds used by a process tree: live processes plus the children they reaped."""
    children: dict[int, list[int]] = {}
    ticks: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        ticks[pid] = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += ticks.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


PATHS: dict[str, dict[str, str]] = {
    "cold": {"MLCHALLENGE_SANDBOX_WARM": "0", "MLCHALLENGE_SANDBOX_FORK_SERVER": "0"},
    "warm": {"MLCHALLENGE_SANDBOX_WARM": "1", "MLCHALLENGE_SANDBOX_FORK_SERVER": "0"},
    "fork": {"MLCHALLENGE_SANDBOX_WARM": "1", "MLCHALLENGE_SANDBOX_FORK_SERVER": "1"},
}
"""Each evaluation path and the environment `mlchallenge serve` gets for it."""


def measure(env: dict[str, str], sequential: int, burst_size: int) -> dict[str, object]:
    """Turnaround and throughput of one server started with `env`."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        server = start_server(Path(tmp) / "home", concurrency=2, extra_env=env)
        try:
            token, model = setup(server, Path(tmp))
            warm = submit(server, token, model)
            wait(server, token, warm)
            turnaround, statuses = [], []
            for _ in range(sequential):
                started = time.perf_counter()
                submission_id = submit(server, token, model)
                statuses.append(wait(server, token, submission_id))
                turnaround.append(time.perf_counter() - started)
            started, cpu_before = time.perf_counter(), tree_cpu_s(server.process.pid)
            with ThreadPoolExecutor(max_workers=8) as pool:
                ids = list(pool.map(lambda _: submit(server, token, model), range(burst_size)))
            uploaded = time.perf_counter() - started
            burst = [wait(server, token, i) for i in ids]
            elapsed = time.perf_counter() - started
            burst_cpu = tree_cpu_s(server.process.pid) - cpu_before
        finally:
            server.stop()
    return {
        "turnaround_s": {
            "n": len(turnaround),
            "median": round(statistics.median(turnaround), 3),
            "p95": round(percentile(turnaround, 0.95), 3),
            "min": round(min(turnaround), 3),
            "max": round(max(turnaround), 3),
        },
        "throughput": {
            "n": len(burst),
            "elapsed_s": round(elapsed, 1),
            "uploads_accepted_s": round(uploaded, 1),
            "per_minute": round(len(burst) / elapsed * 60, 1),
            "server_cpu_s_per_submission": round(burst_cpu / max(len(burst), 1), 3),
            "finished": burst.count("finished"),
        },
        "sequential_finished": statuses.count("finished"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sequential", type=int, default=50)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument(
        "--paths", default="cold,warm,fork", help="comma-separated: " + ", ".join(PATHS)
    )
    args = parser.parse_args()
    load_before = os.getloadavg()
    results = {
        path: measure(PATHS[path], args.sequential, args.burst) for path in args.paths.split(",")
    }
    summary = {
        "paths": results,
        "targets": {
            "median_turnaround_s": {"cold": 3.0, "warm": 0.5, "fork": 0.5},
            "per_minute": {"cold": 60, "warm": 200, "fork": 200},
        },
        "machine": {
            "cpus": os.cpu_count(),
            "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in os.getloadavg()],
        },
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
