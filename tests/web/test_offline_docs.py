"""/docs and /redoc work without internet: their files come from the platform itself."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def test_docs_load_only_local_files(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        html = client.get(page)
        assert html.status_code == 200
        sources = re.findall(r'(?:src|href)="([^"]+)"', html.text)
        assert sources, html.text
        assert all(s.startswith("/") for s in sources), sources  # nothing from a CDN
        for source in sources:
            if source.startswith("/docs/assets/"):
                asset = client.get(source)
                assert asset.status_code == 200 and len(asset.content) > 1000, source
    assert client.get("/openapi.json").json()["info"]["title"] == "mlchallenge"
