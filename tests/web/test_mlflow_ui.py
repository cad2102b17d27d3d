"""The MLflow UI behind the platform's login: a real `mlflow server` on its private socket, the
platform's proxy in front. Anonymous callers and participants are refused; staff read their own
competitions only; edits are the admins'."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from challenge.app import create_app
from challenge.cli.mlflow_ui import mlflow_ui_child
from tests.arena import Arena
from tests.judging.helpers import judge_of, submit_and_score
from tests.platform.helpers import (
    auth,
    create_user,
    regression_settings,
    truth_predictions,
    write_regression_bundle,
    zip_folder,
)

pytestmark = pytest.mark.slow
API = "/mlflow/ajax-api/2.0/mlflow"
SAME_SITE = {"Origin": "http://testserver"}


@contextlib.contextmanager
def ui_server(settings: Any) -> Iterator[Path]:
    """`mlflow server` as `serve --mlflow-ui` starts it; yields its socket once it answers."""
    child, socket = mlflow_ui_child(settings)
    log = settings.home / "mlflow-ui.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(child.argv, stdout=sink, stderr=subprocess.STDOUT)
    try:
        probe = httpx.Client(
            transport=httpx.HTTPTransport(uds=str(socket)), base_url="http://localhost"
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()[-3000:]
            with contextlib.suppress(httpx.HTTPError):
                if probe.get("/mlflow/health").status_code == 200:
                    break
            time.sleep(0.5)
        else:
            pytest.fail(f"the MLflow UI did not start:\n{log.read_text()[-3000:]}")
        yield socket
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def _runs(arena: Arena, settings: Any, tmp_path: Path) -> dict[str, str]:
    """A scored (and MLflow-logged) submission in `tiny` and one in `other`: their run ids."""
    olga = create_user(arena.client, arena.admin, "olga", "host")
    bundle = write_regression_bundle(tmp_path / "other", settings=regression_settings("other"))
    created = arena.client.post(
        "/api/v1/competitions",
        headers=auth(olga),
        files={"bundle": ("b.zip", zip_folder(bundle), "application/zip")},
    )
    assert created.status_code == 201, created.text
    bob = create_user(arena.client, arena.admin, "bob")
    team = arena.client.post(
        "/api/v1/competitions/other/teams", json={"name": "Beta"}, headers=auth(bob)
    )
    assert team.status_code == 201
    mine = submit_and_score(
        arena, settings, truth_predictions(arena.bundle, 0.1), arena.participant
    )
    other_arena = Arena(arena.client, arena.admin, olga, bob, team.json(), bundle, "other")
    theirs = submit_and_score(other_arena, settings, truth_predictions(bundle, 0.1), bob)
    runs = {}
    for slug, submission in (("tiny", mine), ("other", theirs)):
        detail = arena.client.get(f"/api/v1/submissions/{submission}", headers=auth(arena.admin))
        runs[slug] = detail.json()["mlflow_run_id"]
        assert runs[slug], detail.text
    return runs


def test_the_mlflow_ui_is_for_staff_and_scoped_to_their_competitions(
    arena: Arena, settings: Any, tmp_path: Path
) -> None:
    runs = _runs(arena, settings, tmp_path)
    judge = judge_of(arena)
    with ui_server(settings) as socket:
        assert oct(socket.parent.stat().st_mode & 0o777) == "0o700"
        proxied = settings.model_copy(update={"mlflow_ui_upstream": f"unix:{socket}"})
        app = create_app(proxied)
        anonymous, alice = TestClient(app), TestClient(app, headers=auth(arena.participant))
        judy, admin = (
            TestClient(app, headers=auth(judge)),
            TestClient(app, headers=auth(arena.admin)),
        )

        page = anonymous.get("/mlflow/", headers={"Accept": "text/html"}, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        assert anonymous.get(f"{API}/experiments/search").status_code == 401
        for path in ("/mlflow/", f"{API}/experiments/search", f"{API}/runs/get"):
            refused = alice.get(path, params={"run_id": runs["tiny"]})
            assert refused.status_code == 403 and "hosts and judges" in refused.text

        assert "<!doctype html>" in judy.get("/mlflow/").text.lower()
        names = [
            e["name"]
            for e in judy.get(f"{API}/experiments/search", params={"max_results": 100}).json()[
                "experiments"
            ]
        ]
        assert names == ["competition/tiny"]
        everything = admin.get(f"{API}/experiments/search", params={"max_results": 100}).json()
        ids = {e["name"]: e["experiment_id"] for e in everything["experiments"]}
        assert {"competition/tiny", "competition/other"} <= set(ids)

        def search(client: TestClient, slug: str) -> httpx.Response:
            body = {"experiment_ids": [ids[f"competition/{slug}"]]}
            return client.post(f"{API}/runs/search", json=body, headers=SAME_SITE)

        found = search(judy, "tiny")
        assert (
            found.status_code == 200 and found.json()["runs"][0]["info"]["run_id"] == runs["tiny"]
        )
        metrics = {m["key"] for m in found.json()["runs"][0]["data"]["metrics"]}
        assert "private_mae" in metrics  # staff see private figures
        assert search(judy, "other").status_code == 403
        assert judy.get(f"{API}/runs/get", params={"run_id": runs["tiny"]}).status_code == 200
        assert judy.get(f"{API}/runs/get", params={"run_id": runs["other"]}).status_code == 403
        plot = {"path": "diagnostics_private.png"}
        artifact = judy.get("/mlflow/get-artifact", params={**plot, "run_uuid": runs["tiny"]})
        assert artifact.status_code == 200 and artifact.content.startswith(b"\x89PNG")
        elsewhere = judy.get("/mlflow/get-artifact", params={**plot, "run_uuid": runs["other"]})
        assert elsewhere.status_code == 403

        query = (
            "query($id: String) { mlflowGetRun(input: {runId: $id}) { run { info { runId } } } }"
        )
        for run, status in ((runs["tiny"], 200), (runs["other"], 403)):
            asked = judy.post(
                "/mlflow/graphql",
                json={"query": query, "variables": {"id": run}},
                headers=SAME_SITE,
            )
            assert asked.status_code == status, asked.text
        mutation = judy.post(
            "/mlflow/graphql",
            json={"query": 'mutation { testMutation(inputString: "x") { output } }'},
            headers=SAME_SITE,
        )
        assert mutation.status_code == 403

        deleted = judy.post(f"{API}/runs/delete", json={"run_id": runs["tiny"]}, headers=SAME_SITE)
        assert deleted.status_code == 403 and "read-only" in deleted.text
        no_origin = admin.post(f"{API}/runs/set-tag", json={"run_id": runs["tiny"], "key": "k"})
        assert no_origin.status_code == 403  # a cookie or token alone does not make a write
        tagged = admin.post(
            f"{API}/runs/set-tag",
            json={"run_id": runs["tiny"], "key": "reviewed", "value": "yes"},
            headers=SAME_SITE,
        )
        assert tagged.status_code == 200, tagged.text
        still = judy.get(f"{API}/runs/get", params={"run_id": runs["tiny"]}).json()
        assert still["run"]["info"]["lifecycle_stage"] == "active"
        assert {"key": "reviewed", "value": "yes"} in still["run"]["data"]["tags"]


def test_without_an_upstream_the_proxy_says_how_to_start_it(
    client: TestClient, arena: Arena
) -> None:
    response = client.get("/mlflow/", headers=auth(arena.admin))
    assert response.status_code == 404 and "--mlflow-ui" in response.json()["message"]
