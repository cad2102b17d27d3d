"""YAML written by users (bundles, intents): plain data only, no aliases, a size cap.

`yaml.safe_load` refuses tags that build objects but still expands aliases: a 1.3 KB document
of nested aliases (a "billion laughs") took 15 s and 2 GB to refuse. This loader refuses an alias
the moment the parser meets one, so loading is linear in the document's size, and the size is
capped before parsing starts. Deep nesting is refused too, before Python's recursion limit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.nodes import Node

from challenge.errors import ValidationFailed

MAX_YAML_BYTES = 256 * 1024
MAX_DEPTH = 64


class _PlainLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases and deeply nested documents."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        """Compose one node; an alias or nesting deeper than MAX_DEPTH is an error."""
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise ComposerError(
                None,
                None,
                f"aliases (*{event.anchor}) are not accepted; write the value out in full",
                event.start_mark,
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise ComposerError(
                    None,
                    None,
                    f"the document nests deeper than {MAX_DEPTH} levels",
                    self.peek_event().start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml_text(text: str, *, label: str, max_bytes: int = MAX_YAML_BYTES) -> Any:
    """The data of a YAML document; refused (naming `label`) when too large or unsafe."""
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise ValidationFailed(
            f"{label} is {size // 1024} KB; YAML documents are limited to {max_bytes // 1024} KB"
        )
    try:
        return yaml.load(text, Loader=_PlainLoader)  # a SafeLoader: plain data only
    except yaml.YAMLError as exc:
        raise ValidationFailed(f"{label} is not valid YAML: {exc}") from exc


def load_yaml_file(path: Path, *, max_bytes: int = MAX_YAML_BYTES) -> Any:
    """The data of a YAML file, read only when it is within `max_bytes`."""
    label = path.name
    size = path.stat().st_size
    if size > max_bytes:
        raise ValidationFailed(
            f"{label} is {size // 1024} KB; YAML documents are limited to {max_bytes // 1024} KB"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(f"{label} is not UTF-8 text: {exc.reason}") from exc
    return load_yaml_text(text, label=label, max_bytes=max_bytes)
