"""A browser's reading of a page's markup: what in it could run script."""

from __future__ import annotations

import re
from html.parser import HTMLParser

SAFE_SCHEMES = {"http", "https", "mailto"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "poster", "background"}
SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
C0_AND_SPACE = "".join(chr(code) for code in range(0x21))
FRAMES = ("iframe", "object", "embed", "frame", "base")
OUR_SCRIPTS = re.compile(r"^/static/[a-z_-]+\.js$")


def browser_url(value: str) -> str:
    """A URL as a browser's URL parser sees it: outer spaces and controls gone, no tabs/newlines."""
    return re.sub(r"[\t\n\r]", "", value.strip(C0_AND_SPACE))


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in FRAMES:
            self.problems.append(f"<{tag}>")
        if tag == "script" and not OUR_SCRIPTS.match(values.get("src") or ""):
            self.problems.append(f"<script {values}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if name in URL_ATTRIBUTES and value is not None:
                found = SCHEME.match(browser_url(value))
                if found and found.group(1).lower() not in SAFE_SCHEMES:
                    self.problems.append(f"<{tag} {name}={value!r}>")
            if name == "style" and value and "url(" in value.lower():
                self.problems.append(f"<{tag} style={value!r}>")


def unsafe_markup(html: str) -> list[str]:
    """Elements and attributes of `html` that could run script, as the browser decodes them."""
    scanner = _Scanner()
    scanner.feed(html)
    scanner.close()
    return scanner.problems
