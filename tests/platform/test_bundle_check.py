"""`mlchallenge bundle check PATH`: offline validation with the server's messages."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from challenge.cli.main import cli
from tests.platform.helpers import regression_settings, write_regression_bundle, zip_folder
from tests.platform.test_codabench_import import FIXTURE as CODABENCH
from tests.platform.test_evalai_import import FIXTURE as EVALAI


def check(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["bundle", "check", str(path)])
    return result.exit_code, result.output


def test_ours_codabench_and_evalai_bundles_pass(tmp_path: Path) -> None:
    ours = write_regression_bundle(tmp_path / "ours", settings=regression_settings())
    code, out = check(ours)
    assert code == 0 and out.startswith("ok: ours bundle"), out
    archive = tmp_path / "ours.zip"
    archive.write_bytes(zip_folder(ours))
    assert check(archive)[0] == 0
    code, out = check(EVALAI)
    assert code == 0 and "ok: EvalAI bundle" in out and "private_split.Accuracy" in out, out
    if CODABENCH.is_file():
        code, out = check(CODABENCH)
        assert code == 0 and "ok: Codabench v2 bundle" in out and "task3" in out, out


def test_a_bad_bundle_fails_with_the_servers_message(tmp_path: Path) -> None:
    folder = tmp_path / "v1"
    folder.mkdir()
    (folder / "competition.yaml").write_text(
        yaml.safe_dump({"title": "Old", "competition_docker_image": "codalab/legacy"})
    )
    code, out = check(folder)
    assert code == 1 and "v1" in out and "competition_docker_image" in out, out
    ours = write_regression_bundle(
        tmp_path / "ours", settings=regression_settings(metrics=["no-such-metric"])
    )
    code, out = check(ours)
    assert code == 1 and "competition.yaml" in out and "no-such-metric" in out, out
