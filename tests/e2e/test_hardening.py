"""Issue 19's review, replayed against a real `mlchallenge serve`: each reproduction now fails.

The server runs with small limits (2 MB uploads, 64 KB other bodies, 2 s for headers and body
pauses) so that every limit is reached quickly.
"""

from __future__ import annotations

import socket
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx
import numpy as np
import pandas as pd
import pytest

from tests.e2e.server import LiveServer, start_server, wait_for
from tests.hardening.test_private_figures import floor_settings
from tests.platform.helpers import (
    regression_settings,
    write_regression_bundle,
    zip_folder,
)

pytestmark = pytest.mark.slow

PASSWORD = "password123"
LIMITS = {
    "MLCHALLENGE_MAX_UPLOAD_MB": "2",
    "MLCHALLENGE_MAX_BODY_KB": "64",
    "MLCHALLENGE_HEADER_TIMEOUT_S": "2",
    "MLCHALLENGE_BODY_TIMEOUT_S": "2",
    # the login-timing test logs in many times: the rate limits have their own tests
    "MLCHALLENGE_RATE_LIMIT_LOGIN": "1000/minute",
    "MLCHALLENGE_RATE_LIMIT_LOGIN_USER": "1000/minute",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("hardening") / "home", extra_env=LIMITS)
    yield live
    live.stop()


@pytest.fixture(scope="module")
def users(server: LiveServer) -> dict[str, str]:
    tokens = {}
    for name, role in (("host", "host"), ("rival", "host"), ("alice", "participant")):
        with server.client(server.admin_token) as admin:
            response = admin.post(
                "/api/v1/users",
                json={
                    "username": name,
                    "email": f"{name}@example.org",
                    "password": PASSWORD,
                    "role": role,
                },
            )
        assert response.status_code == 201, response.text
        tokens[name] = response.json()["token"]
    return tokens


@pytest.fixture(scope="module")
def tiny(
    server: LiveServer, users: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Competition `tiny` with alice in team Alpha."""
    bundle = write_regression_bundle(tmp_path_factory.mktemp("tiny") / "bundle")
    with server.client(users["host"]) as host:
        created = host.post(
            "/api/v1/competitions",
            files={"bundle": ("b.zip", zip_folder(bundle), "application/zip")},
        )
    assert created.status_code == 201, created.text
    with server.client(users["alice"]) as alice:
        assert alice.post("/api/v1/competitions/tiny/teams", json={"name": "Alpha"}).is_success
    return bundle


def address(server: LiveServer) -> tuple[str, int]:
    parts = urlsplit(server.url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def read_response(sock: socket.socket, timeout: float) -> bytes:
    """What the server answers within `timeout`, head and body (b'' if it hangs up silently)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data or len(data) < _expected_length(data):
            piece = sock.recv(65536)
            if not piece:
                break
            data += piece
    except TimeoutError:
        pass
    return data


def _expected_length(data: bytes) -> int:
    """Head plus Content-Length bytes, once the head has arrived."""
    head_end = data.index(b"\r\n\r\n") + 4
    for line in data[:head_end].split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return head_end + int(value.strip())
    return head_end


def head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


FILE_PART = b'--xx\r\nContent-Disposition: form-data; name="file"; filename="p.csv"\r\n\r\n'


def stream_until_answered(
    server: LiveServer, path: str, headers: dict[str, str], *, total: int, prefix: bytes = b""
) -> tuple[bytes, int]:
    """Send a chunked body of up to `total` bytes; stop when the server answers or hangs up."""
    sock = socket.create_connection(address(server))
    sock.sendall(head("POST", path, {**headers, "Transfer-Encoding": "chunked"}))
    if prefix:
        sock.sendall(chunk(prefix))
    answered = threading.Event()
    sent = 0

    def send() -> None:
        nonlocal sent
        piece = chunk(b"0" * 65536)
        try:
            while sent < total and not answered.is_set():
                sock.sendall(piece)
                sent += 65536
            if not answered.is_set():
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server closed the connection: it stopped reading

    sender = threading.Thread(target=send)
    sender.start()
    response = read_response(sock, timeout=120)
    answered.set()
    sender.join(timeout=60)
    sock.close()
    return response, sent


# --- item 5: limits before work -------------------------------------------------------------


def test_an_anonymous_upload_is_refused_before_its_body_is_read(
    server: LiveServer, tiny: Path
) -> None:
    sock = socket.create_connection(address(server))
    sock.sendall(
        head(
            "POST",
            "/api/v1/competitions/tiny/submissions",
            {"Content-Type": "multipart/form-data; boundary=xx", "Transfer-Encoding": "chunked"},
        )
    )
    sock.sendall(chunk(FILE_PART + b"0" * 65536))
    answer = read_response(sock, timeout=10)  # the body is still open: we send nothing more
    sock.close()
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]


