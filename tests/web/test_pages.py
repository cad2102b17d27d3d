"""Pages rendered in process: content, escaping, inline errors, CSRF and access control."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update as sa_update

from challenge.accounts import service as accounts
from challenge.competitions import service as competitions
from challenge.competitions.models import Phase
from challenge.db.base import utcnow
from challenge.db.session import transaction
from challenge.submissions.service import create_baseline
from tests.platform.helpers import (
    auth,
    regression_settings,
    truth_predictions,
    write_regression_bundle,
    zip_folder,
)
from tests.web.conftest import Site, csrf_of
from tests.web.scoring import finish

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def submit_api(site: Site, user: str = "alice") -> int:
    response = site.api.post(
        "/api/v1/competitions/tiny/submissions",
        files={"file": ("pred.csv", truth_predictions(site.bundle, noise=0.2))},
        data={"format": "predictions"},
        headers=auth(site.tokens[user]),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_public_pages_render_and_escape_the_description(site: Site) -> None:
    anonymous = site.browser()
    front = anonymous.get("/")
    assert front.status_code == 200 and "text/html" in front.headers["content-type"]
    assert 'href="/competitions/tiny"' in front.text and "Tiny regression" in front.text
    page = anonymous.get("/competitions/tiny")
    assert page.status_code == 200
    assert "<strong>y</strong>" in page.text
    assert "<script>alert" not in page.text and "&lt;script&gt;alert" in page.text
    assert "javascript:" not in page.text and 'href="https://example.org"' in page.text
    assert "no end date" in page.text and "predictions, sklearn, python" in page.text
    assert "to download the data" in page.text
    missing = anonymous.get("/competitions/nope")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    assert "competition &#39;nope&#39; does not exist" in missing.text


def test_unknown_urls_get_a_page_in_a_browser_and_json_from_the_api(site: Site) -> None:
    browser = site.browser("alice")
    html = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    page = browser.get("/no/such/page", headers=html)
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert "There is no page at /no/such/page." in page.text
    assert 'href="/"' in page.text and "alice" in page.text  # the site's frame, logged in
    wrong_method = browser.put("/login", headers=html)
    assert wrong_method.status_code == 405 and "text/html" in wrong_method.headers["content-type"]
    assert "GET" in wrong_method.headers["allow"]
    for path, headers in (("/no/such/page", {}), ("/api/v1/nothing", html)):
        data = browser.get(path, headers=headers)
        assert data.status_code == 404 and data.json()["error"] == "http_404", path


def test_login_shows_errors_inline_sets_the_cookie_and_logs_out(site: Site) -> None:
    browser = site.browser()
    form = browser.get("/login?next=/competitions/tiny")
    wrong = browser.post(
        "/login",
        data={
            "username": "alice",
            "password": "nope",
            "csrf_token": csrf_of(form.text),
            "next": "/",
        },
    )
    assert wrong.status_code == 401 and "wrong username or password" in wrong.text
    assert 'value="alice"' in wrong.text and '<form method="post" action="/login"' in wrong.text
    right = browser.post(
        "/login",
        data={
            "username": "alice",
            "password": "correct horse battery",
            "csrf_token": csrf_of(form.text),
            "next": "/competitions/tiny",
        },
        follow_redirects=False,
    )
    assert right.status_code == 303 and right.headers["location"] == "/competitions/tiny"
    page = browser.get("/competitions/tiny")
    assert "alice" in page.text and "train.parquet" in page.text
    assert browser.get("/api/v1/users/me").json()["username"] == "alice"
    session_token = browser.cookies.get("mlchallenge_token")
    out = site.post_form(browser, "/", "/logout", {})
    assert out.status_code == 303
    assert "Log in</a>" in browser.get("/").text
    revoked = browser.get("/api/v1/users/me", headers={"Authorization": f"Bearer {session_token}"})
    assert revoked.status_code == 401


def test_forms_need_the_csrf_token_and_the_same_origin(site: Site) -> None:
    bob = site.browser("bob")
    missing = bob.post("/competitions/tiny/team", data={"name": "Beta"})
    assert missing.status_code == 403 and "reload the page" in missing.text
    token = csrf_of(bob.get("/competitions/tiny/team").text)
    foreign = bob.post(
        "/competitions/tiny/team",
        data={"name": "Beta", "csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403 and "another site" in foreign.text
    other = site.browser("alice")
    stolen = other.post("/competitions/tiny/team", data={"name": "Beta", "csrf_token": token})
    assert stolen.status_code == 403
    ok = bob.post(
        "/competitions/tiny/team",
        data={"name": "Beta", "csrf_token": token},
        follow_redirects=False,
    )
    assert ok.status_code == 303


def test_team_page_creates_and_joins_with_errors_inline(site: Site) -> None:
    bob = site.browser("bob")
    anonymous = site.browser().get("/competitions/tiny/team", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=/competitions/tiny/team"
    taken = site.post_form(
        bob, "/competitions/tiny/team", "/competitions/tiny/team", {"name": "Alpha"}
    )
    assert taken.status_code == 409 and "a team named &#39;Alpha&#39; exists" in taken.text
    assert "Create a team" in taken.text
    alice_page = site.browser("alice").get("/competitions/tiny/team").text
    code = alice_page.split('id="invite-code">', 1)[1].split("<", 1)[0]
    team_id = alice_page.split('id="team-id">', 1)[1].split("<", 1)[0]
    wrong = site.post_form(
        bob,
        "/competitions/tiny/team",
        "/competitions/tiny/team/join",
        {"team_id": team_id, "invite_code": "deadbeef"},
    )
    assert wrong.status_code == 404 and "wrong invite code" in wrong.text
    joined = site.post_form(
        bob,
        "/competitions/tiny/team",
        "/competitions/tiny/team/join",
        {"team_id": team_id, "invite_code": code},
    )
    assert joined.status_code == 303
    page = bob.get("/competitions/tiny/team").text
    assert "alice" in page and "bob" in page and code in page


def test_submit_shows_size_and_format_errors_inline(site: Site) -> None:
    alice = site.browser("alice")
    page = "/competitions/tiny/submit"
    wrong_format = site.post_form(
        alice, page, page, {"format": "predictions"}, files={"file": ("model.txt", b"id,y\n1,2\n")}
    )
    assert wrong_format.status_code == 422 and "text/html" in wrong_format.headers["content-type"]
    assert "expects a CSV or Parquet file" in wrong_format.text and 'id="file"' in wrong_format.text
    columns = site.post_form(
        alice, page, page, {"format": "predictions"}, files={"file": ("pred.csv", b"id,z\n1,2\n")}
    )
    assert columns.status_code == 422 and "lacks column" in columns.text
    too_big = site.post_form(
        alice,
        page,
        page,
        {"format": "predictions"},
        files={"file": ("pred.csv", b"0" * (7 * 1024**2))},
    )
    assert too_big.status_code == 413 and "larger than 5 MB" in too_big.text
    good = site.post_form(
        alice,
        page,
        page,
        {"format": "predictions", "note": "first"},
        files={"file": ("pred.csv", truth_predictions(site.bundle))},
    )
    assert good.status_code == 303 and good.headers["location"].startswith("/submissions/")
    shown = alice.get(good.headers["location"])
    assert 'data-terminal="no"' in shown.text and "queued" in shown.text
    assert "/static/live.js" in shown.text
    listing = alice.get("/competitions/tiny/submissions").text
    assert "first" in listing and 'data-terminal="no"' in listing
    assert alice.get("/static/live.js").status_code == 200


def test_submission_page_scores_logs_plot_and_mlflow_link(site: Site) -> None:
    submission_id = submit_api(site)
    finish(site.settings, submission_id, public=0.2, private=0.3, run_id="abc123")
    site.settings.mlflow_ui_url = "/mlflow"
    alice, judge, bob = site.browser("alice"), site.browser("judge"), site.browser("bob")
    page = alice.get(f"/submissions/{submission_id}")
    assert page.status_code == 200 and "finished" in page.text
    assert "/mlflow/#/runs/" not in page.text and 'data-mlflow=""' in page.text  # staff only
    assert "fitting &lt;model&gt;" in page.text and "latency_ms" in page.text
    assert "<td>public</td>" in page.text and "<td>private</td>" not in page.text
    assert "[0.18, 0.22]" in page.text
    staff_page = judge.get(f"/submissions/{submission_id}").text
    assert "<td>private</td>" in staff_page
    assert 'href="/mlflow/#/runs/abc123"' in staff_page
    assert bob.get(f"/submissions/{submission_id}").status_code == 404
    public_url = f"/submissions/{submission_id}/diagnostics.png"
    private_url = f"/submissions/{submission_id}/diagnostics-private.png"
    assert alice.get(public_url).status_code == 404
    attempt = Path(site.settings.storage) / "runs" / str(submission_id) / "attempt-1"
    attempt.mkdir(parents=True)
    (attempt / "diagnostics.png").write_bytes(PNG + b"all rows")  # before plots were per split
    assert alice.get(public_url).status_code == 404  # it showed the private rows too
    assert judge.get(private_url).content == PNG + b"all rows"
    (attempt / "diagnostics_public.png").write_bytes(PNG)
    (attempt / "diagnostics_private.png").write_bytes(PNG + b"private")
    plot = alice.get(public_url)
    assert plot.status_code == 200 and plot.headers["content-type"] == "image/png"
    assert plot.content == PNG
    hidden = alice.get(private_url)
    assert hidden.status_code == 404 and "finalized" in hidden.text
    assert "diagnostics-private.png" not in alice.get(f"/submissions/{submission_id}").text
    assert judge.get(private_url).content == PNG + b"private"
    assert "diagnostics-private.png" in judge.get(f"/submissions/{submission_id}").text
    assert bob.get(public_url).status_code == 404
    assert bob.get(private_url).status_code == 404
    assert site.browser().get(public_url, follow_redirects=False).status_code == 303
    assert 'src="/submissions/' in alice.get(f"/submissions/{submission_id}").text
    with transaction(site.settings.database_url) as session:
        session.execute(sa_update(Phase).values(finalized_at=utcnow()))
    assert alice.get(private_url).content == PNG + b"private"
    assert "diagnostics-private.png" in alice.get(f"/submissions/{submission_id}").text


def add_baseline(site: Site, tmp_path: Path) -> int:
    predictions = tmp_path / "baseline.csv"
    predictions.write_bytes(truth_predictions(site.bundle, noise=1.0))
    with transaction(site.settings.database_url) as session:
        competition = competitions.get_or_raise(session, slug="tiny")
        host = accounts.get_by_username(session, username="host")
        assert host is not None
        submission = create_baseline(
            session,
            settings=site.settings,
            competition=competition,
            owner=host,
            model=predictions,
            format="predictions",
        )
        return submission.id


def test_leaderboard_marks_ties_baselines_and_hides_the_private_board(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    finish(site.settings, submit_api(site), public=0.2, private=0.3)
    site.api.post(
        "/api/v1/competitions/tiny/teams", json={"name": "Beta"}, headers=auth(site.tokens["bob"])
    )
    finish(site.settings, submit_api(site, "bob"), public=0.21, private=0.5)
    finish(site.settings, add_baseline(site, tmp_path), public=0.8, private=0.8)
    anonymous = site.browser()
    board = anonymous.get("/competitions/tiny/leaderboard")
    assert board.status_code == 200
    rows = board.text.split("<tbody>", 1)[1].split("</tbody>", 1)[0].split("<tr")[1:]
    assert "Alpha" in rows[0] and "<td>1</td>" in rows[0]
    assert "Beta" in rows[1] and "≈" in rows[1] and "tied" in rows[1]
    assert "Baseline" in rows[2] and "baseline</span>" in rows[2]
    assert "[0.18, 0.22]" in rows[0]
    assert "<svg" in board.text and "Best mae over time" in board.text
    assert '<option value="private"' not in board.text
    hidden = anonymous.get("/competitions/tiny/leaderboard?board=private")
    assert hidden.status_code == 403 and "private leaderboard is shown to hosts" in hidden.text
    assert (
        site.browser("alice").get("/competitions/tiny/leaderboard?board=private").status_code == 403
    )
    private = site.browser("judge").get("/competitions/tiny/leaderboard?board=private")
    assert private.status_code == 200 and "<td>0.3</td>" in private.text
    monkeypatch.setattr("challenge.web.competitions.PAGE_ROWS", 1)
    paged = anonymous.get("/competitions/tiny/leaderboard?offset=1").text
    body = paged.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert "Rows 2\N{EN DASH}2 of 3" in paged and "Beta" in body and "Alpha" not in body
    assert 'rel="prev"' in paged and 'rel="next"' in paged


def test_judge_panel_is_for_staff_and_its_actions_work(site: Site) -> None:
    submission_id = submit_api(site)
    finish(site.settings, submission_id, public=0.2, private=0.3)
    panel = "/competitions/tiny/judge"
    anonymous = site.browser().get(panel, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    refused = site.browser("alice").get(panel)
    assert refused.status_code == 403 and "host or judge assigned" in refused.text
    assert "Judge panel" not in site.browser("alice").get("/competitions/tiny").text
    judge = site.browser("judge")
    page = judge.get(panel)
    assert page.status_code == 200 and 'id="board-public"' in page.text
    assert 'id="board-private"' in page.text and "<td>0.3</td>" in page.text
    action = f"{panel}/submissions/{submission_id}"
    no_reason = site.post_form(judge, panel, f"{action}/disqualify", {"reason": " "})
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    flagged = site.post_form(judge, panel, f"{action}/flag", {"flagged": "true", "reason": "odd"})
    assert flagged.status_code == 303 and "done=flag" in flagged.headers["location"]
    noted = site.post_form(judge, panel, f"{action}/annotate", {"reason": "looks <fine>"})
    assert noted.status_code == 303
    after = judge.get(flagged.headers["location"]).text
    assert "Flag saved." in after and "flagged</span>" in after and "looks &lt;fine&gt;" in after
    no_simulator = site.post_form(
        judge, panel, f"{panel}/reproduce", {"phase": "main", "top_k": "1", "board": "private"}
    )
    assert no_simulator.status_code == 400 and "no simulator" in no_simulator.text
    team_id = site.api.get(
        "/api/v1/competitions/tiny/team", headers=auth(site.tokens["alice"])
    ).json()["id"]
    team_note = site.post_form(
        judge,
        panel,
        f"{panel}/teams/{team_id}/annotate",
        {"reason": "strong team", "phase": "main"},
    )
    assert team_note.status_code == 303 and "strong team" in judge.get(panel).text
    finalized = site.post_form(
        judge,
        panel,
        f"{panel}/finalize",
        {"phase": "main", "reason": "done", "register_top": "0", "confirm": "yes"},
    )
    assert finalized.status_code == 303
    assert "finalize_phase" in judge.get(panel).text
    public_private = site.browser().get("/competitions/tiny/leaderboard?board=private")
    assert public_private.status_code == 200 and "<td>0.3</td>" in public_private.text
    unconfirmed = site.post_form(judge, panel, f"{panel}/finalize", {"phase": "main"})
    assert unconfirmed.status_code == 400 and "cannot be undone" in unconfirmed.text
    again = site.post_form(
        judge, panel, f"{panel}/finalize", {"phase": "main", "reason": "x", "confirm": "yes"}
    )
    assert again.status_code == 409 and "already finalized" in again.text
    rerun = site.post_form(judge, panel, f"{panel}/rescore", {"reason": "new scorer"})
    assert rerun.status_code == 303
    assert "Queued for a re-run" in judge.get(rerun.headers["location"]).text


def test_host_creates_competitions_and_edits_phases(site: Site, tmp_path: Path) -> None:
    assert site.browser("alice").get("/host/competitions/new").status_code == 403
    host = site.browser("host")
    new = "/host/competitions/new"
    assert "Network delay prediction" in host.get(new).text
    broken = site.post_form(
        host, new, "/host/competitions/bundle", {}, files={"bundle": ("b.zip", b"not a zip")}
    )
    assert broken.status_code in (400, 422) and 'class="error"' in broken.text
    bundle = write_regression_bundle(
        tmp_path / "second", slug="tiny-two", settings=regression_settings("tiny-two")
    )
    created = site.post_form(
        host,
        new,
        "/host/competitions/bundle",
        {},
        files={"bundle": ("b.zip", zip_folder(bundle), "application/zip")},
    )
    assert created.status_code == 303 and created.headers["location"] == "/competitions/tiny-two"
    phases = "/competitions/tiny/phases"
    assert site.browser("alice").get(phases).status_code == 403
    page = host.get(phases).text
    phase_id = page.split('action="/competitions/tiny/phases/', 1)[1].split('"', 1)[0]
    target = f"{phases}/{phase_id}"
    limits = {"max_per_day": "3", "max_total": "9", "max_pending": "1"}
    backwards = site.post_form(
        host,
        phases,
        target,
        {"start_at": "2026-05-01T00:00", "end_at": "2026-04-01T00:00", **limits},
    )
    assert backwards.status_code == 400 and "must end after it starts" in backwards.text
    saved = site.post_form(
        host,
        phases,
        target,
        {"start_at": "2026-01-01T00:00", "end_at": "2030-01-01T00:00", **limits},
    )
    assert saved.status_code == 303
    page = host.get(saved.headers["location"]).text
    assert "Saved." in page and 'value="2030-01-01T00:00"' in page and 'value="9"' in page
    assert "9 in total" in site.browser().get("/competitions/tiny").text


@pytest.mark.parametrize(
    "path",
    [
        "/competitions/tiny/submit",
        "/competitions/tiny/submissions",
        "/host/competitions/new",
        "/competitions/tiny/judge",
    ],
)
def test_pages_that_need_a_login_redirect_to_it(site: Site, path: str) -> None:
    response = site.browser().get(path, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


def test_hosts_manage_staff_on_the_staff_page(site: Site) -> None:
    from tests.platform.helpers import create_user

    create_user(site.api, site.tokens["admin"], "carol", "judge")
    page = "/competitions/tiny/staff"
    anonymous = site.browser().get(page, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    assert site.browser("alice").get(page).status_code == 403
    judge = site.browser("judge").get(page)
    assert judge.status_code == 200 and 'data-staff="host"' in judge.text
    assert "Assign a host or judge" not in judge.text and "Remove host" not in judge.text
    host = site.browser("host")
    shown = host.get(page)
    assert 'data-staff="judge"' in shown.text and "Assign a host or judge" in shown.text
    assert "Team</a>" not in host.get("/competitions/tiny").text  # staff do not compete
    added = site.post_form(host, page, page, {"username": "carol", "role": "judge"})
    assert added.status_code == 303 and added.headers["location"].endswith("done=added")
    carol = site.browser("carol")
    assert carol.get("/competitions/tiny/leaderboard?board=private").status_code == 200
    member = site.post_form(host, page, page, {"username": "alice", "role": "judge"})
    assert member.status_code == 409 and "Alpha" in member.text
    unknown = site.post_form(host, page, page, {"username": "nobody", "role": "judge"})
    assert unknown.status_code == 404 and "nobody" in unknown.text
    bad_role = site.post_form(host, page, page, {"username": "carol", "role": "admin"})
    assert bad_role.status_code == 422
    removed = site.post_form(host, page, f"{page}/carol/remove", {})
    assert removed.status_code == 303 and removed.headers["location"].endswith("done=removed")
    assert carol.get("/competitions/tiny/leaderboard?board=private").status_code == 403
    last = site.post_form(host, page, f"{page}/host/remove", {})
    assert last.status_code == 409 and "at least one host" in last.text
    refused = site.post_form(site.browser("judge"), page, f"{page}/host/remove", {})
    assert refused.status_code == 403
