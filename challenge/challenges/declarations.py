"""What a built-in problem declares about itself: its Y.3173 level and Y.3174 data profile."""

from __future__ import annotations

from typing import Any


def declared_for(problem_id: str | None) -> tuple[str | None, dict[str, Any] | None]:
    """The built-in problem's (level, data profile), or (None, None) for a host's bundle."""
    if problem_id is None:
        return None, None
    from challenge.problems import UnknownProblemError, get_problem

    try:
        problem = get_problem(problem_id)
    except UnknownProblemError:
        return None, None
    return problem.intelligence_level or None, dict(problem.data_handling) or None
