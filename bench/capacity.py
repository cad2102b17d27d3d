"""Capacity of the production topology (issue 16, must 6): throughput with 1 and 2 workers, and
the queue wait under a burst of 200 submissions.

Starts the topology of `make topology` (tests/topology/stack.py: private PostgreSQL, Redis with
AOF, moto as the S3 store, an MLflow server on PostgreSQL with its artifact proxy, `mlchallenge
api` with 2 processes), then:
- 1 worker (`--concurrency 2`, its own home): a burst of `--burst` uploads; throughput is the
  count over the time from the first upload to the last finished evaluation;
- 2 workers: the same;
- 2 workers: a burst of `--big-burst` (200) uploads; the queue wait of each submission is its
  `started_at - created_at` (p50, p95, max), and the time to drain the burst.
Every submission is a predictions CSV of 300 rows (the platform's own cost per evaluation:
fetch from S3, validate, score with bootstrap intervals, log to MLflow, update the board; a model
run in the sandbox adds its own time, see bench/turnaround.py and bench/sandbox_overhead.py).
Prints a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.platform.helpers import (
    regression_settings,
    truth_predictions,
    write_regression_bundle,
    zip_folder,
)
from tests.topology.stack import Stack, client, production_stack, retrying


def setup(stack: Stack, folder: Path) -> tuple[str, bytes]:
    """A competition with generous limits and a participant in a team; a predictions file."""
    settings = regression_settings(slug="capacity")
    settings["phases"][0].update(max_per_day=10_000, max_total=10_000, max_pending=1_000)
    bundle = write_regression_bundle(folder / "bundle", n=1_000, settings=settings)
    admin = client(stack, stack.admin_token)
    created = admin.post(
        "/api/v1/competitions",
        files={"bundle": ("bundle.zip", zip_folder(bundle), "application/zip")},
    )
    assert created.status_code == 201, created.text
    user = admin.post(
        "/api/v1/users",
        json={
            "username": "bench",
            "email": "bench@example.org",
            "password": "a long enough password",
            "role": "participant",
        },
    )
    token = str(user.json()["token"])
    team = client(stack, token).post("/api/v1/competitions/capacity/teams", json={"name": "Bench"})
    assert team.status_code == 201, team.text
    return token, truth_predictions(bundle, noise=0.1)


def burst(stack: Stack, token: str, content: bytes, count: int) -> dict[str, Any]:
    """Upload `count` submissions from 4 client threads; wait until all are finished."""
    participant = client(stack, token)

    def upload(_: int) -> int:
        response = retrying(
            lambda: participant.post(
                "/api/v1/competitions/capacity/submissions",
                files={"file": ("predictions.csv", content)},
                data={"format": "predictions"},
            )
        )
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    began = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(upload, range(count)))
    uploaded = time.monotonic() - began
    pending = set(ids)
    rows: dict[int, dict[str, Any]] = {}
    while pending:
        for submission_id in list(pending):
            row = participant.get(f"/api/v1/submissions/{submission_id}").json()
            if row["status"] in ("finished", "failed", "cancelled"):
                rows[submission_id] = row
                pending.discard(submission_id)
        time.sleep(0.5)
    elapsed = time.monotonic() - began
    stamp = datetime.fromisoformat
    waits = sorted(
        (stamp(r["started_at"]) - stamp(r["created_at"])).total_seconds() for r in rows.values()
    )
    spans = [
        (stamp(r["finished_at"]) - stamp(r["started_at"])).total_seconds() for r in rows.values()
    ]
    return {
        "submissions": count,
        "finished": sum(r["status"] == "finished" for r in rows.values()),
        "upload_s": round(uploaded, 1),
        "drain_s": round(elapsed, 1),
        "per_minute": round(count / elapsed * 60, 1),
        "queue_wait_s": {
            "p50": round(statistics.median(waits), 1),
            "p95": round(waits[int(0.95 * (len(waits) - 1))], 1),
            "max": round(waits[-1], 1),
        },
        "evaluation_s_median": round(statistics.median(spans), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=60)
    parser.add_argument("--big-burst", type=int, default=200)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="mlc-capacity-") as tmp,
        production_stack(Path(tmp) / "stack", workers=0) as stack,
    ):
        token, content = setup(stack, Path(tmp))
        stack.start_worker("worker1")
        stack.wait_ready("worker1")
        one = burst(stack, token, content, args.burst)
        stack.start_worker("worker2")
        stack.wait_ready("worker2")
        two = burst(stack, token, content, args.burst)
        big = burst(stack, token, content, args.big_burst)
    print(
        json.dumps(
            {"one_worker": one, "two_workers": two, "burst_two_workers": big},
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
