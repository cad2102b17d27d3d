"""Challenge pages: problem statements by region and organisation, timeline, registration form."""

from __future__ import annotations

from tests.challenges.helpers import challenge, organisation
from tests.platform.helpers import auth
from tests.web.conftest import Site
from tests.web.markup import unsafe_markup


def _challenge(site: Site) -> None:
    api, host = site.api, site.tokens["host"]
    created = challenge(
        api,
        site.tokens["admin"],
        description="# Welcome\n\n<script>alert(1)</script>",
        final_at="2027-06-01T00:00:00Z",
    )
    assert created.status_code == 201, created.text
    organisation(api, host, "acme", country="Brazil", region="Americas")
    joined = api.post(
        "/api/v1/challenges/fiveg/problems",
        json={
            "competition": "tiny",
            "organisation": "acme",
            "level": "L3",
            "data_profile": {"source": "drive tests", "nature": "real", "sharing": "CC-BY"},
        },
        headers=auth(host),
    )
    assert joined.status_code == 201, joined.text


def test_challenge_page_groups_problems_and_shows_the_timeline(site: Site) -> None:
    _challenge(site)
    visitor = site.browser()
    listed = visitor.get("/challenges")
    assert listed.status_code == 200 and 'href="/challenges/fiveg"' in listed.text
    page = visitor.get("/challenges/fiveg")
    assert page.status_code == 200
    assert "<h3>Americas</h3>" in page.text and 'data-organisation="acme"' in page.text
    assert 'data-problem="tiny"' in page.text and "Y.3173 L3" in page.text
    assert "Final" in page.text and "main opens" in page.text
    assert unsafe_markup(page.text) == []
    assert "Log in</a> to register" in page.text
    problem = visitor.get("/competitions/tiny")
    assert (
        'href="/challenges/fiveg"' in problem.text and 'href="/organisations/acme"' in problem.text
    )
    assert "Y.3173" in problem.text and "drive tests" in problem.text and "CC-BY" in problem.text
    org = visitor.get("/organisations/acme")
    assert (
        org.status_code == 200 and "Brazil" in org.text and "contact@acme.example.org" in org.text
    )
    assert visitor.get("/challenges/nope").status_code == 404


def test_participants_register_on_the_page(site: Site) -> None:
    _challenge(site)
    bob = site.browser("bob")
    page = "/challenges/fiveg"
    bad = site.post_form(
        bob,
        page,
        "/challenges/fiveg/register",
        {"affiliation": "UFPA", "country": "Brazil", "category": "astronaut"},
    )
    assert bad.status_code == 422 and "category" in bad.text
    done = site.post_form(
        bob,
        page,
        "/challenges/fiveg/register",
        {"affiliation": "UFPA", "country": "Brazil", "category": "student"},
    )
    assert done.status_code == 303 and done.headers["location"].endswith("done=registered")
    shown = bob.get(page).text
    assert "You are registered as student (UFPA, Brazil)" in shown
    assert "<dt>Registered</dt><dd>1</dd>" in shown
    no_token = bob.post(
        "/challenges/fiveg/register",
        data={"affiliation": "x", "country": "Brazil", "category": "student"},
        follow_redirects=False,
    )
    assert no_token.status_code in (400, 403)


def test_restricted_problem_request_and_approval_on_the_pages(site: Site) -> None:
    restricted = site.api.put(
        "/api/v1/competitions/tiny/conditions",
        json={"terms": "Do **not** share the data.", "manual_approval": True},
        headers=auth(site.tokens["host"]),
    )
    assert restricted.status_code == 200, restricted.text
    bob = site.browser("bob")
    page = "/competitions/tiny"
    shown = bob.get(page).text
    assert 'id="access-h"' in shown and "<strong>not</strong> share" in shown
    assert "Ask to take part" in shown and "restricted to admitted participants" in shown
    no_terms = site.post_form(bob, page, "/competitions/tiny/admission", {})
    assert no_terms.status_code == 303 and "admission_error" in no_terms.headers["location"]
    asked = site.post_form(bob, page, "/competitions/tiny/admission", {"accept_terms": "yes"})
    assert asked.status_code == 303
    assert "waits for a host" in bob.get(page).text
    assert bob.get("/competitions/tiny/admissions").status_code == 403  # the queue is for staff
    host = site.browser("host")
    queue = host.get("/competitions/tiny/admissions")
    assert queue.status_code == 200 and 'data-pending="bob"' in queue.text
    refuse = site.post_form(
        host,
        "/competitions/tiny/admissions",
        "/competitions/tiny/admissions/bob",
        {"decision": "refuse", "reason": " "},
    )
    assert refuse.status_code == 422 and "reason" in refuse.text
    admit = site.post_form(
        host,
        "/competitions/tiny/admissions",
        "/competitions/tiny/admissions/bob",
        {"decision": "admit"},
    )
    assert admit.status_code == 303
    assert 'data-decided="bob"' in host.get("/competitions/tiny/admissions").text
    assert "data-admitted" in bob.get(page).text


def test_hosts_post_announcements_and_events_on_the_challenge_page(site: Site) -> None:
    _challenge(site)
    page = "/challenges/fiveg"
    assert "Post the announcement" not in site.browser("bob").get(page).text
    host = site.browser("host")
    shown = host.get(page).text
    assert '<option value="tiny">' in shown and '<option value="">' not in shown
    posted = site.post_form(
        host, page, "/challenges/fiveg/announce", {"title": "Data v2", "competition": "tiny"}
    )
    assert posted.status_code == 303
    everyone = site.post_form(host, page, "/challenges/fiveg/announce", {"title": "All"})
    assert everyone.status_code == 403 and "organiser" in everyone.text
    event = {"title": "Intro webinar", "starts_at": "2027-01-10T15:00", "competition": "tiny"}
    bad = site.post_form(host, page, "/challenges/fiveg/events", {**event, "link_url": "ftp://x"})
    assert bad.status_code == 422 and "link_url" in bad.text
    done = site.post_form(
        host, page, "/challenges/fiveg/events", {**event, "link_url": "https://meet.example.org/i"}
    )
    assert done.status_code == 303
    public = site.browser().get(page).text
    assert "Data v2" in public and "Intro webinar" in public
    assert 'href="https://meet.example.org/i"' in public
