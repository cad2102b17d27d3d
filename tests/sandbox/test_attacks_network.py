"""Attacks on the network: the host's Redis, PostgreSQL, a local HTTP API, any outside address."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import sandbox
from sandbox import Outcome, SubmissionFormat

from .conftest import assert_still_scores, python_model, request_for, run_python

CONNECT = """
import socket

TARGETS = [("127.0.0.1", 6379), ("127.0.0.1", 5432), ("127.0.0.1", {port}), ("localhost", {port}),
           ("1.1.1.1", 443), ("8.8.8.8", 53)]
UNIX = ["/var/run/postgresql/.s.PGSQL.5432", "/run/redis/redis-server.sock", "/var/run/docker.sock"]


def predict(features):
    for host, port in TARGETS:
        try:
            socket.create_connection((host, port), timeout=2).close()
            print("CONNECTED", host, port)
        except OSError as exc:
            print("blocked", host, port, type(exc).__name__, exc.errno)
    for family in (socket.AF_INET, socket.AF_INET6, socket.AF_NETLINK, socket.AF_PACKET):
        try:
            socket.socket(family, socket.SOCK_DGRAM).close()
            print("SOCKET", family)
        except OSError as exc:
            print("blocked family", int(family), exc.errno)
    for path in UNIX:
        try:
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            client.connect(path)
            print("CONNECTED", path)
        except OSError as exc:
            print("blocked", path, type(exc).__name__)
    return _good(features)
"""


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def local_api() -> Iterator[tuple[int, list[str]]]:
    """An HTTP API on the host's localhost that counts every request."""
    hits: list[str] = []
    handler = type("Handler", (_Counter,), {"hits": hits})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], hits
    server.shutdown()
    server.server_close()


def test_no_connection_to_local_services_or_outside(
    tmp_path: Path, work_dir: Path, local_api: tuple[int, list[str]]
) -> None:
    port, hits = local_api
    result = run_python(tmp_path, work_dir, CONNECT.format(port=port))
    assert result.outcome is Outcome.OK, result.message
    assert "CONNECTED" not in result.logs and "SOCKET" not in result.logs
    assert result.logs.count("blocked 127.0.0.1") == 3
    assert hits == []
    assert_still_scores(tmp_path, work_dir)


def test_the_connection_check_sees_the_api_without_the_jail(
    tmp_path: Path, work_dir: Path, local_api: tuple[int, list[str]]
) -> None:
    """Control: under the process backend the same model reaches the API, so the check works."""
    port, _ = local_api
    model = python_model(tmp_path, CONNECT.format(port=port))
    with pytest.warns(RuntimeWarning):
        result = sandbox.run(
            request_for(model, SubmissionFormat.PYTHON), backend="process", work_dir=work_dir
        )
    assert result.outcome is Outcome.OK, result.message
    assert f"CONNECTED 127.0.0.1 {port}" in result.logs
