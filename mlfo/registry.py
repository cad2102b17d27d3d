"""Node kinds of the Y.3172 pipeline and one name-keyed registry of implementations per kind.

Implementations are validated when they are registered (pluggy's rule), not when first used: the
name must be a lowercase identifier, the implementation must be callable, its parameters must be
described by a pydantic model, and a name can be registered only once per kind.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")

T = TypeVar("T")


class NodeKind(StrEnum):
    """The node kinds of an ITU-T Y.3172 ML pipeline."""

    SRC = "SRC"
    C = "C"
    PP = "PP"
    M = "M"
    P = "P"
    D = "D"
    SINK = "SINK"


class NoParams(BaseModel):
    """The parameters model of an implementation that takes none."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RegistrationError(ValueError):
    """Raised when an implementation cannot be registered (bad name, duplicate, not callable)."""


class UnknownImplementationError(KeyError):
    """Raised for a name that is not registered; the message lists the valid names."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Implementation(Generic[T]):
    """One registered implementation of a node kind."""

    kind: NodeKind
    name: str
    impl: T
    params: type[BaseModel]
    summary: str

    def parse_params(self, params: dict[str, Any]) -> BaseModel:
        """Validate raw parameters against this implementation's model (raises ValidationError)."""
        return self.params.model_validate(params)


class Registry(Generic[T]):
    """Name-keyed implementations of one node kind."""

    def __init__(self, kind: NodeKind, *, check: Callable[[Any], str | None] | None = None) -> None:
        self.kind = kind
        self._check = check
        self._entries: dict[str, Implementation[T]] = {}

    def register(
        self, name: str, impl: T, *, params: type[BaseModel] = NoParams, summary: str = ""
    ) -> Implementation[T]:
        """Validate and add an implementation under `name`."""
        where = f"{self.kind} implementation {name!r}"
        if not isinstance(name, str) or not _NAME.match(name):
            raise RegistrationError(
                f"{where}: a name is a lowercase identifier of 1-48 characters "
                "(letters, digits, '_', starting with a letter)"
            )
        if name in self._entries:
            raise RegistrationError(f"{where} is already registered")
        if not callable(impl):
            raise RegistrationError(f"{where}: the implementation must be callable")
        if not (isinstance(params, type) and issubclass(params, BaseModel)):
            raise RegistrationError(f"{where}: params must be a pydantic model class")
        if self._check is not None and (problem := self._check(impl)):
            raise RegistrationError(f"{where}: {problem}")
        if not summary:
            doc = (getattr(impl, "__doc__", None) or "").strip()
            summary = doc.splitlines()[0] if doc else ""
        entry: Implementation[T] = Implementation(self.kind, name, impl, params, summary)
        self._entries[name] = entry
        return entry

    def unregister(self, name: str) -> None:
        """Remove an implementation (for plug-ins that are unloaded, and tests)."""
        self.get(name)
        del self._entries[name]

    def get(self, name: str) -> Implementation[T]:
        """The implementation registered as `name`."""
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownImplementationError(
                f"unknown {self.kind} kind {name!r}; valid kinds: {', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Implementation[T]]:
        return iter([self._entries[n] for n in self.names()])

    def __len__(self) -> int:
        return len(self._entries)


_BOUNDS = {
    "greater_than_equal": ("ge", ">="),
    "greater_than": ("gt", ">"),
    "less_than_equal": ("le", "<="),
    "less_than": ("lt", "<"),
}


def error_message(err: Any) -> str:
    """A short message for one pydantic error (`must be >= 64` rather than pydantic's wording)."""
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    if kind in _BOUNDS and _BOUNDS[kind][0] in ctx:
        key, sign = _BOUNDS[kind]
        return f"must be {sign} {ctx[key]}"
    if kind == "too_short" and "min_length" in ctx:
        return f"must have at least {ctx['min_length']} item(s)"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field"
    if kind == "literal_error" and "expected" in ctx:
        return f"must be one of {ctx['expected']}"
    if kind == "enum" and "expected" in ctx:
        return f"must be one of {ctx['expected']}"
    text = str(err.get("msg", "is not valid"))
    for lead in ("Value error, ", "Assertion failed, "):
        if text.startswith(lead):
            text = text[len(lead) :]
    return text
