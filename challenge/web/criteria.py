"""The rubric scoring form shared by the judges' and the jury's pages: one field per criterion."""

from __future__ import annotations

from starlette.datastructures import FormData

from challenge.errors import ValidationFailed

COMMENT_CAP = 10_000


def criterion_scores(form: FormData) -> tuple[dict[str, float], str]:
    """The scores of the `c:<criterion>` fields and the comment; a non-number is a 422."""
    values: dict[str, float] = {}
    for key, value in form.items():
        if key.startswith("c:") and isinstance(value, str):
            try:
                values[key[2:]] = float(value)
            except ValueError as exc:
                raise ValidationFailed(f"{key[2:]}: {value!r} is not a number") from exc
    comment = form.get("comment")
    return values, comment[:COMMENT_CAP] if isinstance(comment, str) else ""
