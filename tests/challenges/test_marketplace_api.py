"""The model marketplace: publish after finalization with a licence, cards, downloads, unpublish."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from tests.arena import Arena
from tests.judging.helpers import evaluate, quiet
from tests.platform.helpers import auth, truth_predictions

MODEL = "def predict(features):\n    return 2 * features['x1'] - features['x2']\n"


def _python_model() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model.py", MODEL)
    return buffer.getvalue()


def test_a_final_model_is_published_downloaded_and_unpublished(arena: Arena, settings: Any) -> None:
    client = arena.client
    archive = _python_model()
    model = arena.submit(archive, name="model.zip", format="python")
    assert model.status_code == 201, model.text
    model_id = int(model.json()["id"])
    evaluate(quiet(settings), model_id)
    table = arena.submit(truth_predictions(arena.bundle))
    evaluate(quiet(settings), int(table.json()["id"]))
    body = {"submission_id": model_id, "licence": "Apache-2.0", "title": "Linear x1-x2"}
    early = client.post("/api/v1/marketplace", json=body, headers=auth(arena.participant))
    assert early.status_code == 409 and "finalized" in early.json()["message"]
    finalized = client.post(
        f"/api/v1/judging/competitions/{arena.slug}/finalize",
        json={"reason": "end", "register_top": 0},
        headers=auth(arena.host),
    )
    assert finalized.status_code == 200, finalized.text
    assert (
        client.post(
            "/api/v1/marketplace",
            json={**body, "licence": "WTFPL"},
            headers=auth(arena.participant),
        ).status_code
        == 422
    )
    not_a_model = {**body, "submission_id": int(table.json()["id"])}
    refused = client.post("/api/v1/marketplace", json=not_a_model, headers=auth(arena.participant))
    assert refused.status_code == 409 and "not a model" in refused.json()["message"]
    stranger = client.post("/api/v1/marketplace", json=body, headers=auth(arena.host))
    assert stranger.status_code == 404
    published = client.post("/api/v1/marketplace", json=body, headers=auth(arena.participant))
    assert published.status_code == 201, published.text
    card = published.json()
    assert card["licence"] == "Apache-2.0" and card["format"] == "python"
    assert card["competition"] == arena.slug and card["team"] == "Alpha"
    assert "private" in card["scores"] and card["intervals"]
    assert card["provenance"]["model_sha256"] and card["provenance"]["labels_sha256"]
    assert card["provenance"]["mlflow_registered_model"] == f"competition-{arena.slug}"
    assert [m["id"] for m in client.get("/api/v1/marketplace").json()] == [card["id"]]
    for _ in range(2):
        got = client.get(card["download"])
        assert got.status_code == 200 and got.content == archive
    assert client.get(f"/api/v1/marketplace/{card['id']}").json()["downloads"] == 2
    assert (
        client.delete(f"/api/v1/marketplace/{card['id']}", headers=auth(arena.host)).status_code
        == 403
    )
    gone = client.delete(f"/api/v1/marketplace/{card['id']}", headers=auth(arena.participant))
    assert gone.status_code == 200 and gone.json()["unpublished_at"]
    assert client.get("/api/v1/marketplace").json() == []
    assert client.get(f"/api/v1/marketplace/{card['id']}").status_code == 404
    assert client.get(card["download"]).status_code == 404
    again = client.post("/api/v1/marketplace", json=body, headers=auth(arena.participant))
    assert again.status_code == 201 and again.json()["downloads"] == 2
