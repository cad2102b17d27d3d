"""Pure pieces of the web layer: Markdown escaping, the chart, phase wording, redirects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from challenge.web.account import safe_next
from challenge.web.charts import best_score_chart, series_of
from challenge.web.markdown_render import render_markdown
from challenge.web.timing import phase_state


def test_markdown_escapes_raw_html_and_drops_script_links() -> None:
    html = str(
        render_markdown(
            "# Title\n\n<script>alert(1)</script>\n\nInline <img src=x onerror=alert(1)> text.\n\n"
            "[a](javascript:alert(1)) [b](https://example.org) [c](/competitions/x) "
            "![i](data:image/svg+xml;base64,AAAA)\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
        )
    )
    assert "<h2>Title</h2>" in html and "<h1" not in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html and "&lt;img" in html
    assert "javascript:" not in html and "data:image" not in html
    assert 'href="https://example.org"' in html and 'href="/competitions/x"' in html
    assert "<table>" in html


def test_chart_draws_one_line_per_team_and_escapes_names() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    points: list[dict[str, Any]] = [
        {"team": "<b>Alpha</b>", "score": 0.5, "at": start.isoformat()},
        {"team": "Beta", "score": 0.4, "at": (start + timedelta(hours=1)).isoformat()},
        {"team": "<b>Alpha</b>", "score": 0.3, "at": (start + timedelta(hours=2)).isoformat()},
    ]
    svg = str(best_score_chart(series_of(points), metric="mae", now=start + timedelta(hours=3)))
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert svg.count("<polyline") == 2
    assert "<b>" not in svg and "&lt;b&gt;Alpha" in svg
    assert str(best_score_chart([], metric="mae", now=start)) == ""


def test_phase_state_says_how_long_is_left() -> None:
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)

    def phase(start: datetime, end: datetime | None, finalized: datetime | None = None) -> Any:
        return SimpleNamespace(start_at=start, end_at=end, finalized_at=finalized)

    open_phase = phase_state(
        phase(now - timedelta(days=1), now + timedelta(days=3, hours=4)), now=now
    )
    assert (open_phase.key, open_phase.detail) == ("open", "3 d 4 h left")
    assert phase_state(phase(now + timedelta(minutes=30), None), now=now).detail == (
        "starts in 30 min"
    )
    assert phase_state(phase(now - timedelta(days=2), now - timedelta(days=1)), now=now).key == (
        "ended"
    )
    assert phase_state(phase(now - timedelta(days=2), None, now), now=now).key == "finalized"
    assert phase_state(phase(now - timedelta(days=2), None), now=now).detail == "no end date"


def test_login_redirects_stay_on_the_site() -> None:
    assert safe_next("/competitions/tiny") == "/competitions/tiny"
    for target in ("https://evil.example", "//evil.example", "/\\evil", "", None):
        assert safe_next(target) == "/"


def test_phase_edits_are_checked_before_they_are_saved() -> None:
    from challenge.accounts.models import Role
    from challenge.competitions.models import StaffRole
    from challenge.competitions.phases import PhaseChange, update
    from challenge.errors import BadRequest, Conflict, Forbidden

    start = datetime(2026, 1, 1, tzinfo=UTC)

    def phase(phase_id: int, position: int, begins: datetime) -> Any:
        return SimpleNamespace(
            id=phase_id,
            competition_id=7,
            position=position,
            name=f"p{position}",
            start_at=begins,
            end_at=None,
            finalized_at=None,
            max_per_day=5,
            max_total=10,
            max_pending=2,
        )

    first, second = phase(1, 0, start), phase(2, 1, start + timedelta(days=30))
    staff = [SimpleNamespace(user_id=3, role=StaffRole.HOST)]
    competition: Any = SimpleNamespace(id=7, slug="c", staff=staff, phases=[first, second])
    host: Any = SimpleNamespace(id=3, role=Role.HOST)
    session: Any = SimpleNamespace(flush=lambda: None)

    def attempt(target: Any, user: Any = host, **overrides: Any) -> None:
        values: dict[str, Any] = {
            "start_at": start,
            "end_at": start + timedelta(days=10),
            "max_per_day": 3,
            "max_total": 9,
            "max_pending": 1,
        }
        update(
            session,
            competition=competition,
            phase=target,
            user=user,
            change=PhaseChange(**{**values, **overrides}),
        )

    for stranger in (SimpleNamespace(id=4, role=Role.HOST), SimpleNamespace(id=5, role=Role.JUDGE)):
        with pytest.raises(Forbidden):
            attempt(first, stranger)
    for overrides in (
        {"end_at": start},
        {"max_pending": 0},
        {"max_per_day": 10},
        {"start_at": start.replace(tzinfo=None)},
    ):
        with pytest.raises(BadRequest):
            attempt(first, **overrides)
    with pytest.raises(BadRequest, match="previous phase"):
        attempt(second, start_at=start - timedelta(days=1), end_at=None)
    attempt(first)
    assert (first.max_total, first.end_at) == (9, start + timedelta(days=10))
    second.finalized_at = start
    with pytest.raises(Conflict, match="frozen"):
        attempt(second, start_at=start + timedelta(days=31), end_at=None)
