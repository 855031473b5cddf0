"""The registered vocabulary of ledger event kinds.

Each app declares its kinds once, in its own ``events.py`` imported from ``AppConfig.ready``;
registering a name twice is an error, and appending an unregistered kind is refused. A kind's
version changes when the meaning or the body of its entries changes.
"""

from __future__ import annotations

from dataclasses import dataclass


class UnknownEventKindError(LookupError):
    """The kind was never registered."""


class DuplicateEventKindError(ValueError):
    """The kind is registered already."""


@dataclass(frozen=True)
class EventKind:
    name: str
    version: int
    description: str

    def __str__(self) -> str:
        return self.name


_registry: dict[str, EventKind] = {}


def register(name: str, *, version: int = 1, description: str) -> EventKind:
    """Declare an event kind; returns the value to pass to ``ledger_append``."""
    if name in _registry:
        raise DuplicateEventKindError(f"ledger event kind {name!r} is registered already")
    if not name or name != name.strip() or "." not in name:
        raise ValueError(f"ledger event kind names look like 'area.event', got {name!r}")
    kind = EventKind(name=name, version=version, description=description)
    _registry[name] = kind
    return kind


def get(name: str) -> EventKind:
    try:
        return _registry[name]
    except KeyError:
        raise UnknownEventKindError(f"ledger event kind {name!r} is not registered") from None


def all_kinds() -> list[EventKind]:
    return sorted(_registry.values(), key=lambda kind: kind.name)
