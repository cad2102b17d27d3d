"""Sinks that run inside the transaction that records a result (the leaderboard, registered by
`leaderboards/`): a result and its board entry are committed together or not at all."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from challenge.submissions.models import Submission

CommitSink = Callable[[Session, Submission], None]
_SINKS: dict[str, CommitSink] = {}


def register_commit_sink(name: str, sink: CommitSink) -> None:
    """Register a sink called with (session, submission) when a result is recorded."""
    if not name.isidentifier() or not callable(sink):
        raise ValueError(f"commit sink {name!r}: needs an identifier name and a callable")
    if name in _SINKS and _SINKS[name] is not sink:
        raise ValueError(f"commit sink {name!r} is already registered")
    _SINKS[name] = sink


def commit_sink_names() -> list[str]:
    """The registered commit sinks."""
    _load_plugins()
    return sorted(_SINKS)


def run_commit_sinks(session: Session, submission: Submission) -> None:
    """Call every registered commit sink, in name order."""
    _load_plugins()
    for name in sorted(_SINKS):
        _SINKS[name](session, submission)


ENTRY_POINT_GROUP = "mlchallenge.commit_sinks"
_loaded = False


def _load_plugins() -> None:
    """Load the plug-ins declared under the `mlchallenge.commit_sinks` entry-point group once."""
    global _loaded
    if _loaded:
        return
    from importlib.metadata import entry_points

    for entry in entry_points(group=ENTRY_POINT_GROUP):
        register_commit_sink(entry.name, entry.load())
    _loaded = True
