"""Leaderboard reads under load (issue 5's target) on PostgreSQL.

Seeds 2,000 teams and 100,000 scored submissions in a fresh PostgreSQL database, builds the board
through the platform's own incremental path, starts `mlchallenge api` (uvicorn, 2 workers), then
loads `GET /api/v1/competitions/{slug}/leaderboard` from a second process on loopback for a fixed
time. Targets: p95 <= 50 ms and >= 300 requests/s. Prints a JSON summary.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from challenge.accounts.models import Role, User
from challenge.accounts.security import hash_password
from challenge.competitions import service as competitions
from challenge.config import Settings
from challenge.db.base import utcnow
from challenge.db.migrate import upgrade
from challenge.db.session import transaction
from challenge.submissions.models import Submission
from challenge.teams.models import Team, TeamMember
from leaderboards.entries import refresh_team
from tests.e2e.server import free_port
from tests.platform.helpers import write_regression_bundle

PG_ADMIN = os.environ.get(
    "MLCHALLENGE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def seed(settings: Settings, teams: int, per_team: int, folder: Path) -> str:
    """A competition with `teams` teams of `per_team` finished submissions; returns its slug."""
    bundle = write_regression_bundle(folder / "bundle")
    with transaction(settings.database_url) as session:
        host = User(
            username="host",
            email="host@example.org",
            password_hash=hash_password("x"),
            role=Role.HOST,
        )
        session.add(host)
        session.flush()
        competition, _ = competitions.create_from_bundle(
            session, settings=settings, owner=host, bundle_dir=bundle
        )
        competition_id, phase_id, host_id = competition.id, competition.phases[0].id, host.id
    rng = random.Random(0)
    now = utcnow()
    with transaction(settings.database_url) as session:
        users = (
            session.execute(
                insert(User).returning(User.id),
                [
                    {
                        "username": f"u{i}",
                        "email": f"u{i}@example.org",
                        "password_hash": "-",
                        "role": Role.PARTICIPANT,
                    }
                    for i in range(teams)
                ],
            )
            .scalars()
            .all()
        )
        team_ids = (
            session.execute(
                insert(Team).returning(Team.id),
                [
                    {
                        "competition_id": competition_id,
                        "name": f"team-{i:04d}",
                        "invite_code": uuid.uuid4().hex[:16],
                        "created_by_id": host_id,
                    }
                    for i in range(teams)
                ],
            )
            .scalars()
            .all()
        )
        session.execute(
            insert(TeamMember),
            [
                {"team_id": t, "user_id": u, "competition_id": competition_id}
                for t, u in zip(team_ids, users, strict=True)
            ],
        )
        rows = []
        for team_id, user_id in zip(team_ids, users, strict=True):
            skill = rng.uniform(0.1, 1.0)
            for k in range(per_team):
                public = skill + rng.gauss(0, 0.05)
                rows.append(
                    {
                        "competition_id": competition_id,
                        "phase_id": phase_id,
                        "team_id": team_id,
                        "user_id": user_id,
                        "format": "predictions",
                        "file_name": "p.csv",
                        "file_path": "/dev/null",
                        "file_sha256": "0" * 64,
                        "size_bytes": 1,
                        "status": "finished",
                        "public_score": public,
                        "private_score": public + rng.gauss(0, 0.02),
                        "scores": {"public": {"mae": public}},
                        "intervals": {"public": [public - 0.02, public + 0.02]},
                        "created_at": now - timedelta(minutes=per_team - k),
                        "finished_at": now,
                    }
                )
        for start in range(0, len(rows), 10_000):
            session.execute(insert(Submission), rows[start : start + 10_000])
    with transaction(settings.database_url) as session:
        competition = competitions.get_or_raise(session, slug="tiny")
        for team_id in session.scalars(select(Team.id)).all():
            refresh_team(session, competition=competition, phase_id=phase_id, team_id=team_id)
    return "tiny"


def load(port: int, path: str, seconds: float, threads: int) -> dict[str, float]:
    """Keep-alive GETs from `threads` threads for `seconds`; latency percentiles and rate."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine = []
        while time.monotonic() < stop:
            started = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                errors[0] += 1
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    began = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors[0],
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))] * 1000, 2),
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))] * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--teams", type=int, default=2_000)
    parser.add_argument("--per-team", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--loader", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--path", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loader:  # the second process
        print(json.dumps(load(args.port, args.path, args.seconds, args.threads)))
        return
    name = f"mlc_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    api = None
    try:
        with tempfile.TemporaryDirectory(prefix="bench-board-") as tmp:
            settings = Settings(home=Path(tmp) / "home", database_url=url)
            settings.ensure_dirs()
            upgrade(url)
            started = time.perf_counter()
            slug = seed(settings, args.teams, args.per_team, Path(tmp))
            seeded_s = time.perf_counter() - started
            port = free_port()
            env = {
                **os.environ,
                "MLCHALLENGE_HOME": str(settings.home),
                "MLCHALLENGE_DATABASE_URL": url,
            }
            api = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "challenge.cli.main",
                    "api",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--workers",
                    "2",
                    "--no-migrate",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            path = f"/api/v1/competitions/{slug}/leaderboard"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    connection.request("GET", path)
                    if connection.getresponse().status == 200:
                        break
                except OSError:
                    time.sleep(0.5)
            load(port, path, 3, 2)  # warm both workers
            loader = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--loader",
                    "--port",
                    str(port),
                    "--path",
                    path,
                    "--seconds",
                    str(args.seconds),
                    "--threads",
                    str(args.threads),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(loader.stdout)
    finally:
        if api is not None:
            api.terminate()
            api.wait(timeout=30)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(
        json.dumps(
            {
                "teams": args.teams,
                "submissions": args.teams * args.per_team,
                "seed_s": round(seeded_s, 1),
                "load": result,
                "targets": {"p95_ms": 50, "requests_per_s": 300},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
