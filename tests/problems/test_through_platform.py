"""Every built-in problem through the platform: seeded as a competition, its baseline scored by
the real pipeline and sandbox, shown (unranked) on the board; and the `problems` CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

import challenge.db.models  # noqa: F401
from challenge.accounts import service as accounts
from challenge.cli.main import cli
from challenge.competitions import service as competitions
from challenge.config import Settings
from challenge.db.migrate import upgrade
from challenge.db.session import transaction
from challenge.problems import problem_ids
from challenge.submissions.models import Submission
from leaderboards.service import get_board
from mlfo.worker.execution import run_evaluation

SMALL = 600


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    home = tmp_path_factory.mktemp("problems") / "home"
    settings = Settings(home=home)
    settings.ensure_dirs()
    upgrade(settings.database_url)
    yield settings


@pytest.mark.parametrize("problem_id", problem_ids())
def test_baseline_scores_end_to_end(embedded: Settings, problem_id: str) -> None:
    with transaction(embedded.database_url) as session:
        admin, _ = accounts.ensure_admin(session)
        competition, _ = competitions.create_from_problem(
            session, settings=embedded, owner=admin, problem_id=problem_id, size=SMALL
        )
        baseline = session.scalar(
            select(Submission).where(
                Submission.competition_id == competition.id, Submission.is_baseline.is_(True)
            )
        )
        assert baseline is not None
        baseline_id = baseline.id
    assert run_evaluation(embedded, baseline_id, worker="test") == "finished"
    with transaction(embedded.database_url) as session:
        scored = session.get(Submission, baseline_id)
        assert scored is not None
        assert scored.status == "finished", (scored.failure_reason, scored.error, scored.logs)
        assert scored.public_score is not None and scored.private_score is not None
        assert set(scored.kpis) >= {"wall_time_s", "peak_memory_mb", "latency_ms_per_1k"}
        competition = competitions.get_or_raise(session, slug=problem_id)
        board = get_board(
            session, competition=competition, phase=competition.phases[0], board="public", user=None
        )
    assert [(r["rank"], r["is_baseline"]) for r in board.rows] == [(None, True)]


def test_problems_cli(tmp_path: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli, ["problems", "list"])
    assert listed.exit_code == 0
    assert [line.split()[0] for line in listed.output.splitlines()] == problem_ids()
    for problem_id in problem_ids():
        shown = runner.invoke(cli, ["problems", "show", problem_id])
        assert shown.exit_code == 0 and "mlchallenge submit" in shown.output
    out = tmp_path / "bundle"
    generated = runner.invoke(
        cli,
        [
            "problems",
            "generate",
            "radio-link-failure",
            "--seed",
            "3",
            "--size",
            "500",
            "--out",
            str(out),
        ],
    )
    assert generated.exit_code == 0, generated.output
    assert {
        "competition.yaml",
        "train.parquet",
        "test.parquet",
        "test_labels.parquet",
        "description.md",
    } <= {p.name for p in out.iterdir()}
    unknown = runner.invoke(cli, ["problems", "show", "nope"])
    assert unknown.exit_code != 0 and "network-delay" in unknown.output
