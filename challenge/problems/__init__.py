"""Built-in problem statements, each with a seeded simulator (the simulated underlay of Y.3172).

A pure library: no web, database or Celery code. `get_problem("network-delay").write_bundle(dir)`
writes a host bundle that the platform turns into a competition.
"""

from __future__ import annotations

import importlib
import importlib.util

from challenge.problems.base import GeneratedData, Problem

# id -> module that defines `PROBLEM`; modules load on first use.
_MODULES: dict[str, str] = {
    "network-delay": "challenge.problems.network_delay",
    "throughput-prediction": "challenge.problems.throughput_prediction",
    "radio-link-failure": "challenge.problems.radio_link_failure",
    "beam-selection": "challenge.problems.beam_selection",
    "traffic-forecast": "challenge.problems.traffic_forecast",
    "kpi-anomaly": "challenge.problems.kpi_anomaly",
    "modulation-classification": "challenge.problems.modulation_classification",
}


class UnknownProblemError(KeyError):
    """Raised for a problem id that is not built in; the message lists the valid ids."""

    def __str__(self) -> str:
        return str(self.args[0])


def problem_ids() -> list[str]:
    """The ids of every built-in problem that is available."""
    return [pid for pid in _MODULES if _available(pid)]


def _available(problem_id: str) -> bool:
    return importlib.util.find_spec(_MODULES[problem_id]) is not None


def get_problem(problem_id: str) -> Problem:
    """The built-in problem with this id."""
    if problem_id not in _MODULES or not _available(problem_id):
        raise UnknownProblemError(
            f"unknown problem {problem_id!r}; built-in problems: {', '.join(problem_ids())}"
        )
    module = importlib.import_module(_MODULES[problem_id])
    problem: Problem = module.PROBLEM
    if problem.id != problem_id:
        raise RuntimeError(f"{_MODULES[problem_id]} defines {problem.id!r}, not {problem_id!r}")
    return problem


def list_problems() -> list[Problem]:
    """Every available built-in problem, in the order of PROBLEMS.md."""
    return [get_problem(pid) for pid in problem_ids()]


__all__ = ["GeneratedData", "Problem", "UnknownProblemError", "get_problem", "list_problems"]
