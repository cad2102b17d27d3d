"""`mlchallenge download` writes only plain file names into its folder, whatever a server sends."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from challenge.cli.main import cli
from tests.e2e.server import free_port


def hostile_server(names: list[str]) -> ThreadingHTTPServer:
    """A server that lists `names` as a competition's data files and serves any of them."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the http.server hook
            if self.path == "/api/v1/competitions/evil":
                body = json.dumps(
                    {"data_files": {key: {"size": 5} for key in names}, "description": "x"}
                ).encode()
                kind = "application/json"
            else:
                body, kind = b"owned", "text/csv"
            self.send_response(200)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            return

    return ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)


@pytest.fixture
def serve_names() -> Iterator[Any]:
    servers: list[ThreadingHTTPServer] = []

    def start(names: list[str]) -> str:
        server = hostile_server(names)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    "name",
    [
        "../escape.txt",
        "../../escape.txt",
        "/tmp/absolute.txt",
        "sub/dir.txt",
        "..",
        ".",
        "a\\..\\escape.txt",
        "C:escape.txt",
        "nul\x00.txt",
        "line\nbreak.txt",
        "",
    ],
)
def test_a_name_with_a_path_in_it_is_refused(serve_names: Any, tmp_path: Path, name: str) -> None:
    url = serve_names(["train.parquet", name])
    out = tmp_path / "deep" / "data"
    result = CliRunner().invoke(cli, ["download", "evil", "--server", url, "--out", str(out)])
    assert result.exit_code != 0
    assert "not a plain file name" in result.output and "nothing was written" in result.output
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written == []


def test_plain_names_are_downloaded(serve_names: Any, tmp_path: Path) -> None:
    url = serve_names(["train.parquet", "test..v2.parquet"])
    out = tmp_path / "data"
    result = CliRunner().invoke(cli, ["download", "evil", "--server", url, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "description.md",
        "test..v2.parquet",
        "train.parquet",
    ]
