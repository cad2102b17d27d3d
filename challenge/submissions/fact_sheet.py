"""Fact sheets: questions a competition asks with every submission (Codabench's `fact_sheet`).

The questions are part of the competition's settings; a submission's answers are checked against
them at upload (required questions answered, choices among the offered ones) and kept with it.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from challenge.errors import ValidationFailed

MAX_TEXT = 500
MAX_FIELD_BYTES = 16 * 1024
EXPECTED = "fact_sheet: expected a JSON object of question: answer"


class Question(BaseModel):
    """One question: a checkbox (true/false), free text, or a choice among `selection`."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
    type: Literal["checkbox", "text", "select"]
    title: str = Field(default="", max_length=200)
    selection: list[str | int | float | bool] = Field(default_factory=list, max_length=100)
    is_required: bool = False
    is_on_leaderboard: bool = False


def questions_of(settings: dict[str, Any]) -> list[Question]:
    """The competition's fact-sheet questions (none for most competitions)."""
    return [Question.model_validate(q) for q in settings.get("fact_sheet") or []]


def check_answers(questions: list[Question], text: str) -> dict[str, Any]:
    """Parse and check the `fact_sheet` form field (a JSON object of key: answer)."""
    if not text.strip():
        answers: Any = {}
    else:
        if len(text.encode()) > MAX_FIELD_BYTES:
            raise ValidationFailed(f"fact_sheet: at most {MAX_FIELD_BYTES} bytes of JSON")
        try:
            answers = json.loads(text)
        except ValueError:
            raise ValidationFailed(
                "fact_sheet: expected a JSON object of question: answer"
            ) from None
    if not isinstance(answers, dict):
        raise ValidationFailed("fact_sheet: expected a JSON object of question: answer")
    if answers and not questions:
        raise ValidationFailed("fact_sheet: this competition asks no fact-sheet questions")
    by_key = {q.key: q for q in questions}
    unknown = sorted(set(answers) - set(by_key))
    if unknown:
        raise ValidationFailed(f"fact_sheet: unknown questions {unknown}; asked: {sorted(by_key)}")
    checked: dict[str, Any] = {}
    for question in questions:
        answer = answers.get(question.key)
        if answer in (None, ""):
            if question.is_required:
                raise ValidationFailed(f"fact_sheet: {question.key!r} is required")
            continue
        checked[question.key] = _checked(question, answer)
    return checked


def _checked(question: Question, answer: Any) -> Any:
    where = f"fact_sheet: {question.key!r}"
    if question.type == "checkbox":
        if not isinstance(answer, bool):
            raise ValidationFailed(f"{where} takes true or false")
        return answer
    if question.type == "text":
        if not isinstance(answer, str) or len(answer) > MAX_TEXT:
            raise ValidationFailed(f"{where} takes text of at most {MAX_TEXT} characters")
        return answer
    choices = [c for c in question.selection if c != ""]
    if answer not in choices:
        raise ValidationFailed(f"{where} must be one of {choices}")
    return answer
