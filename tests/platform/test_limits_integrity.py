"""Limits that cannot be dodged, and predictions of a wrong shape refused before queueing."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient

from tests.arena import Arena, make_arena
from tests.platform.helpers import auth, create_user, regression_settings, truth_predictions


def limited(
    client: TestClient, settings: Any, tmp_path: Path, **limits: int
) -> tuple[Arena, str, dict[str, Any]]:
    """An arena with these phase limits and a second participant bob with a team of his own."""
    competition = regression_settings()
    competition["phases"][0].update(limits)
    arena = make_arena(client, settings, tmp_path, competition)
    bob = create_user(client, arena.admin, "bob")
    beta = client.post(
        f"/api/v1/competitions/{arena.slug}/teams", json={"name": "Beta"}, headers=auth(bob)
    )
    assert beta.status_code == 201, beta.text
    return arena, bob, beta.json()


def leave(arena: Arena, team_id: int, token: str) -> None:
    left = arena.client.post(f"/api/v1/teams/{team_id}/leave", headers=auth(token))
    assert left.status_code == 204, left.text


def found(arena: Arena, name: str, token: str) -> dict[str, Any]:
    created = arena.client.post(
        f"/api/v1/competitions/{arena.slug}/teams", json={"name": name}, headers=auth(token)
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


def test_leaving_and_founding_a_new_team_does_not_reset_the_total(
    client: TestClient, settings: Any, tmp_path: Path
) -> None:
    arena, _, _ = limited(client, settings, tmp_path, max_per_day=5, max_total=1, max_pending=5)
    content = truth_predictions(arena.bundle)
    assert arena.submit(content).status_code == 201
    leave(arena, arena.team["id"], arena.participant)
    found(arena, "Gamma", arena.participant)
    again = arena.submit(content)
    assert again.status_code == 429, again.text
    assert again.json()["detail"]["limit"] == "max_total"
    assert "other teams" in again.json()["message"]


def test_a_submitter_brings_their_count_to_the_team_they_join(
    client: TestClient, settings: Any, tmp_path: Path
) -> None:
    arena, bob, beta = limited(
        client, settings, tmp_path, max_per_day=2, max_total=10, max_pending=5
    )
    content = truth_predictions(arena.bundle)
    assert [arena.submit(content).status_code for _ in range(2)] == [201, 201]
    leave(arena, arena.team["id"], arena.participant)
    joined = client.post(
        f"/api/v1/teams/{beta['id']}/join",
        json={"invite_code": beta["invite_code"]},
        headers=auth(arena.participant),
    )
    assert joined.status_code == 200
    # Beta made no submission, but alice used today's two: neither of them can submit today
    for token in (bob, arena.participant):
        refused = arena.submit(content, token=token)
        assert refused.status_code == 429 and refused.json()["detail"]["limit"] == "max_per_day"


def test_ten_parallel_uploads_of_two_members_with_an_inherited_count(
    client: TestClient, settings: Any, tmp_path: Path
) -> None:
    arena, bob, _ = limited(client, settings, tmp_path, max_per_day=20, max_total=5, max_pending=20)
    content = truth_predictions(arena.bundle)
    assert [arena.submit(content).status_code for _ in range(2)] == [201, 201]
    leave(arena, arena.team["id"], arena.participant)
    delta = found(arena, "Delta", arena.participant)
    carol = create_user(client, arena.admin, "carol")
    joined = client.post(
        f"/api/v1/teams/{delta['id']}/join",
        json={"invite_code": delta["invite_code"]},
        headers=auth(carol),
    )
    assert joined.status_code == 200
    tokens = [arena.participant, carol] * 5
    with ThreadPoolExecutor(max_workers=10) as pool:
        codes = list(pool.map(lambda t: arena.submit(content, token=t).status_code, tokens))
    assert sorted(codes) == [201] * 3 + [429] * 7  # 5 in all, 2 of them used before in Alpha
    assert arena.submit(content, token=bob).status_code == 201  # other teams are not affected


def _frame_bytes(frame: pd.DataFrame, suffix: str) -> bytes:
    buffer = io.BytesIO()
    if suffix == ".csv":
        buffer.write(frame.to_csv(index=False).encode())
    else:
        frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _truth(arena: Arena) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(truth_predictions(arena.bundle)))


SHAPE_PROBLEMS = {
    "a missing row": (lambda f: f.iloc[1:], "rows"),
    "an extra row": (lambda f: pd.concat([f, f.iloc[:1]]), "rows"),
    "a repeated id": (lambda f: f.assign(id=[f["id"].iloc[0], *f["id"].iloc[:-1]]), "repeats"),
    "an unknown id": (lambda f: f.assign(id=f["id"] + 1), "not in the test set"),
    "a missing value": (lambda f: f.assign(y=[np.nan, *f["y"].iloc[1:]]), "missing"),
    "a missing id": (lambda f: f.assign(id=[None, *f["id"].iloc[1:]]), "missing"),
}


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("problem", sorted(SHAPE_PROBLEMS))
def test_shape_problems_are_refused_at_upload_and_use_no_quota(
    client: TestClient, settings: Any, tmp_path: Path, problem: str, suffix: str
) -> None:
    competition = regression_settings()
    competition["phases"][0].update(max_per_day=1, max_total=1, max_pending=1)
    arena = make_arena(client, settings, tmp_path, competition)
    change, expected = SHAPE_PROBLEMS[problem]
    bad = _frame_bytes(change(_truth(arena)), suffix)
    refused = arena.submit(bad, name=f"pred{suffix}")
    assert refused.status_code == 422, refused.text
    message = refused.json()["message"]
    assert expected in message and "upload it again" in message, message
    listed = client.get(
        f"/api/v1/competitions/{arena.slug}/submissions", headers=auth(arena.participant)
    )
    assert listed.json() == []
    good = arena.submit(_frame_bytes(_truth(arena), suffix), name=f"pred{suffix}")
    assert good.status_code == 201, good.text  # the one allowed submission was still free


def test_unknown_classes_are_refused_at_upload(
    client: TestClient, settings: Any, tmp_path: Path
) -> None:
    competition = regression_settings(
        slug="cls", task="binary", classes=[0, 1], metrics=["accuracy"], formats=["predictions"]
    )
    folder = tmp_path / "bundle"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, start in (("train", 0), ("test", 1000)):
        ids = np.arange(start, start + 100)
        x = rng.normal(size=100)
        frame = pd.DataFrame({"id": ids, "x1": x, "x2": x, "y": (x > 0).astype(int)})
        if name == "test":
            frame.drop(columns=["y"]).to_csv(folder / "test.csv", index=False)
            frame[["id", "y"]].to_csv(folder / "test_labels.csv", index=False)
        else:
            frame.to_csv(folder / "train.csv", index=False)
    (folder / "description.md").write_text("# Classes\n", encoding="utf-8")
    (folder / "competition.yaml").write_text(yaml.safe_dump(competition), encoding="utf-8")
    arena = _arena_from_folder(client, settings, folder, "cls")
    labels = pd.read_csv(folder / "test_labels.csv")
    refused = arena.submit(labels.assign(y=labels["y"] * 7).to_csv(index=False).encode())
    assert refused.status_code == 422 and "not classes" in refused.json()["message"]
    accepted = arena.submit(labels.to_csv(index=False).encode())
    assert accepted.status_code == 201, accepted.text


def _arena_from_folder(client: TestClient, settings: Any, folder: Path, slug: str) -> Arena:
    from tests.platform.helpers import admin_token, zip_folder

    admin = admin_token(settings)
    host = create_user(client, admin, "host", "host")
    created = client.post(
        "/api/v1/competitions",
        headers=auth(host),
        files={"bundle": ("b.zip", zip_folder(folder), "application/zip")},
    )
    assert created.status_code == 201, created.text
    participant = create_user(client, admin, "alice")
    team = client.post(
        f"/api/v1/competitions/{slug}/teams", json={"name": "Alpha"}, headers=auth(participant)
    )
    return Arena(client, admin, host, participant, team.json(), folder, slug)
