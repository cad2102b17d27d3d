"""Exporting a board (live, or the final snapshot of a finalized phase) as CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from challenge.accounts.models import User
from challenge.competitions.models import Competition, Phase
from challenge.errors import NotFound
from leaderboards import snapshots
from leaderboards.service import Board, get_board


class Source(StrEnum):
    """Which board is exported: the live one, or the snapshot frozen at finalization."""

    LIVE = "live"
    FINAL = "final"


class ExportFormat(StrEnum):
    """The file format of an export."""

    CSV = "csv"
    JSON = "json"


BASE_COLUMNS = (
    "rank",
    "team_id",
    "team",
    "score",
    "interval_low",
    "interval_high",
    "tied_with_previous",
    "submission_id",
    "submitted_at",
    "is_baseline",
)


def board_for_export(
    session: Session,
    *,
    competition: Competition,
    phase: Phase,
    board: str,
    user: User | None,
    source: Source,
) -> Board:
    """The board to export, under the same visibility rules as the board itself."""
    live = get_board(session, competition=competition, phase=phase, board=board, user=user)
    if source is Source.LIVE:
        return live
    snapshot = snapshots.latest(session, phase=phase, board=board)
    if snapshot is None:
        raise NotFound(
            f"phase {phase.name!r} of {competition.slug!r} is not finalized: there is no final "
            "board yet; export source=live instead"
        )
    return snapshots.as_board(snapshot)


def to_json(board: Board, *, competition: Competition, source: Source) -> dict[str, Any]:
    """The export as a JSON document."""
    return {
        "competition": competition.slug,
        "phase": board.phase,
        "board": board.board,
        "source": source.value,
        "metric": board.metric,
        "greater_is_better": board.greater_is_better,
        "finalized": board.finalized,
        "rows": board.rows,
    }


def to_csv(board: Board) -> str:
    """The export as CSV: one line per team, a column per metric of the board."""
    metrics = sorted({name for row in board.rows for name in (row.get("scores") or {})})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*BASE_COLUMNS, *metrics])
    for row in board.rows:
        interval = row.get("interval") or [None, None]
        values = {
            "rank": row.get("rank"),
            "team_id": row["team"]["id"],
            "team": _text(str(row["team"]["name"])),
            "score": row.get("score"),
            "interval_low": interval[0],
            "interval_high": interval[1],
            "tied_with_previous": row.get("tied_with_previous", False),
            "submission_id": row.get("submission_id"),
            "submitted_at": row.get("submitted_at"),
            "is_baseline": row.get("is_baseline", False),
        }
        scores = row.get("scores") or {}
        writer.writerow(
            [_cell(values[c]) for c in BASE_COLUMNS] + [_cell(scores.get(m)) for m in metrics]
        )
    return out.getvalue()


def _text(value: str) -> str:
    """Neutralise a leading formula character so that spreadsheets show the text as text."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def file_name(competition: Competition, board: Board, source: Source, fmt: ExportFormat) -> str:
    """The download's file name."""
    return f"{competition.slug}-{board.phase}-{board.board}-{source.value}.{fmt.value}"


@dataclass(frozen=True)
class Exported:
    """A board export ready to download."""

    content: str
    media_type: str
    file_name: str


def export(
    session: Session,
    *,
    slug: str,
    phase_name: str | None,
    board: str,
    user: User | None,
    source: Source,
    fmt: ExportFormat,
) -> Exported:
    """A competition's board as a CSV or JSON download."""
    from challenge.competitions import lifecycle
    from challenge.competitions import service as competitions

    competition = lifecycle.get_visible_or_raise(session, slug=slug, user=user)
    phase = competitions.get_phase_or_raise(competition, name=phase_name)
    chosen = board_for_export(
        session, competition=competition, phase=phase, board=board, user=user, source=source
    )
    name = file_name(competition, chosen, source, fmt)
    if fmt is ExportFormat.CSV:
        return Exported(to_csv(chosen), "text/csv; charset=utf-8", name)
    document = to_json(chosen, competition=competition, source=source)
    return Exported(json.dumps(document, indent=2), "application/json", name)
