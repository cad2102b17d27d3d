"""Lists that scale: competitions and submissions paged and searched, with totals."""

from __future__ import annotations

from tests.arena import Arena
from tests.platform.helpers import auth, truth_predictions, zip_folder


def test_competitions_are_paged_and_searched(arena: Arena) -> None:
    client = arena.client
    for slug in ("radio-one", "radio-two"):
        made = client.post(
            "/api/v1/competitions",
            headers=auth(arena.host),
            data={"slug": slug},
            files={"bundle": ("b.zip", zip_folder(arena.bundle), "application/zip")},
        )
        assert made.status_code == 201
    first = client.get("/api/v1/competitions", params={"per_page": 2})
    assert first.headers["x-total-count"] == "3" and len(first.json()) == 2
    second = client.get("/api/v1/competitions", params={"per_page": 2, "page": 2})
    assert len(second.json()) == 1
    assert {c["slug"] for c in first.json() + second.json()} == {"tiny", "radio-one", "radio-two"}
    found = client.get("/api/v1/competitions", params={"q": "RADIO"})
    assert found.headers["x-total-count"] == "2"
    assert client.get("/api/v1/competitions", params={"per_page": 0}).status_code == 422
    page = client.get("/?q=radio-t")
    assert "1 competition matching" in page.text and "/competitions/radio-two" in page.text
    assert '/competitions/tiny"' not in page.text


def test_submissions_are_paged_searched_and_filtered(arena: Arena) -> None:
    ids = []
    for index in range(5):
        response = arena.client.post(
            f"/api/v1/competitions/{arena.slug}/submissions",
            files={"file": (f"pred{index}.csv", truth_predictions(arena.bundle))},
            data={"format": "predictions", "note": "tuned" if index % 2 else "plain"},
            headers=auth(arena.participant),
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    url = f"/api/v1/competitions/{arena.slug}/submissions"
    headers = auth(arena.participant)
    page = arena.client.get(url, params={"per_page": 2, "page": 1}, headers=headers)
    assert page.headers["x-total-count"] == "5"
    assert [s["id"] for s in page.json()] == ids[::-1][:2]  # newest first
    tuned = arena.client.get(url, params={"q": "tuned"}, headers=headers)
    assert tuned.headers["x-total-count"] == "2"
    by_id = arena.client.get(url, params={"q": str(ids[0])}, headers=headers)
    assert ids[0] in [s["id"] for s in by_id.json()]
    queued = arena.client.get(url, params={"status": "queued"}, headers=headers)
    assert queued.headers["x-total-count"] == "5"
    assert arena.client.get(url, params={"status": "nope"}, headers=headers).status_code == 422
    host = arena.client.get(url, params={"q": "Alpha", "per_page": 500}, headers=auth(arena.host))
    assert host.headers["x-total-count"] == "5"  # staff search by team name