def test_a_chunked_upload_over_the_cap_is_cut_off_as_it_streams(
    server: LiveServer, users: dict[str, str], tiny: Path
) -> None:
    headers = {
        "Authorization": f"Bearer {users['alice']}",
        "Content-Type": "multipart/form-data; boundary=xx",
    }
    answer, sent = stream_until_answered(
        server,
        "/api/v1/competitions/tiny/submissions",
        headers,
        total=300 * 1024**2,
        prefix=FILE_PART,
    )
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"larger than 2 MB" in answer
    assert sent < 40 * 1024**2, f"{sent / 1024**2:.0f} MB were sent before the refusal"


def test_a_large_json_body_is_refused_before_it_is_parsed(
    server: LiveServer, users: dict[str, str], tiny: Path
) -> None:
    headers = {"Authorization": f"Bearer {users['alice']}", "Content-Type": "application/json"}
    answer, sent = stream_until_answered(
        server, "/api/v1/competitions/tiny/teams", headers, total=300 * 1024**2
    )
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert sent < 40 * 1024**2
    declared = socket.create_connection(address(server))
    declared.sendall(
        head(
            "POST",
            "/api/v1/competitions/tiny/submissions",
            {
                "Authorization": f"Bearer {users['alice']}",
                "Content-Type": "multipart/form-data; boundary=xx",
                "Content-Length": str(10 * 1024**3),
            },
        )
    )
    assert read_response(declared, timeout=10).startswith(b"HTTP/1.1 413")  # no body sent
    declared.close()


def test_a_header_of_repeated_names_is_refused_at_once(
    server: LiveServer, users: dict[str, str], tiny: Path
) -> None:
    """The review's 160 KB header cost 54 s of CPU to refuse."""
    bomb = b"id,y," + b"y," * 80_000 + b"y\n1,2\n"
    started = time.monotonic()
    with server.client(users["alice"]) as alice:
        response = alice.post(
            "/api/v1/competitions/tiny/submissions",
            files={"file": ("pred.csv", bomb)},
            data={"format": "predictions"},
        )
    assert response.status_code == 422, response.text
    assert "longer than 64 KB" in response.json()["message"]
    assert time.monotonic() - started < 15


def test_a_yaml_alias_bomb_is_refused_at_once(
    server: LiveServer, users: dict[str, str], tmp_path: Path
) -> None:
    """The review's 1.3 KB competition.yaml took 15 s and 2 GB to refuse."""
    bundle = write_regression_bundle(tmp_path / "bundle", settings=regression_settings("bomb"))
    laughs = "lol0: &lol0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"lol{i}: &lol{i} [{', '.join([f'*lol{i - 1}'] * 10)}]\n" for i in range(1, 9)
    )
    settings_text = (bundle / "competition.yaml").read_text()
    (bundle / "competition.yaml").write_text(
        settings_text + "extra:\n  " + laughs.replace("\n", "\n  ")
    )
    started = time.monotonic()
    with server.client(users["host"]) as host:
        response = host.post(
            "/api/v1/competitions",
            files={"bundle": ("b.zip", zip_folder(bundle), "application/zip")},
        )
    assert response.status_code == 422, response.text
    assert "expands to more than 100000 values" in response.json()["message"]
    assert time.monotonic() - started < 15


def test_slow_clients_are_cut_off(server: LiveServer, users: dict[str, str]) -> None:
    started = time.monotonic()
    idle = socket.create_connection(address(server))
    assert read_response(idle, timeout=20) == b""  # hung up without a request
    assert time.monotonic() - started < 15
    trickle = socket.create_connection(address(server))
    trickle.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
    assert read_response(trickle, timeout=20).startswith(b"HTTP/1.1 408")
    huge = socket.create_connection(address(server))
    huge.sendall(
        b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 100_000 + b"\r\n\r\n"
    )
    assert read_response(huge, timeout=20).startswith(b"HTTP/1.1 431")
    stalled = socket.create_connection(address(server))
    stalled.sendall(
        head(
            "POST",
            "/api/v1/competitions/tiny/teams",
            {
                "Authorization": f"Bearer {users['alice']}",
                "Content-Type": "application/json",
                "Content-Length": "100",
            },
        )
        + b'{"na'
    )
    answer = read_response(stalled, timeout=20)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    for sock in (idle, trickle, huge, stalled):
        sock.close()


# --- item 2: the same slug at once ------------------------------------------------------------


def test_two_hosts_upload_one_slug_at_once(
    server: LiveServer, users: dict[str, str], tmp_path: Path
) -> None:
    zips, labels = {}, {}
    for who in ("host", "rival"):
        folder = write_regression_bundle(
            tmp_path / who, n=4000, settings=regression_settings("contested", title=f"by {who}")
        )
        truth = pd.read_csv(folder / "test_labels.csv")
        if who == "rival":
            truth["y"] = 100 - truth["y"]
            truth.to_csv(folder / "test_labels.csv", index=False)
        zips[who], labels[f"by {who}"] = zip_folder(folder), truth
    barrier = threading.Barrier(2)
    responses: dict[str, httpx.Response] = {}

    def upload(who: str) -> None:
        with server.client(users[who]) as client:
            barrier.wait()
            responses[who] = client.post(
                "/api/v1/competitions",
                files={"bundle": ("b.zip", zips[who], "application/zip")},
            )

    threads = [threading.Thread(target=upload, args=(who,)) for who in zips]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    codes = sorted(r.status_code for r in responses.values())
    assert codes == [201, 409], {w: r.text[:300] for w, r in responses.items()}
    winner = next(r for r in responses.values() if r.status_code == 201).json()
    loser = next(r for r in responses.values() if r.status_code == 409).json()
    assert "contested" in loser["message"] and "choose another slug" in loser["message"]
    stored = pd.read_parquet(server.home / "labels" / "contested" / "test_labels.parquet")
    assert stored["y"].tolist() == labels[winner["title"]]["y"].tolist()


