"""YAML written by users (bundles, intents): plain data only, bounded expansion, a size cap.

`yaml.safe_load` refuses tags that build objects but expands aliases without limit: a 1.3 KB
document of nested aliases (a "billion laughs") took 15 s and 2 GB to refuse. This loader keeps
aliases (PyYAML's own dumps use them for repeated values) but counts the nodes the document would
have with every alias written out, and refuses it past `MAX_NODES`, the moment the alias that
crosses the bound is read. The size is capped before parsing, and deep nesting is refused before
Python's recursion limit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.nodes import MappingNode, Node, SequenceNode

from challenge.errors import ValidationFailed

MAX_YAML_BYTES = 256 * 1024
MAX_DEPTH = 64
MAX_NODES = 100_000
"""Nodes of the document with its aliases expanded (a competition.yaml has a few hundred)."""


class _PlainLoader(yaml.SafeLoader):
    """SafeLoader that bounds alias expansion and nesting depth."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._expanded = 0
        self._sizes: dict[int, int] = {}
        self._open: set[str | None] = set()
        """Anchors whose values are being composed: an alias to one would make a cycle."""

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        """Compose one node, counting what aliases expand to; refuse past the bounds."""
        event = self.peek_event()
        anchor = getattr(event, "anchor", None)
        if self.check_event(yaml.AliasEvent):
            if anchor in self._open:
                self._refuse(f"the alias *{anchor} refers to a value that contains it", event)
            node = super().compose_node(parent, index)  # the anchored node, already composed
            self._grow(self._size(node) if node is not None else 1, event)
            return node
        self._depth += 1
        if anchor is not None:
            self._open.add(anchor)
        try:
            if self._depth > MAX_DEPTH:
                self._refuse(f"the document nests deeper than {MAX_DEPTH} levels")
            self._grow(1, event)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            self._open.discard(anchor)

    def _grow(self, nodes: int, event: Any) -> None:
        self._expanded += nodes
        if self._expanded > MAX_NODES:
            self._refuse(
                f"the document expands to more than {MAX_NODES} values (through its aliases, "
                f"*{getattr(event, 'anchor', '')}); write it without repeated aliases",
                event,
            )

    def _size(self, node: Node) -> int:
        """The nodes under `node` with aliases expanded (memoised: anchors are shared)."""
        known = self._sizes.get(id(node))
        if known is not None:
            return known
        size = 1
        if isinstance(node, SequenceNode):
            size += sum(self._size(child) for child in node.value)
        elif isinstance(node, MappingNode):
            size += sum(self._size(k) + self._size(v) for k, v in node.value)
        self._sizes[id(node)] = size
        return size

    def _refuse(self, problem: str, event: Any = None) -> None:
        mark = (event or self.peek_event()).start_mark
        raise ComposerError(None, None, problem, mark)


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
