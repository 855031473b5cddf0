"""How the fake Claude answers when no scenario is scripted: a diagnosis derived from the prompt.

The answer is deterministic, so the demo shows a sensible alert ("Database connection pool
exhausted ..." for a latency spike) and a test gets the same answer every run. It is then shaped to
whatever ``input_schema`` the request's tool declares, so the fake needs no knowledge of the
diagnosis engine's field names beyond the hints documented in ``docs/devfakes.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

DEFAULT_ACTION = "restart_worker_pool"


@dataclass(frozen=True)
class Theory:
    """One diagnosis, in the fields a diagnosis tool asks for."""

    category: str
    cause: str
    confidence: float
    fix: str
    evidence: tuple[str, ...]
    checks: tuple[str, ...]
    action: str = DEFAULT_ACTION
    # Fields a script set on purpose: they are answered even where the schema's enum forbids them,
    # as a model that ignores the schema would.
    explicit: frozenset[str] = frozenset()

    def with_overrides(
        self,
        *,
        category: str | None = None,
        cause: str | None = None,
        confidence: float | None = None,
        action: str | None = None,
    ) -> Theory:
        """This theory with the given fields replaced; a new category brings its own texts."""
        theory = THEORIES.get(category, replace(self, category=category)) if category else self
        changes: dict[str, Any] = {
            key: value
            for key, value in (("cause", cause), ("confidence", confidence), ("action", action))
            if value is not None
        }
        explicit = {key for key, value in (("category", category), ("action", action)) if value is not None}
        return replace(theory, **changes, explicit=frozenset(explicit))


THEORIES: dict[str, Theory] = {
    "database": Theory(
        category="database",
        cause="Database connection pool exhausted: connections are not being released after query timeout.",
        confidence=0.87,
        fix="Restart the worker pool to release the leaked connections.",
        evidence=("P95 latency far above baseline while error rate stays moderate", "queries queue for a connection"),
        checks=("Database slow query log", "Connection pool usage and wait time"),
    ),
    "external_api": Theory(
        category="external_api",
        cause="An upstream API is timing out, so requests wait for it and then fail.",
        confidence=0.78,
        fix="Restart the worker pool to drop the stuck upstream connections.",
        evidence=("errors are gateway timeouts from the upstream", "latency rises with upstream response time"),
        checks=("Upstream response times", "Outbound HTTP error log"),
    ),
    "network": Theory(
        category="network",
        cause="Network connectivity to a dependency is degraded: connections are reset or time out.",
        confidence=0.76,
        fix="Restart the worker pool to re-establish connections.",
        evidence=("connection resets and timeouts across routes",),
        checks=("Upstream response times", "DNS resolution and TCP retransmits"),
    ),
    "memory": Theory(
        category="memory",
        cause="Worker memory is exhausted: processes are swapping or being killed by the OOM killer.",
        confidence=0.81,
        fix="Restart the worker pool to reclaim memory.",
        evidence=("memory usage near the container limit",),
        checks=("Container memory usage", "OOM killer events"),
    ),
    "cpu": Theory(
        category="cpu",
        cause="CPU saturation: workers are throttled and requests queue.",
        confidence=0.74,
        fix="Restart the worker pool and check for a hot loop.",
        evidence=("CPU at its quota while traffic is normal",),
        checks=("CPU usage and throttling", "Profiler of the busiest route"),
    ),
    "code_deploy": Theory(
        category="code_deploy",
        cause="A recent deployment introduced a failing code path: errors started right after it.",
        confidence=0.72,
        fix="Restart the worker pool; roll back if the errors persist.",
        evidence=("error rate rose right after a deployment",),
        checks=("Application error log since the last deployment", "Diff of the last deployment"),
    ),
    "unknown": Theory(
        category="unknown",
        cause="The signals do not point to a single cause.",
        confidence=0.35,
        fix="Investigate before running any recovery action.",
        evidence=("no dominant signal in the observation",),
        checks=("Application error log", "Recent deployments"),
    ),
}

# Signals per category, weighted. Category names alone are deliberately not signals: a prompt that
# lists the allowed categories would otherwise match all of them.
_SIGNALS: dict[str, tuple[tuple[str, int], ...]] = {
    "database": (
        (r"\bdatabase\b", 1),
        (r"\bdb\b", 1),
        (r"\bsql\b", 1),
        (r"\bquer(y|ies)\b", 1),
        (r"connection pool", 2),
        (r"deadlock", 2),
        (r"\blatency\b|\bp95\b|\bslow\b", 2),
    ),
    "external_api": ((r"\bupstream\b", 2), (r"\b50[234]\b", 1), (r"gateway timeout|bad gateway", 2)),
    "network": ((r"connection (reset|refused)", 2), (r"\bdns\b", 2), (r"packet loss|\btcp\b", 2)),
    "memory": ((r"out of memory|\boom\b", 3), (r"\bmemory\b|\bheap\b|\brss\b", 1)),
    "cpu": ((r"\bcpu\b", 2), (r"throttl", 1)),
    "code_deploy": ((r"error[ _]rate", 1), (r"\bexception\b|\btraceback\b", 2)),
}
# Ties go to the earlier category.
_PRIORITY = ("database", "external_api", "network", "memory", "cpu", "code_deploy")


def derive_theory(observation: str) -> Theory:
    """The theory whose signals the observation matches best, or ``unknown``."""
    text = observation.lower()
    scores = {
        category: sum(weight for pattern, weight in signals if re.search(pattern, text))
        for category, signals in _SIGNALS.items()
    }
    best = max(_PRIORITY, key=lambda category: (scores[category], -_PRIORITY.index(category)))
    return THEORIES[best] if scores[best] > 0 else THEORIES["unknown"]


def _slot(name: str) -> str | None:
    """Which field of a theory a tool property asks for, judged by its name."""
    lowered = name.lower()
    for slot, hints in (
        ("confidence", ("confidence",)),
        ("category", ("category",)),
        ("action", ("action",)),
        ("evidence", ("evidence",)),
        ("checks", ("check", "log", "dashboard")),
        ("fix", ("fix", "recommend", "remed")),
        ("cause", ("cause", "summary", "explanation", "diagnosis", "theory", "reason", "hypothes")),
    ):
        if any(hint in lowered for hint in hints):
            return slot
    return None


class SchemaFiller:
    """Builds a tool ``input`` that satisfies a JSON Schema, filled from a :class:`Theory`."""

    def __init__(self, schema: dict[str, Any], theory: Theory) -> None:
        self.root = schema
        self.theory = theory

    def fill(self) -> Any:
        """The input for the whole schema."""
        return self._value(self.root, None)

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return schema
        target: Any = self.root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return self._resolve(target) if isinstance(target, dict) else {}

    def _value(self, schema: Any, slot: str | None) -> Any:
        if not isinstance(schema, dict):
            return None
        schema = self._resolve(schema)
        for combinator in ("anyOf", "oneOf", "allOf"):
            options = [o for o in schema.get(combinator, []) if isinstance(o, dict) and o.get("type") != "null"]
            if options:
                return self._value(options[0], slot)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self._enum(schema["enum"], slot)
        kind = schema.get("type", "object" if "properties" in schema else "string")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        return self._typed(kind, schema, slot)

    def _enum(self, choices: list[Any], slot: str | None) -> Any:
        wanted = {"category": self.theory.category, "action": self.theory.action}.get(slot or "")
        if wanted in choices or slot in self.theory.explicit:
            return wanted
        if slot == "category" and "unknown" in choices:
            return "unknown"
        return choices[0]

    def _typed(self, kind: str, schema: dict[str, Any], slot: str | None) -> Any:
        if kind == "object":
            properties = schema.get("properties", {})
            return {name: self._value(sub, _slot(name)) for name, sub in properties.items()}
        if kind == "array":
            items = schema.get("items", {"type": "string"})
            if slot in ("evidence", "checks"):
                texts = getattr(self.theory, slot)
                return [self._value(items, None) if _is_structured(items) else text for text in texts]
            return [self._value(items, None)]
        if kind in ("number", "integer"):
            return self._number(kind, schema, slot)
        if kind == "boolean":
            return False
        if kind == "null":
            return None
        return self._text(slot)

    def _number(self, kind: str, schema: dict[str, Any], slot: str | None) -> float | int:
        if slot != "confidence":
            return schema.get("minimum", 0)
        maximum = schema.get("maximum", 1 if kind == "number" else 100)
        value = self.theory.confidence * (100 if maximum >= 100 else 1)
        return round(value) if kind == "integer" else round(value, 2)

    def _text(self, slot: str | None) -> str:
        theory = self.theory
        texts = {
            "category": theory.category,
            "action": theory.action,
            "fix": theory.fix,
            "evidence": "; ".join(theory.evidence),
            "checks": "; ".join(theory.checks),
            "confidence": f"{theory.confidence:.2f}",
        }
        return texts.get(slot or "", theory.cause)


def _is_structured(schema: Any) -> bool:
    return isinstance(schema, dict) and (schema.get("type") == "object" or "properties" in schema or "$ref" in schema)
