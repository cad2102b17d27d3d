"""Errors raised while building or running a pipeline."""

from __future__ import annotations

from sandbox import Outcome

__all__ = ["IntentError", "NodeFailure", "Outcome", "StepError"]


class IntentError(ValueError):
    """An intent is not valid; the message names the bad field path and how to fix it."""


class NodeFailure(Exception):
    """A node stopped the pipeline with a failure outcome and a message for the team or host."""

    def __init__(
        self,
        outcome: Outcome,
        message: str,
        *,
        logs: str = "",
        kpis: dict[str, float] | None = None,
        timings: dict[str, float] | None = None,
        kill_reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.message = message
        self.logs = logs
        self.kpis = kpis or {}
        self.timings = timings or {}
        self.kill_reason = kill_reason


class StepError(NodeFailure):
    """A host-defined step (preprocessor, policy) cannot run on this data: the host's problem."""

    def __init__(self, message: str) -> None:
        super().__init__(Outcome.INFRASTRUCTURE_ERROR, message)
