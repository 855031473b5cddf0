"""Health evaluation: pure functions from aggregates to the ``/health/alerts`` payload.

Nothing here reads a clock, touches Redis or changes state; the engine passes in the
window, the preceding history intervals and the learned baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any

from . import sketch
from .config import AlertConfig
from .window import Aggregate, Cell

SCHEMA_VERSION = 1
MAX_ROUTES_IN_PAYLOAD = 50
_TOP_STATUS = {"healthy": "ok", "degraded": "warning", "critical": "critical"}


@dataclass(frozen=True)
class Baseline:
    """Learned normal behaviour: EMA of P95 and error rate over healthy intervals."""

    p95_ms: float = 0.0
    error_rate: float = 0.0
    intervals: int = 0

    def active(self, config: AlertConfig) -> bool:
        """Whether enough healthy intervals were seen for the baseline to be used."""
        return self.intervals >= config.baseline_min_intervals and self.p95_ms > 0

    def as_dict(self, config: AlertConfig) -> dict[str, Any]:
        """JSON form."""
        return {"p95_ms": round(self.p95_ms, 2), "error_rate": round(self.error_rate, 5),
                "intervals": self.intervals, "active": self.active(config)}


@dataclass(frozen=True)
class Signals:
    """Figures of one cell (a window, a route or a history interval)."""

    sample_size: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    error_rate: float
    client_error_rate: float
    mean_ms: float
    mean_ttfb_ms: float


def signals_of(cell: Cell, config: AlertConfig) -> Signals:
    """Quantiles and rates of a cell; 4xx count as errors only when configured."""
    n = cell.total
    if n == 0:
        return Signals(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    p50, p95, p99 = sketch.quantiles(cell.hist, (0.50, 0.95, 0.99))
    errors = cell.counts[5] + (cell.counts[4] if config.count_4xx_as_errors else 0)
    return Signals(n, p50, p95, p99, errors / n, cell.counts[4] / n,
                   cell.latency_ms_sum / n, cell.ttfb_ms_sum / n)


def _piecewise(x: float, anchors: Sequence[tuple[float, float]]) -> float:
    """Linear interpolation through ascending ``(x, score)`` anchors, flat past the last."""
    if x <= anchors[0][0]:
        return float(anchors[0][1])
    for (x0, y0), (x1, y1) in zip(anchors, anchors[1:], strict=False):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return float(anchors[-1][1])


def thresholds(baseline: Baseline, config: AlertConfig) -> tuple[float, float, str]:
    """Effective P95 warning and critical thresholds; the static ones are a floor."""
    warn, crit = config.p95_warning_ms, config.p95_critical_ms
    if baseline.active(config):
        learned_warn = baseline.p95_ms * config.baseline_warning_multiplier
        learned_crit = baseline.p95_ms * config.baseline_critical_multiplier
        if learned_warn > warn or learned_crit > crit:
            return max(warn, learned_warn), max(crit, learned_crit), "adaptive_threshold"
    return warn, crit, "absolute_threshold"


def anomaly_of(p95_ms: float, baseline: Baseline, config: AlertConfig) -> float:
    """Relative excess of the P95 over the learned baseline P95 (0 without a baseline)."""
    if not baseline.active(config):
        return 0.0
    return max(0.0, p95_ms / baseline.p95_ms - 1.0)


def components(sig: Signals, baseline: Baseline, config: AlertConfig) -> tuple[float, float, float]:
    """Latency, errors and anomalies component scores (0-100)."""
    warn, crit, _ = thresholds(baseline, config)
    latency = _piecewise(sig.p95_ms, ((0, 100), (warn, 70), (crit, 40), (3 * crit, 0)))
    ew, ec = config.error_rate_warning, config.error_rate_critical
    errors = _piecewise(sig.error_rate, ((0, 100), (ew, 70), (ec, 40), (min(1.0, 5 * ec), 0)))
    anomaly = anomaly_of(sig.p95_ms, baseline, config)
    anomalies = _piecewise(anomaly, ((0, 100), (config.anomaly_warning, 70),
                                     (config.anomaly_critical, 40)))
    return latency, errors, anomalies


def score_of(sig: Signals, baseline: Baseline, config: AlertConfig) -> float:
    """Health score: the weighted mean of the components, capped by the worst one."""
    lat, err, ano = components(sig, baseline, config)
    mean = lat * config.weight_latency + err * config.weight_errors + ano * config.weight_anomalies
    return round(min(mean, lat, err, ano), 1)


def status_of(score: float, config: AlertConfig) -> str:
    """``healthy`` / ``degraded`` / ``critical`` band of a score."""
    if score < config.critical_score:
        return "critical"
    if score < config.degraded_score:
        return "degraded"
    return "healthy"


def learn(baseline: Baseline, cell: Cell, config: AlertConfig) -> Baseline:
    """Fold a completed interval into the baseline, but only when it was healthy."""
    sig = signals_of(cell, config)
    if sig.sample_size < config.min_samples:
        return baseline
    if status_of(score_of(sig, baseline, config), config) != "healthy":
        return baseline
    if baseline.intervals == 0:
        return Baseline(sig.p95_ms, sig.error_rate, 1)
    a = config.baseline_alpha
    return Baseline(baseline.p95_ms + a * (sig.p95_ms - baseline.p95_ms),
                    baseline.error_rate + a * (sig.error_rate - baseline.error_rate),
                    baseline.intervals + 1)


def _trend(scores: Sequence[float]) -> str:
    """Least-squares slope of scores over intervals: > 2 improving, < -2 degrading."""
    n = len(scores)
    if n < 3:
        return "stable"
    xm = (n - 1) / 2
    ym = sum(scores) / n
    slope = (sum((i - xm) * (y - ym) for i, y in enumerate(scores))
             / sum((i - xm) ** 2 for i in range(n)))
    if slope > 2.0:
        return "improving"
    if slope < -2.0:
        return "degrading"
    return "stable"


def _alert(kind: str, severity: str, message: str, reason: str, triggered_by: str,
           value: float, threshold: float) -> dict[str, Any]:
    return {"type": kind, "severity": severity, "message": message,
            "reason_for_trigger": reason, "triggered_by": triggered_by,
            "value": round(value, 4), "threshold": round(threshold, 4)}


def _alerts(sig: Signals, baseline: Baseline, config: AlertConfig,
            prior: Signals | None) -> list[dict[str, Any]]:
    """Alerts whose severities follow the (rounded) component scores, so they always
    agree with the status: a component below ``critical_score`` is a critical alert."""
    alerts: list[dict[str, Any]] = []
    lat, err, ano = (round(c, 1) for c in components(sig, baseline, config))
    warn, crit, source = thresholds(baseline, config)
    p95 = sig.p95_ms
    severity = _severity(lat, config)
    if severity:
        limit = crit if severity == "critical" else warn
        alerts.append(_alert(
            "latency_spike", severity, f"P95 latency {p95:.0f} ms exceeds {limit:.0f} ms",
            f"P95 latency {p95:.0f} ms is above the {severity} threshold {limit:.0f} ms",
            source, p95, limit))
    rate = sig.error_rate
    severity = _severity(err, config)
    if severity:
        limit = config.error_rate_critical if severity == "critical" else config.error_rate_warning
        alerts.append(_alert(
            "error_anomaly", severity, f"Error rate {rate:.1%} exceeds {limit:.1%}",
            f"{rate:.1%} of {sig.sample_size} requests failed; the {severity} threshold "
            f"is {limit:.1%}", "absolute_threshold", rate, limit))
    if _severity(ano, config):
        anomaly = anomaly_of(p95, baseline, config)
        alerts.append(_alert(
            "latency_anomaly", "warning",
            f"P95 latency {p95:.0f} ms is {anomaly + 1:.1f}x the learned baseline",
            f"Learned baseline P95 is {baseline.p95_ms:.0f} ms over {baseline.intervals} "
            f"healthy intervals", "baseline", anomaly, config.anomaly_warning))
    if prior is not None:
        alerts.extend(_roc_alerts(sig, prior, config))
    return alerts


def _severity(component: float, config: AlertConfig) -> str | None:
    if component < config.critical_score:
        return "critical"
    if component < config.degraded_score:
        return "warning"
    return None


def _roc_alerts(sig: Signals, prior: Signals, config: AlertConfig) -> list[dict[str, Any]]:
    out = []
    if prior.p95_ms >= config.roc_min_prior_latency_ms:
        rise = (sig.p95_ms / prior.p95_ms - 1.0) * 100
        if rise >= config.roc_latency_spike_pct:
            out.append(_alert(
                "latency_spike", "warning", f"P95 latency rose {rise:.0f}% in the last window",
                f"P95 {sig.p95_ms:.0f} ms against {prior.p95_ms:.0f} ms in the preceding "
                f"intervals", "rate_of_change", rise, config.roc_latency_spike_pct))
    if prior.error_rate >= config.roc_min_prior_error_rate:
        rise = (sig.error_rate / prior.error_rate - 1.0) * 100
        if rise >= config.roc_error_spike_pct:
            out.append(_alert(
                "error_anomaly", "warning", f"Error rate rose {rise:.0f}% in the last window",
                f"Error rate {sig.error_rate:.1%} against {prior.error_rate:.1%} in the "
                f"preceding intervals", "rate_of_change", rise, config.roc_error_spike_pct))
    return out


def _prior(history: Sequence[Signals], config: AlertConfig) -> Signals | None:
    usable = [s for s in history if s.sample_size >= config.min_samples]
    if not usable:
        return None
    p95 = median(s.p95_ms for s in usable)
    rate = median(s.error_rate for s in usable)
    return Signals(sum(s.sample_size for s in usable), 0.0, p95, 0.0, rate, 0.0, 0.0, 0.0)


def _action(score: float, status: str, sig: Signals) -> list[dict[str, Any]]:
    if score < 25:
        action, priority = "restart", "critical"
    elif score < 40:
        action, priority = "alert", "high"
    elif status != "healthy":
        action, priority = "notify", "medium"
    else:
        return []
    return [{"action": action, "priority": priority, "auto_execute": False,
             "reason": f"Health score {score:.0f}/100, P95 {sig.p95_ms:.0f} ms, "
                       f"error rate {sig.error_rate:.1%}"}]


def _route_figures(agg: Aggregate, config: AlertConfig) -> list[dict[str, Any]]:
    rows = []
    for label, cell in agg.routes.items():
        s = signals_of(cell, config)
        rows.append({"route": label, "sample_size": s.sample_size, "p50_ms": round(s.p50_ms, 2),
                     "p95_ms": round(s.p95_ms, 2), "p99_ms": round(s.p99_ms, 2),
                     "error_rate": round(s.error_rate, 4),
                     "client_error_rate": round(s.client_error_rate, 4),
                     "mean_ms": round(s.mean_ms, 2), "mean_ttfb_ms": round(s.mean_ttfb_ms, 2)})
    rows.sort(key=lambda r: (-r["sample_size"], r["route"]))
    return rows[:MAX_ROUTES_IN_PAYLOAD]


def evaluate(*, window: Aggregate, history: Sequence[Cell], baseline: Baseline,
             config: AlertConfig, timestamp: float) -> dict[str, Any]:
    """Build the ``/health/alerts`` payload.

    ``history`` holds the overall cells of the completed intervals before the window,
    oldest first; the last ``config.trend_intervals`` of them feed trend and rate of change.
    """
    sig = signals_of(window.overall, config)
    recent = [signals_of(c, config) for c in history[-config.trend_intervals:]]
    warn, crit, source = thresholds(baseline, config)
    lat, err, ano = components(sig, baseline, config)
    prior = _prior(recent, config)
    if sig.sample_size < config.min_samples:
        score, alerts, reason = 100.0, [], "insufficient_data"
    else:
        alerts = _alerts(sig, baseline, config, prior)
        score = score_of(sig, baseline, config)
        if any(a["triggered_by"] == "rate_of_change" for a in alerts):
            score = min(score, config.degraded_score - 1)
        reason = None
    status = status_of(score, config)
    scores = [score_of(s, baseline, config) for s in recent if s.sample_size >= config.min_samples]
    if sig.sample_size >= config.min_samples:
        scores.append(score)
    anomaly = anomaly_of(sig.p95_ms, baseline, config)
    payload: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "service_name": config.service_name,
        "status": _TOP_STATUS[status],
        "window_s": config.window_s,
        "metrics": {
            "overall_p95_ms": round(sig.p95_ms, 2), "error_rate": round(sig.error_rate, 4),
            "anomaly_score": round(anomaly, 3), "sample_size": sig.sample_size,
            "p50_ms": round(sig.p50_ms, 2), "p99_ms": round(sig.p99_ms, 2),
            "client_error_rate": round(sig.client_error_rate, 4),
            "mean_ttfb_ms": round(sig.mean_ttfb_ms, 2),
            "requests_per_s": round(sig.sample_size / config.window_s, 3),
        },
        "p50_ms": round(sig.p50_ms, 2),
        "p99_ms": round(sig.p99_ms, 2),
        "health_score": {
            "score": score, "status": status,
            "components": {"latency": round(lat, 1), "errors": round(err, 1),
                           "anomalies": round(ano, 1)},
            "trend": _trend(scores),
        },
        "rate_of_change": None if prior is None else {
            "prior_p95_ms": round(prior.p95_ms, 2), "prior_error_rate": round(prior.error_rate, 4),
            "p95_change_pct": round((sig.p95_ms / prior.p95_ms - 1) * 100, 1)
            if prior.p95_ms > 0 else None,
        },
        "thresholds": {"p95_warning_ms": round(warn, 2), "p95_critical_ms": round(crit, 2),
                       "error_rate_warning": config.error_rate_warning,
                       "error_rate_critical": config.error_rate_critical, "source": source},
        "baseline": baseline.as_dict(config),
        "alerts": alerts,
        "actions": _action(score, status, sig),
        "routes": _route_figures(window, config),
        "timestamp": int(timestamp),
    }
    if reason is not None:
        payload["reason"] = reason
    return payload
