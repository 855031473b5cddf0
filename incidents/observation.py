"""Parsing a ``GET /health/alerts`` payload into a typed observation (pure, defensive).

The payload is untrusted: any field may be missing, mistyped, huge or hostile. Our SDK's payload
and the public ``fastapi-alertengine`` 1.7.0 payload are both accepted; unknown extras are
ignored; anything unusable becomes an :class:`Observation` of kind ``invalid`` with the reason.
Nothing here raises.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

MAX_BODY_BYTES = 256 * 1024
MAX_DEPTH = 32
MAX_ALERTS = 20
MAX_TEXT = 300
MAX_P95_MS = 3_600_000.0  # an hour: anything beyond is not a latency


class Kind:
    OK = "ok"
    UNREACHABLE = "unreachable"
    INVALID = "invalid"


@dataclass(frozen=True)
class Alert:
    type: str
    severity: str
    message: str


@dataclass(frozen=True)
class Observation:
    """One poll's result. Metrics are None when the payload did not carry them."""

    kind: str
    reason: str = ""
    status: str | None = None
    score: float | None = None
    error_rate: float | None = None
    p95_ms: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    anomaly_score: float | None = None
    sample_size: int | None = None
    trend: str | None = None
    alerts: tuple[Alert, ...] = field(default_factory=tuple)
    service_name: str | None = None
    sdk_version: str | None = None

    @property
    def usable(self) -> bool:
        return self.kind == Kind.OK

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["alerts"] = [asdict(a) for a in self.alerts]
        return data


def unreachable(reason: str) -> Observation:
    return Observation(kind=Kind.UNREACHABLE, reason=_text(reason))


def invalid(reason: str) -> Observation:
    return Observation(kind=Kind.INVALID, reason=_text(reason))


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    text = value if isinstance(value, str) else ""
    text = "".join(ch for ch in text if ch.isprintable())
    return text[:limit]


def _depth(value: Any, limit: int) -> int:
    """Nesting depth, stopping once past ``limit`` (iterative: no recursion on hostile input)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return deepest


class _Invalid(Exception):
    pass


def _number(container: dict, key: str, *, low: float, high: float, required: bool = False) -> float | None:
    value = container.get(key)
    if value is None:
        if required:
            raise _Invalid(f"{key} is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid(f"{key} must be a number")
    try:
        number = float(value)
    except OverflowError:  # a JSON integer of hundreds of digits
        raise _Invalid(f"{key} is out of range") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise _Invalid(f"{key} is out of range")
    return number


def _choice(value: Any, allowed: set[str]) -> str | None:
    return value if isinstance(value, str) and value in allowed else None


def parse(body: bytes) -> Observation:
    """Parse a raw response body. Never raises."""
    if len(body) > MAX_BODY_BYTES:
        return invalid(f"payload is larger than {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(body, parse_constant=_refuse_constant)
    except RecursionError:
        return invalid("payload is nested too deeply")
    except (ValueError, UnicodeDecodeError):
        return invalid("payload is not valid JSON")
    except _Invalid as exc:
        return invalid(str(exc))
    try:
        return _from_document(data)
    except _Invalid as exc:
        return invalid(str(exc))
    except Exception:  # the promise is "never raises": one hostile service must not stop a tenant's polling
        return invalid("payload could not be interpreted")


def _refuse_constant(name: str) -> None:
    raise _Invalid(f"payload contains {name}")


def _from_document(data: Any) -> Observation:
    if not isinstance(data, dict):
        raise _Invalid("payload is not a JSON object")
    if _depth(data, MAX_DEPTH) > MAX_DEPTH:
        raise _Invalid("payload is nested too deeply")
    metrics = data.get("metrics")
    if not isinstance(metrics, dict):
        raise _Invalid("metrics is missing or not an object")
    health = data.get("health_score")
    if health is not None and not isinstance(health, dict):
        raise _Invalid("health_score is not an object")
    health = health or {}
    score = _number(health, "score", low=0, high=100)
    error_rate = _number(metrics, "error_rate", low=0, high=1)
    p95 = _number(metrics, "overall_p95_ms", low=0, high=MAX_P95_MS)
    if score is None and error_rate is None and p95 is None:
        raise _Invalid("payload carries no health score, error rate or P95")
    sample = _number(metrics, "sample_size", low=0, high=1e12)
    alerts_raw = data.get("alerts")
    alerts: list[Alert] = []
    if isinstance(alerts_raw, list):
        for item in alerts_raw[:MAX_ALERTS]:
            if isinstance(item, dict):
                alerts.append(Alert(type=_text(item.get("type"), 64), severity=_text(item.get("severity"), 16),
                                    message=_text(item.get("message") or item.get("reason_for_trigger"))))
    return Observation(
        kind=Kind.OK,
        status=_choice(data.get("status"), {"ok", "warning", "critical"}),
        score=score,
        error_rate=error_rate,
        p95_ms=p95,
        p50_ms=_number(data, "p50_ms", low=0, high=MAX_P95_MS),
        p99_ms=_number(data, "p99_ms", low=0, high=MAX_P95_MS),
        anomaly_score=_number(metrics, "anomaly_score", low=-1e6, high=1e6),
        sample_size=int(sample) if sample is not None else None,
        trend=_choice(health.get("trend"), {"stable", "improving", "degrading"}),
        alerts=tuple(alerts),
        service_name=_text(data.get("service_name"), 100) or None,
        sdk_version=_text(data.get("sdk_version") or data.get("version"), 32) or None,
    )
