"""Configuration of the SDK: one frozen dataclass, readable from ``ALERTENGINE_*`` variables."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

ENV_PREFIX = "ALERTENGINE_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the variable."""


@dataclass(frozen=True)
class AlertConfig:
    """Every setting of the SDK. Each field ``x`` can be set with ``ALERTENGINE_X``.

    Durations are seconds, latencies milliseconds, rates fractions (0.05 = 5 %).
    """

    #: Name reported in the payload and used to namespace Redis keys.
    service_name: str = "default"
    #: Redis URL; ``None`` means memory mode (single process, nothing shared).
    redis_url: str | None = None
    #: When set, every SDK endpoint requires ``Authorization: Bearer <poll_token>``.
    poll_token: str | None = field(default=None, repr=False)
    #: Deployment environment; ``production`` forbids the demo endpoints.
    env: str = "development"
    #: Registers ``POST /simulate/*`` demo endpoints (refused in production).
    demo: bool = False
    #: Length of the evaluation window.
    window_s: int = 60
    #: Length of one bucket of the window; ``window_s`` must be a multiple of it.
    bucket_s: int = 5
    #: Length of one history interval (per-minute aggregates by default).
    history_interval_s: int = 60
    #: Number of history intervals kept for ``/metrics/history``, trend and baseline.
    history_intervals: int = 60
    #: Below this many requests in the window: status ``ok``, reason ``insufficient_data``.
    min_samples: int = 5
    #: Static P95 warning threshold; a floor for the adaptive one.
    p95_warning_ms: float = 1000.0
    #: Static P95 critical threshold; a floor for the adaptive one.
    p95_critical_ms: float = 3000.0
    #: 5xx rate at which the errors component reaches the warning band.
    error_rate_warning: float = 0.02
    #: 5xx rate at which the errors component reaches the critical band.
    error_rate_critical: float = 0.05
    #: Count 4xx responses as errors too (they are always reported separately).
    count_4xx_as_errors: bool = False
    #: Anomaly score (P95 relative excess over the learned baseline) of the warning band.
    anomaly_warning: float = 1.0
    #: Anomaly score at which the anomalies component reaches its floor of 40.
    anomaly_critical: float = 3.0
    #: Weight of the latency component in the weighted mean.
    weight_latency: float = 0.5
    #: Weight of the errors component in the weighted mean.
    weight_errors: float = 0.3
    #: Weight of the anomalies component in the weighted mean.
    weight_anomalies: float = 0.2
    #: Score below which the status is ``degraded``.
    degraded_score: float = 70.0
    #: Score below which the status is ``critical``.
    critical_score: float = 40.0
    #: EMA factor of the learned baseline (per healthy history interval).
    baseline_alpha: float = 0.2
    #: Healthy intervals needed before the baseline is used.
    baseline_min_intervals: int = 5
    #: Adaptive warning threshold = max(static, baseline P95 x this).
    baseline_warning_multiplier: float = 2.0
    #: Adaptive critical threshold = max(static, baseline P95 x this).
    baseline_critical_multiplier: float = 4.0
    #: Latency rise (percent) of the window over the preceding intervals that raises an alert.
    roc_latency_spike_pct: float = 100.0
    #: Error-rate rise (percent) that raises an alert.
    roc_error_spike_pct: float = 200.0
    #: Preceding P95 below which latency rate-of-change is ignored.
    roc_min_prior_latency_ms: float = 100.0
    #: Preceding error rate below which error rate-of-change is ignored (absolute jumps
    #: past the thresholds are caught by the errors component instead).
    roc_min_prior_error_rate: float = 0.005
    #: Preceding history intervals used for trend and rate-of-change.
    trend_intervals: int = 5
    #: Distinct route labels tracked; further routes are grouped as ``<other>``.
    max_routes: int = 100
    #: Label of requests that matched no route.
    unmatched_label: str = "<unmatched>"
    #: Extra paths that are never measured (the SDK's own endpoints always are excluded).
    excluded_paths: tuple[str, ...] = ()
    #: Seconds between two flushes to Redis.
    flush_interval_s: float = 1.0
    #: Redis socket timeout; a stalled server delays the background thread, never a request.
    redis_timeout_s: float = 0.5
    #: Approximate MAXLEN of the per-service Redis Stream.
    stream_maxlen: int = 10_000
    #: Consecutive failed flushes that open the circuit breaker.
    breaker_failure_threshold: int = 3
    #: Seconds the breaker stays open before one trial flush.
    breaker_cooldown_s: float = 5.0
    #: Closed buckets buffered while Redis is unreachable; older ones are dropped and counted.
    max_buffered_buckets: int = 120

    def __post_init__(self) -> None:
        self._check()

    def _check(self) -> None:
        def fail(name: str, why: str) -> None:
            raise ConfigError(f"{ENV_PREFIX}{name.upper()}: {why}")

        if not self.service_name or len(self.service_name) > 100:
            fail("service_name", "must be 1-100 characters")
        for name in ("window_s", "bucket_s", "history_interval_s", "history_intervals",
                     "min_samples", "baseline_min_intervals", "trend_intervals", "max_routes",
                     "stream_maxlen", "breaker_failure_threshold", "max_buffered_buckets"):
            if getattr(self, name) < 1:
                fail(name, "must be at least 1")
        if self.window_s % self.bucket_s:
            fail("window_s", f"must be a multiple of bucket_s ({self.bucket_s})")
        if self.history_interval_s % self.bucket_s:
            fail("history_interval_s", f"must be a multiple of bucket_s ({self.bucket_s})")
        if not 0 < self.p95_warning_ms < self.p95_critical_ms:
            fail("p95_warning_ms", "must be positive and below p95_critical_ms")
        if not 0 < self.error_rate_warning < self.error_rate_critical <= 1:
            fail("error_rate_warning", "must be positive and below error_rate_critical (<= 1)")
        if not 0 < self.anomaly_warning < self.anomaly_critical:
            fail("anomaly_warning", "must be positive and below anomaly_critical")
        if not 0 < self.critical_score < self.degraded_score <= 100:
            fail("critical_score", "must be positive and below degraded_score (<= 100)")
        weights = (self.weight_latency, self.weight_errors, self.weight_anomalies)
        if min(weights) < 0 or abs(sum(weights) - 1.0) > 1e-6:
            fail("weight_latency", "the three weights must be non-negative and sum to 1")
        if not 0 < self.baseline_alpha <= 1:
            fail("baseline_alpha", "must be in (0, 1]")
        if not 1 < self.baseline_warning_multiplier < self.baseline_critical_multiplier:
            fail("baseline_warning_multiplier", "must be above 1 and below the critical one")
        for name in ("flush_interval_s", "redis_timeout_s", "breaker_cooldown_s"):
            if getattr(self, name) <= 0:
                fail(name, "must be positive")
        if self.poll_token is not None and len(self.poll_token) < 16:
            fail("poll_token", "must be at least 16 characters")
        if self.demo and self.env.lower() == "production":
            fail("demo", "demo endpoints cannot be enabled when ALERTENGINE_ENV=production")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> AlertConfig:
        """Build a config from ``ALERTENGINE_*`` variables; ``overrides`` win over them."""
        source = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = source.get(ENV_PREFIX + f.name.upper())
            if raw is not None:
                values[f.name] = _parse(f.name, f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def replace(self, **changes: Any) -> AlertConfig:
        """Return a copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def public_dict(self) -> dict[str, Any]:
        """Settings safe to show: the poll token and Redis credentials are left out."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out.pop("poll_token")
        out["redis_url"] = _redact_url(self.redis_url)
        out["excluded_paths"] = list(self.excluded_paths)
        return out


def _redact_url(url: str | None) -> str | None:
    if not url or "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"


def _parse(name: str, kind: Any, raw: str) -> Any:
    var = ENV_PREFIX + name.upper()
    text = raw.strip()
    kind = str(kind)
    try:
        if kind == "bool":
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError(text)
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind.startswith("tuple"):
            return tuple(p.strip() for p in text.split(",") if p.strip())
    except ValueError:
        raise ConfigError(f"{var}: cannot read {raw!r} as {kind}") from None
    return text or None if "None" in kind else text
