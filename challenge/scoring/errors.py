"""Errors raised by the scoring library, each written for the person who can fix it."""

from __future__ import annotations

import difflib
from collections.abc import Sequence


class ScoringError(ValueError):
    """Base class of every error the scoring library raises on bad input."""


class UnknownMetricError(ScoringError, KeyError):
    """A metric name that is not in the registry; the message lists the valid names."""

    def __init__(self, name: str, valid: Sequence[str]) -> None:
        self.name = name
        self.valid = list(valid)
        close = difflib.get_close_matches(str(name), self.valid, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        super().__init__(
            f"unknown metric {name!r}; valid metrics: {', '.join(self.valid)}.{hint} "
            "Use one of these names, or register the metric with register_scorer(...)."
        )

    def __str__(self) -> str:
        return str(self.args[0])


class ScorerRegistrationError(ScoringError):
    """A custom scorer refused at registration (bad name, callable, direction or response)."""


class MetricParamsError(ScoringError):
    """Parameters of a metric that the metric does not accept or that are out of range."""


class MetricNotApplicableError(ScoringError):
    """A metric used for a task it does not apply to (e.g. accuracy on a regression)."""


class LabelsError(ScoringError):
    """The host's hidden labels table is malformed (a host error, not the team's)."""


class InvalidPredictionsError(ScoringError):
    """A team's predictions do not fit the test set; the message tells the team what to fix."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        self.problems = list(problems) or [message]
        super().__init__(message)