# --- item 3: no private figure in messages -----------------------------------------------------


def test_the_validity_floor_tells_the_team_no_private_figure(
    server: LiveServer, users: dict[str, str], tmp_path: Path
) -> None:
    bundle = write_regression_bundle(tmp_path / "floor", settings=floor_settings("floored"))
    with server.client(users["host"]) as host:
        created = host.post(
            "/api/v1/competitions",
            files={"bundle": ("b.zip", zip_folder(bundle), "application/zip")},
        )
        assert created.status_code == 201, created.text
    labels = pd.read_parquet(server.home / "labels" / "floored" / "test_labels.parquet")
    offset = np.where(labels["split"] == "private", 7.123, 0.0)
    predictions = labels.assign(y=labels["y"] + offset)[["id", "y"]].to_csv(index=False).encode()
    with server.client(users["alice"]) as alice:
        assert alice.post("/api/v1/competitions/floored/teams", json={"name": "Alpha"}).is_success
        sent = alice.post(
            "/api/v1/competitions/floored/submissions",
            files={"file": ("pred.csv", predictions)},
            data={"format": "predictions"},
        )
        assert sent.status_code == 201, sent.text
        seen = wait_for(alice, sent.json()["id"])
        page = alice.get(f"/api/v1/submissions/{seen['id']}").text
    assert seen["status"] == "finished" and seen["valid"] is False
    assert seen["error"] == "rmse on the private split is above the bound 0.5"
    assert "private" not in seen["scores"] and "7.1" not in page
    with server.client(users["host"]) as host:
        staff = host.get(f"/api/v1/submissions/{seen['id']}").json()
    assert staff["scores"]["private"]["rmse"] == pytest.approx(7.123, rel=1e-3)


# --- item 7: the smaller ones -------------------------------------------------------------------


def test_exports_of_phases_with_any_name(
    server: LiveServer, users: dict[str, str], tmp_path: Path
) -> None:
    names = ["Фаза «финал»", 'tab\tquote"semi;colon', "emoji 🚀 ü"]
    settings = regression_settings("named")
    settings["phases"] = [{"name": name, "start": "2026-01-01T00:00:00Z"} for name in names]
    bundle = write_regression_bundle(tmp_path / "named", settings=settings)
    with server.client(users["host"]) as host:
        created = host.post(
            "/api/v1/competitions",
            files={"bundle": ("b.zip", zip_folder(bundle), "application/zip")},
        )
        assert created.status_code == 201, created.text
        for name in names:
            exported = host.get(
                "/api/v1/competitions/named/leaderboard/export", params={"phase": name}
            )
            assert exported.status_code == 200, exported.text
            disposition = exported.headers["content-disposition"]
            assert disposition.isascii() and "\t" not in disposition
            exact = disposition.split("filename*=UTF-8''", 1)[1]
            assert unquote(exact) == f"named-{name}-public-live.csv"


def test_login_takes_as_long_for_an_unknown_user(server: LiveServer, users: dict[str, str]) -> None:
    """Medians of interleaved attempts: an unknown name must cost what a wrong password costs."""

    def attempt(client: httpx.Client, username: str) -> float:
        started = time.perf_counter()
        response = client.post("/api/v1/auth/login", json={"username": username, "password": "x"})
        assert response.status_code == 401
        return time.perf_counter() - started

    known: list[float] = []
    unknown: list[float] = []
    with server.client() as client:
        attempt(client, "alice")  # warm up
        for round_ in range(9):
            known.append(attempt(client, "alice"))
            unknown.append(attempt(client, f"nobody{round_}"))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert ratio > 0.6, (
        f"unknown {statistics.median(unknown):.4f} s, known {statistics.median(known):.4f} s"
    )


def test_the_data_folder_is_private(server: LiveServer, tiny: Path) -> None:
    home = server.home
    for folder in (home, home / "storage", home / "labels", home / "mlartifacts"):
        assert folder.stat().st_mode & 0o777 == 0o700, folder
    databases = [p for p in home.iterdir() if p.name.endswith((".db", ".db-wal", ".db-shm"))]
    assert {"mlchallenge.db", "broker.db", "mlflow.db"} <= {p.name for p in databases}
    for database in databases:
        assert database.stat().st_mode & 0o077 == 0, database
    stored = home / "storage" / "competitions" / "tiny"
    assert stored.stat().st_mode & 0o077 == 0
