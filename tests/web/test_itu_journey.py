"""The ITU journey on the pages: report, rubric scoring across organisations, standings, the
global ranking, certificates and the marketplace."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.challenges.helpers import scored_world
from tests.judging.helpers import evaluate, quiet
from tests.platform.helpers import auth
from tests.web.conftest import PASSWORD, csrf_of

PDF = b"%PDF-1.4\n%%EOF\n"
RUBRIC = {"criteria": [{"name": "novelty", "weight": 1}], "metric_weight": 0.5}


def browser(app: FastAPI, username: str) -> TestClient:
    """A client logged in through the login form."""
    client = TestClient(app)
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


def test_the_journey_on_the_pages(
    app: FastAPI, client: TestClient, settings: Any, tmp_path: Path
) -> None:
    t = scored_world(client, settings, tmp_path)
    alpha, beta = t["teams"]["Alpha"], t["teams"]["Beta"]
    # a team uploads its report on the report page
    alice = browser(app, "alice")
    token = csrf_of(alice.get("/competitions/tiny/report").text)
    bad = alice.post(
        "/competitions/tiny/report",
        data={"csrf_token": token, "code_url": "https://git.example.org/a"},
        files={"file": ("r.txt", b"not a pdf")},
        follow_redirects=False,
    )
    assert bad.status_code == 422 and "PDF" in bad.text
    done = alice.post(
        "/competitions/tiny/report",
        data={"csrf_token": token, "code_url": "https://git.example.org/a"},
        files={"file": ("r.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "data-report" in alice.get("/competitions/tiny/report").text
    carol = client.post(
        "/api/v1/competitions/tiny/report",
        files={"file": ("r.pdf", PDF)},
        data={"code_url": "https://git.example.org/b"},
        headers=auth(t["carol"]),
    )
    assert carol.status_code == 201
    # a judge of another organisation scores on the rubric page; the conflicted team is hidden
    assert (
        client.put(
            "/api/v1/competitions/tiny/rubric", json=RUBRIC, headers=auth(t["ana"])
        ).status_code
        == 200
    )
    assert (
        client.post(
            "/api/v1/competitions/tiny/rubric/judges",
            json={"username": "jo"},
            headers=auth(t["ana"]),
        ).status_code
        == 201
    )
    jo = browser(app, "jo")
    page = jo.get("/competitions/tiny/rubric")
    assert page.status_code == 200 and 'data-team="Beta"' in page.text
    assert 'data-team="Alpha"' not in page.text
    scored = jo.post(
        f"/competitions/tiny/rubric/{beta}",
        data={"csrf_token": csrf_of(page.text), "c:novelty": "8", "comment": "neat"},
        follow_redirects=False,
    )
    assert scored.status_code == 303
    refused = jo.post(
        f"/competitions/tiny/rubric/{alpha}",
        data={"csrf_token": csrf_of(page.text), "c:novelty": "8"},
        follow_redirects=False,
    )
    assert refused.status_code == 403 and "conflict of interest" in refused.text
    host = browser(app, "ana")
    standings = host.get("/competitions/tiny/standings")
    assert 'data-standing="Alpha"' in standings.text and 'data-standing="Beta"' in standings.text
    assert "Nominate Beta" in standings.text
    assert "Nominate" not in jo.get("/competitions/tiny/standings").text  # hosts only
    nominated = host.post(
        f"/competitions/tiny/nominate/{beta}",
        data={"csrf_token": csrf_of(standings.text)},
        follow_redirects=False,
    )
    assert nominated.status_code == 303
    assert "data-nominated" in host.get("/competitions/tiny/standings").text
    # the host nominates, the jury ranks, the organiser publishes: ranking and certificates appear
    base = "/api/v1/challenges/fiveg"
    client.put(
        f"{base}/rubric", json={"criteria": [{"name": "talk", "weight": 1}]}, headers=auth(t["ana"])
    )
    finalist = client.get(f"{base}/finalists").json()[0]
    client.post(f"{base}/jury", json={"username": "jo"}, headers=auth(t["ana"]))
    final = "/challenges/fiveg/final"
    page = jo.get(final)
    assert page.status_code == 200 and 'data-finalist-card="Beta"' in page.text
    scored = jo.post(
        f"{final}/score/{finalist['id']}",
        data={"csrf_token": csrf_of(page.text), "c:talk": "9"},
        follow_redirects=False,
    )
    assert scored.status_code == 303
    assert "Give an award" not in jo.get(final).text  # the organiser's forms only
    page = host.get(final)
    award = {"finalist_id": finalist["id"], "name": "Best talk", "prize": "a trophy"}
    given = host.post(
        f"{final}/awards", data={"csrf_token": csrf_of(page.text), **award}, follow_redirects=False
    )
    assert given.status_code == 303
    assert 'data-finalist="Beta"' not in TestClient(app).get("/challenges/fiveg").text
    published = host.post(
        f"{final}/publish", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert published.status_code == 303
    public = TestClient(app).get("/challenges/fiveg").text
    assert 'data-finalist="Beta"' in public and "Best talk: a trophy" in public
    carol_page = browser(app, "carol").get("/challenges/fiveg").text
    assert "Your certificates" in carol_page and "winner: Best talk" in carol_page
    code = client.get(f"{base}/certificates/me", headers=auth(t["carol"])).json()[0]["code"]
    verified = TestClient(app).get(f"/certificates/{code}")
    assert verified.status_code == 200 and f'data-certificate="{code}"' in verified.text
    assert TestClient(app).get("/certificates/forged").status_code == 404


def test_a_model_is_published_on_the_marketplace_pages(
    app: FastAPI, client: TestClient, settings: Any, tmp_path: Path
) -> None:
    t = scored_world(client, settings, tmp_path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model.py", "def predict(f):\n    return 2 * f['x1'] - f['x2']\n")
    sent = client.post(
        "/api/v1/competitions/tiny/submissions",
        files={"file": ("model.zip", buffer.getvalue())},
        data={"format": "python"},
        headers=auth(t["alice"]),
    )
    assert sent.status_code == 201, sent.text
    evaluate(quiet(settings), int(sent.json()["id"]))
    finalized = client.post(
        "/api/v1/judging/competitions/tiny/finalize",
        json={"reason": "end", "register_top": 0},
        headers=auth(t["ana"]),
    )
    assert finalized.status_code == 200, finalized.text
    alice = browser(app, "alice")
    listing = alice.get("/marketplace")
    assert "No models are published yet" in listing.text
    form = {
        "csrf_token": csrf_of(listing.text),
        "submission_id": sent.json()["id"],
        "licence": "MIT",
        "title": "Linear model",
    }
    published = alice.post("/marketplace", data=form, follow_redirects=False)
    assert published.status_code == 303, published.text
    card = TestClient(app).get(published.headers["location"])
    assert card.status_code == 200 and "<dd data-licence>MIT</dd>" in card.text
    assert "model_sha256" in card.text and "competition-tiny" in card.text
    assert 'data-model="' in TestClient(app).get("/marketplace").text
    wrong = alice.post("/marketplace", data={**form, "licence": "WTFPL"}, follow_redirects=False)
    assert wrong.status_code == 422 and "licence must be one of" in wrong.text
