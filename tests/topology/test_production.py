"""The production topology under faults: every submission finishes exactly once.

Separate processes on this machine (tests/topology/stack.py): PostgreSQL, Redis with AOF, moto as
the S3 store, an MLflow server on PostgreSQL with its artifact proxy, `mlchallenge api` with 2
processes and two workers with homes of their own. 40 submissions from four teams while a worker
is killed with -9 and restarted, Redis is killed and restarted and PostgreSQL is restarted.
Run with `make topology` (or `pytest -m topology`); `.ci/run` runs it after the other tests.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

from tests.platform.helpers import (
    regression_settings,
    truth_predictions,
    write_regression_bundle,
    zip_folder,
)
from tests.topology.stack import Stack, client, production_stack, retrying

pytestmark = [pytest.mark.slow, pytest.mark.topology]

TEAMS = 4
PER_TEAM = 10
TERMINAL = {"finished", "failed", "cancelled"}


def competition(tmp_path: Path) -> dict[str, Any]:
    """A small regression competition whose quota is exactly what each team submits."""
    phase = {
        "name": "main",
        "start": "2026-01-01T00:00:00Z",
        "max_per_day": PER_TEAM,
        "max_total": PER_TEAM,
        "max_pending": PER_TEAM,
    }
    return regression_settings(slug="topology", phases=[phase])


def enrol(stack: Stack, admin: httpx.Client, number: int) -> str:
    name = f"member{number}"
    made = admin.post(
        "/api/v1/users",
        json={
            "username": name,
            "email": f"{name}@example.org",
            "password": "a long enough password",
            "role": "participant",
        },
    )
    assert made.status_code == 201, made.text
    token = str(made.json()["token"])
    team = client(stack, token).post(
        "/api/v1/competitions/topology/teams", json={"name": f"Team {number}"}
    )
    assert team.status_code == 201, team.text
    return token


def submit(stack: Stack, token: str, content: bytes) -> int:
    participant = client(stack, token)
    response = retrying(
        lambda: participant.post(
            "/api/v1/competitions/topology/submissions",
            files={"file": ("predictions.csv", content)},
            data={"format": "predictions"},
        )
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def statuses(admin: httpx.Client, ids: list[int]) -> dict[int, dict[str, Any]]:
    found = {}
    for submission_id in ids:
        response = retrying(lambda i=submission_id: admin.get(f"/api/v1/submissions/{i}"))
        found[submission_id] = response.json()
    return found


def running_on(stack: Stack, engine: Engine, name: str, timeout: float = 60) -> int:
    """A submission that worker `name` is evaluating right now (its lease names a child of it)."""
    group = stack.processes[name].pid
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT id, worker FROM submissions WHERE status = 'running'")
            ).all()
        for submission_id, worker in rows:
            with suppress(ProcessLookupError, ValueError):
                if os.getpgid(int(str(worker).rsplit(":", 1)[1])) == group:
                    return int(submission_id)
        time.sleep(0.05)
    raise AssertionError(f"{name} never held a running submission")


def test_forty_submissions_through_faults_finish_exactly_once(tmp_path: Path) -> None:
    with production_stack(tmp_path / "stack") as stack:
        admin = client(stack, stack.admin_token)
        bundle = write_regression_bundle(tmp_path / "bundle", settings=competition(tmp_path))
        created = admin.post(
            "/api/v1/competitions",
            files={"bundle": ("bundle.zip", zip_folder(bundle), "application/zip")},
        )
        assert created.status_code == 201, created.text
        tokens = [enrol(stack, admin, number) for number in range(TEAMS)]
        predictions = [truth_predictions(bundle, noise=0.05 * (n + 1)) for n in range(TEAMS)]

        ids: list[int] = []

        def batch() -> list[int]:
            """Ten uploads, the teams taking turns (ten per team over the four batches)."""
            sent = []
            for _ in range(TEAMS * PER_TEAM // 4):
                team = len(ids) % TEAMS
                sent.append(submit(stack, tokens[team], predictions[team]))
                ids.append(sent[-1])
            return sent

        engine = create_engine(stack.pg.url("mlchallenge"), pool_pre_ping=True)
        batch()
        interrupted = running_on(stack, engine, "worker1")
        stack.kill("worker1", signal.SIGKILL)  # mid-run: its submission loses its lease
        stack.start_worker("worker1")
        batch()
        stack.kill("redis", signal.SIGKILL)  # tasks sent before survive in the AOF
        batch()  # uploads while the broker is down: the reaper sends them later
        stack.start_redis()
        stack.pg.restart()
        batch()

        deadline = time.monotonic() + 240
        final = statuses(admin, ids)
        while time.monotonic() < deadline and any(
            s["status"] not in TERMINAL for s in final.values()
        ):
            time.sleep(1)
            final = statuses(admin, ids)

        assert len(ids) == len(set(ids)) == TEAMS * PER_TEAM
        outcomes = Counter(s["status"] for s in final.values())
        assert outcomes == {"finished": TEAMS * PER_TEAM}, {
            i: (s["status"], s.get("failure_reason"), s.get("error"))
            for i, s in final.items()
            if s["status"] != "finished"
        }

        with engine.connect() as connection:
            attempts = connection.execute(
                text("SELECT attempts FROM submissions WHERE id = :id"), {"id": interrupted}
            ).scalar_one()
        engine.dispose()
        assert attempts >= 2  # the killed run was taken back and run again, then counted once

        # one counted MLflow run per submission, on the tracking server
        from mlflow.tracking import MlflowClient

        tracking = MlflowClient(stack.mlflow)
        experiments = [e.experiment_id for e in tracking.search_experiments()]
        counted = tracking.search_runs(
            experiments, "tags.`mlchallenge.scoring_run` = 'true'", max_results=1000
        )
        per_submission = Counter(r.data.tags["mlchallenge.submission_id"] for r in counted)
        assert per_submission == Counter({str(i): 1 for i in ids})
        assert {final[i]["mlflow_run_id"] for i in ids} == {r.info.run_id for r in counted}

        # one board row per team, and the faults used no quota: a further upload is refused
        # for the quota the team itself used, nothing else
        board = retrying(lambda: admin.get("/api/v1/competitions/topology/leaderboard")).json()
        assert len(board["rows"]) == TEAMS
        assert len({row["team"]["id"] for row in board["rows"]}) == TEAMS
        refused = client(stack, tokens[0]).post(
            "/api/v1/competitions/topology/submissions",
            files={"file": ("predictions.csv", predictions[0])},
            data={"format": "predictions"},
        )
        assert refused.status_code == 429 and "max" in refused.text
