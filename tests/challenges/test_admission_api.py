"""Restricted problem statements: conditions, requests, the approval queue, refusals, audit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.challenges.helpers import (
    add_member,
    bundle_problem,
    challenge,
    organisation,
    register,
)
from tests.platform.helpers import admin_token, auth, create_user, truth_predictions

CONDITIONS = {
    "terms": "Use the data for this challenge only; do not redistribute it.",
    "countries": ["Brazil", "Kenya"],
    "affiliations": [],
    "manual_approval": True,
}


def _restricted(client: TestClient, settings: Any, tmp_path: Path) -> dict[str, str]:
    admin = admin_token(settings)
    tokens = {"admin": admin, "host": create_user(client, admin, "host", "host")}
    assert challenge(client, tokens["host"]).status_code == 201
    organisation(client, tokens["host"], "acme", country="Brazil", region="Americas")
    made = bundle_problem(
        client, tokens["host"], tmp_path, "tiny", challenge="fiveg", organisation="acme"
    )
    assert made.status_code == 201, made.text
    tokens["judge"] = create_user(client, admin, "judy", "judge")
    assert add_member(client, tokens["host"], "acme", "judy", "judge").status_code == 201
    for name, country in (("alice", "Brazil"), ("bob", "Japan"), ("carol", "kenya")):
        tokens[name] = create_user(client, admin, name)
        assert register(client, tokens[name], country=country).status_code == 201
    return tokens


def _put(client: TestClient, token: str, body: dict[str, Any]) -> Any:
    return client.put("/api/v1/competitions/tiny/conditions", json=body, headers=auth(token))


def _ask(client: TestClient, token: str, accept: bool = True) -> Any:
    return client.post(
        "/api/v1/competitions/tiny/admission", json={"accept_terms": accept}, headers=auth(token)
    )


def _download(client: TestClient, token: str) -> Any:
    return client.get("/api/v1/competitions/tiny/data/train.parquet", headers=auth(token))


def _decide(client: TestClient, token: str, username: str, decision: str, reason: str = "") -> Any:
    return client.post(
        f"/api/v1/competitions/tiny/admissions/{username}",
        json={"decision": decision, "reason": reason},
        headers=auth(token),
    )


def test_a_restricted_problem_admits_through_the_hosts_queue(
    client: TestClient, settings: Any, tmp_path: Path
) -> None:
    tokens = _restricted(client, settings, tmp_path)
    assert client.get("/api/v1/competitions/tiny/conditions").json()["restricted"] is False
    assert _ask(client, tokens["alice"]).status_code == 409  # open: nothing to ask
    assert _put(client, tokens["judge"], CONDITIONS).status_code == 403  # judges do not restrict
    assert _put(client, tokens["host"], {"countries": "Brazil"}).status_code == 422
    put = _put(client, tokens["host"], CONDITIONS)
    assert put.status_code == 200, put.text
    shown = client.get("/api/v1/competitions/tiny/conditions").json()
    assert shown["restricted"] is True and shown["terms"] == CONDITIONS["terms"]
    # before admission: the team may form, but data and submissions are refused with the way out
    team = client.post(
        "/api/v1/competitions/tiny/teams", json={"name": "Alpha"}, headers=auth(tokens["alice"])
    )
    assert team.status_code == 201, team.text
    refused = _download(client, tokens["alice"])
    assert refused.status_code == 403
    assert "/api/v1/competitions/tiny/admission" in refused.json()["message"]
    labels = truth_predictions(tmp_path / "tiny")
    submit = client.post(
        "/api/v1/competitions/tiny/submissions",
        files={"file": ("p.csv", labels)},
        data={"format": "predictions"},
        headers=auth(tokens["alice"]),
    )
    assert submit.status_code == 403 and "admitted" in submit.json()["message"]
    # the terms must be accepted; the ineligible are refused with the reason
    no_terms = _ask(client, tokens["alice"], accept=False)
    assert no_terms.status_code == 422 and "accept_terms" in no_terms.json()["message"]
    bob = _ask(client, tokens["bob"])
    assert bob.status_code == 200 and bob.json()["status"] == "refused"
    assert "Brazil, Kenya" in bob.json()["reason"] and "Japan" in bob.json()["reason"]
    assert "Japan" in _download(client, tokens["bob"]).json()["message"]
    # the eligible wait in the queue, seen by staff only
    alice = _ask(client, tokens["alice"])
    assert alice.json()["status"] == "pending" and alice.json()["accepted_terms_at"]
    assert "approval" in _download(client, tokens["alice"]).json()["message"]
    queue = client.get(
        "/api/v1/competitions/tiny/admissions?status=pending", headers=auth(tokens["judge"])
    )
    assert [a["username"] for a in queue.json()] == ["alice"]
    outsider = client.get("/api/v1/competitions/tiny/admissions", headers=auth(tokens["bob"]))
    assert outsider.status_code == 403
    assert _decide(client, tokens["judge"], "alice", "admit").status_code == 403
    assert _decide(client, tokens["host"], "alice", "refuse").status_code == 422  # no reason
    assert _decide(client, tokens["host"], "nobody", "admit").status_code == 404
    admitted = _decide(client, tokens["host"], "alice", "admit")
    assert admitted.status_code == 200 and admitted.json()["decided_by"] == "host"
    assert _download(client, tokens["alice"]).status_code == 200
    mine = client.get("/api/v1/competitions/tiny/admission", headers=auth(tokens["alice"]))
    assert mine.json()["status"] == "admitted"
    # a team submits only once every member is admitted
    invite = team.json()["invite_code"]
    joined = client.post(
        f"/api/v1/teams/{team.json()['id']}/join",
        json={"invite_code": invite},
        headers=auth(tokens["carol"]),
    )
    assert joined.status_code == 200, joined.text
    submit = client.post(
        "/api/v1/competitions/tiny/submissions",
        files={"file": ("p.csv", labels)},
        data={"format": "predictions"},
        headers=auth(tokens["alice"]),
    )
    assert submit.status_code == 403 and "carol" in submit.json()["message"]
    assert _ask(client, tokens["carol"]).json()["status"] == "pending"  # "kenya": any case
    assert _decide(client, tokens["host"], "carol", "admit").status_code == 200
    submit = client.post(
        "/api/v1/competitions/tiny/submissions",
        files={"file": ("p.csv", labels)},
        data={"format": "predictions"},
        headers=auth(tokens["alice"]),
    )
    assert submit.status_code in (201, 202), submit.text
    # every decision is in the audit log
    audit = "/api/v1/judging/competitions/tiny/audit"
    events = client.get(audit, headers=auth(tokens["host"])).json()
    actions = [(e["action"], e["target"], e["actor"]) for e in events]
    assert ("conditions.set", "tiny", "host") in actions
    assert ("admission.refused", "bob", "bob") in actions
    assert ("admission.pending", "alice", "alice") in actions
    assert ("admission.admitted", "alice", "host") in actions
    assert ("admission.admitted", "carol", "host") in actions


def test_automatic_admission_and_lifting_the_restriction(
    client: TestClient, settings: Any, tmp_path: Path
) -> None:
    tokens = _restricted(client, settings, tmp_path)
    terms_only = {"terms": "Cite the data set.", "countries": [], "affiliations": []}
    assert _put(client, tokens["host"], terms_only).status_code == 200
    assert _download(client, tokens["bob"]).status_code == 403
    assert _ask(client, tokens["bob"]).json()["status"] == "admitted"
    assert _download(client, tokens["bob"]).status_code == 200
    assert _download(client, tokens["judge"]).status_code == 200  # staff need no admission
    assert _ask(client, tokens["judge"]).status_code == 403
    assert _put(client, tokens["host"], {}).json()["restricted"] is False
    assert _download(client, tokens["alice"]).status_code == 200
