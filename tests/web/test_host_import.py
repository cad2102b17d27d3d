"""The host form imports bundles that bring their own evaluation, with an optional dry run."""

from __future__ import annotations

from tests.platform.test_evalai_import import challenge_zip
from tests.platform.test_scoring_programs import scoring_bundle
from tests.web.conftest import Site

NEW = "/host/competitions/new"
ACTION = "/host/competitions/bundle"


def test_the_host_form_imports_an_evalai_challenge(site: Site) -> None:
    host = site.browser("host")
    assert "EvalAI" in host.get(NEW).text
    created = site.post_form(
        host, NEW, ACTION, {}, files={"bundle": ("c.zip", challenge_zip(), "application/zip")}
    )
    assert created.status_code == 303, created.text
    assert created.headers["location"] == "/competitions/beam-index-challenge"


def test_the_host_forms_dry_run_refuses_a_broken_scoring_program(site: Site) -> None:
    host = site.browser("host")
    broken = scoring_bundle("raise SystemExit('score.py is broken')\n")
    refused = site.post_form(
        host, NEW, ACTION, {"dry_run": "true"}, files={"bundle": ("b.zip", broken)}
    )
    assert refused.status_code == 422 and "score.py is broken" in refused.text
    created = site.post_form(
        host, NEW, ACTION, {"dry_run": "true"}, files={"bundle": ("b.zip", scoring_bundle())}
    )
    assert created.status_code == 303, created.text


def test_a_program_scored_board_shows_its_columns_and_no_interval(site: Site) -> None:
    host = site.browser("host")
    created = site.post_form(host, NEW, ACTION, {}, files={"bundle": ("b.zip", scoring_bundle())})
    assert created.status_code == 303, created.text
    assert "Own scoring" in host.get("/competitions/own-scoring").text
    page = host.get("/competitions/own-scoring/leaderboard").text
    assert ">Accuracy</th>" in page and ">Errors</th>" in page
    api = site.browser().get("/api/v1/competitions/own-scoring/leaderboard").json()
    assert api["interval_note"] == "no interval"
    assert [c["key"] for c in api["columns"]] == ["accuracy", "errors"]
