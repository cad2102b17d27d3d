"""Upload forms read inside the route, after the caller is authenticated.

FastAPI reads a route's `File()`/`Form()` parameters before it resolves the caller, so an anonymous
client could make the server spool a whole upload to disk only to be told to log in. Upload routes
therefore take no form parameters: they authenticate first, then open the form with `upload_form`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request

from challenge.errors import BadRequest, ValidationFailed

MAX_FIELDS = 16


@asynccontextmanager
async def upload_form(request: Request, *, file_field: str) -> AsyncIterator[FormData]:
    """The request's multipart form (one file at most), closed when the block ends."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise BadRequest(f"send multipart/form-data with the file in the field `{file_field}`")
    try:
        form = await request.form(max_files=1, max_fields=MAX_FIELDS)
    except MultiPartException as exc:
        raise BadRequest(f"the multipart body cannot be read: {exc.message}") from exc
    try:
        yield form
    finally:
        await form.close()


def form_file(form: FormData, name: str) -> UploadFile | None:
    """The uploaded file of a field, if one with a name was sent."""
    value = form.get(name)
    return value if isinstance(value, UploadFile) and value.filename else None


def form_text(form: FormData, name: str, *, default: str = "", max_length: int) -> str:
    """A text field, refused when it is a file or longer than `max_length`."""
    value: Any = form.get(name, default)
    if not isinstance(value, str):
        raise ValidationFailed(f"{name}: expected text, got a file")
    if len(value) > max_length:
        raise ValidationFailed(f"{name}: at most {max_length} characters")
    return value
