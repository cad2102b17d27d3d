"""The demo: `mlchallenge serve` seeds the built-in problems as one challenge under demo hosts."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from challenge.bootstrap import prepare
from challenge.challenges import demo
from challenge.problems import list_problems, problem_ids
from tests.challenges.helpers import register
from tests.platform.helpers import auth, create_user

SEEDED = ["network-delay", "kpi-anomaly", "beam-selection"]


def test_every_built_in_problem_declares_its_level_and_data_profile() -> None:
    assert set(demo.HOSTS) == set(problem_ids())
    for problem in list_problems():
        assert problem.intelligence_level in {f"L{n}" for n in range(6)}, problem.id
        profile = problem.data_handling
        assert profile["nature"] == "synthetic" and profile["source"] and profile["sharing"]


def test_serve_seeds_the_demo_challenge_once(client: TestClient, settings: Any) -> None:
    first = prepare(settings, seed_problems=SEEDED)
    assert first.challenge == demo.SLUG
    again = prepare(settings, seed_problems=SEEDED)  # a restart adds nothing twice
    assert again.seeded == [] and again.challenge == demo.SLUG
    body = client.get(f"/api/v1/challenges/{demo.SLUG}").json()
    assert body["title"] == "AI/ML in 5G (demo)"
    assert sorted(p["competition"] for p in body["problems"]) == sorted(SEEDED)
    assert body["regions"] == {
        "Americas": ["demo-radio-lab"],
        "Asia-Pacific": ["demo-university"],
        "Europe": ["demo-operator"],
    }
    for problem in body["problems"]:
        assert problem["level"] and problem["data_profile"]["nature"] == "synthetic"
    assert "Registration opens" in [m["label"] for m in body["timeline"]]
    assert body["timeline"][-1]["label"] == "Final"
    page = client.get(f"/challenges/{demo.SLUG}")
    assert page.status_code == 200 and "Demo Radio Lab" in page.text
    problem_page = client.get("/competitions/network-delay").text
    assert "Y.3173" in problem_page and "Demo University" in problem_page
    # a newcomer registers once and joins any problem
    alice = create_user(client, again.admin_token, "alice")
    assert register(client, alice, challenge=demo.SLUG).status_code == 201
    team = client.post(
        "/api/v1/competitions/kpi-anomaly/teams", json={"name": "Alpha"}, headers=auth(alice)
    )
    assert team.status_code == 201, team.text


def test_no_problems_no_demo_challenge(settings: Any) -> None:
    assert prepare(settings, seed_problems=[]).challenge is None
