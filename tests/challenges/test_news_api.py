"""Announcements, events with links and recordings, and the data-sharing guideline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.challenges.helpers import bundle_problem, challenge, organisation
from tests.platform.helpers import admin_token, auth, create_user


def test_announcements_events_and_guideline(
    client: TestClient, settings: Any, tmp_path: Path
) -> None:
    admin = admin_token(settings)
    organiser = create_user(client, admin, "org", "host")
    ana, bob = create_user(client, admin, "ana", "host"), create_user(client, admin, "bob", "host")
    assert challenge(client, organiser).status_code == 201
    organisation(client, ana, "acme", country="Brazil", region="Americas")
    made = bundle_problem(client, ana, tmp_path, "tiny", challenge="fiveg", organisation="acme")
    assert made.status_code == 201
    base = "/api/v1/challenges/fiveg"
    everyone = {"title": "Welcome", "body": "Kick-off on **Monday**."}
    assert client.post(f"{base}/announcements", json=everyone, headers=auth(ana)).status_code == 403
    assert (
        client.post(f"{base}/announcements", json=everyone, headers=auth(organiser)).status_code
        == 201
    )
    problem = {"title": "Data v2", "body": "New split.", "competition": "tiny"}
    assert client.post(f"{base}/announcements", json=problem, headers=auth(bob)).status_code == 403
    assert client.post(f"{base}/announcements", json=problem, headers=auth(ana)).status_code == 201
    elsewhere = {**problem, "competition": "nope"}
    assert (
        client.post(f"{base}/announcements", json=elsewhere, headers=auth(ana)).status_code == 404
    )
    listed = client.get(f"{base}/announcements").json()
    assert [(a["title"], a["competition"]) for a in listed] == [
        ("Data v2", "tiny"),
        ("Welcome", None),
    ]
    webinar = {
        "title": "Intro webinar",
        "starts_at": "2027-01-10T15:00:00Z",
        "link_url": "https://meet.example.org/intro",
        "competition": "tiny",
    }
    bad = client.post(
        f"{base}/events", json={**webinar, "link_url": "javascript:x"}, headers=auth(ana)
    )
    assert bad.status_code == 422
    naive = client.post(
        f"{base}/events", json={**webinar, "starts_at": "2027-01-10T15:00:00"}, headers=auth(ana)
    )
    assert naive.status_code == 422
    created = client.post(f"{base}/events", json=webinar, headers=auth(ana))
    assert created.status_code == 201, created.text
    event_id = created.json()["id"]
    recording = {"recording_url": "https://video.example.org/intro"}
    assert (
        client.patch(f"{base}/events/{event_id}", json=recording, headers=auth(bob)).status_code
        == 403
    )
    added = client.patch(f"{base}/events/{event_id}", json=recording, headers=auth(ana))
    assert added.status_code == 200 and added.json()["recording_url"] == recording["recording_url"]
    assert client.get(f"{base}/events").json()[0]["kind"] == "webinar"
    guideline = {"text": "# Data sharing\nKeep the data inside your team."}
    assert client.put(f"{base}/guideline", json=guideline, headers=auth(ana)).status_code == 403
    assert (
        client.put(f"{base}/guideline", json=guideline, headers=auth(organiser)).status_code == 200
    )
    assert client.get(f"{base}/guideline").json() == guideline
