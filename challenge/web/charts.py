"""A small inline SVG of each team's best score over time, drawn on the server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD = 640, 240, 44
COLOURS = ("#1b6ac9", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0e7490", "#a16207", "#4d7c0f")


@dataclass(frozen=True)
class Series:
    """One team's best-score steps."""

    team: str
    points: list[tuple[datetime, float]]


def series_of(points: list[dict[str, Any]], *, limit: int = len(COLOURS)) -> list[Series]:
    """Group history points (from leaderboards.service.history) by team, first teams first."""
    grouped: dict[str, list[tuple[datetime, float]]] = {}
    for point in points:
        grouped.setdefault(point["team"], []).append(
            (datetime.fromisoformat(point["at"]), float(point["score"]))
        )
    return [Series(team, steps) for team, steps in list(grouped.items())[:limit]]


def _scale(value: float, low: float, high: float, start: float, end: float) -> float:
    if high == low:
        return (start + end) / 2
    return start + (value - low) * (end - start) / (high - low)


def best_score_chart(series: list[Series], *, metric: str, now: datetime) -> Markup:
    """An accessible SVG line chart (step lines to `now`), or an empty string without data."""
    if not series:
        return Markup("")
    times = [t.timestamp() for s in series for t, _ in s.points] + [now.timestamp()]
    scores = [v for s in series for _, v in s.points]
    t0, t1, lo, hi = min(times), max(times), min(scores), max(scores)
    if hi == lo:
        margin = abs(lo) * 0.05 or 1.0
        lo, hi = lo - margin, hi + margin
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title chart-desc"'
        ' class="chart">',
        f'<title id="chart-title">Best {escape(metric)} over time</title>',
        f'<desc id="chart-desc">Each team\'s best {escape(metric)} on the public board, '
        f"from {lo:.4g} to {hi:.4g}.</desc>",
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - 8}" y2="{HEIGHT - PAD}" '
        'stroke="#888"/>',
        f'<line x1="{PAD}" y1="8" x2="{PAD}" y2="{HEIGHT - PAD}" stroke="#888"/>',
        f'<text x="4" y="16" font-size="11">{hi:.4g}</text>',
        f'<text x="4" y="{HEIGHT - PAD}" font-size="11">{lo:.4g}</text>',
        f'<text x="{PAD}" y="{HEIGHT - PAD + 16}" font-size="11">'
        f"{datetime.fromtimestamp(t0, UTC).strftime('%m-%d %H:%M')} UTC</text>",
        f'<text x="{WIDTH - 90}" y="{HEIGHT - PAD + 16}" font-size="11">now</text>',
    ]
    for index, one in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        coordinates: list[str] = []
        previous_y: float | None = None
        for moment, value in one.points:
            x = _scale(moment.timestamp(), t0, t1, PAD, WIDTH - 12)
            y = _scale(value, lo, hi, HEIGHT - PAD - 6, 14)
            if previous_y is not None:
                coordinates.append(f"{x:.1f},{previous_y:.1f}")
            coordinates.append(f"{x:.1f},{y:.1f}")
            previous_y = y
        coordinates.append(f"{WIDTH - 12:.1f},{previous_y:.1f}")
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
            f'points="{" ".join(coordinates)}"><title>{escape(one.team)}</title></polyline>'
        )
        legend_y = HEIGHT - 10
        legend_x = PAD + index * 120
        parts.append(
            f'<rect x="{legend_x}" y="{legend_y - 9}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{legend_x + 14}" y="{legend_y}" font-size="11">'
            f"{escape(one.team[:16])}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
