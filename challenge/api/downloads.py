"""Headers of file downloads."""

from __future__ import annotations

from urllib.parse import quote


def attachment(filename: str) -> str:
    """A `Content-Disposition` for any file name (RFC 6266 with RFC 5987's `filename*`).

    The header stays one line of ASCII whatever the name holds (non-ASCII letters, quotes,
    control characters): `filename` carries an ASCII stand-in for old clients, `filename*` the
    exact name, percent-encoded as UTF-8.
    """
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\;%' else "_" for c in filename)
    exact = quote(filename, safe="")
    return f"attachment; filename=\"{fallback or 'download'}\"; filename*=UTF-8''{exact}"
