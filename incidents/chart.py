"""An incident's health-score and P95 chart as inline SVG (pure; no external assets)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

WIDTH, HEIGHT, PAD_X, PAD_Y = 720, 240, 48, 24


@dataclass(frozen=True)
class Point:
    at: datetime
    score: float | None
    p95_ms: float | None


@dataclass(frozen=True)
class Mark:
    at: datetime
    label: str


def render(points: Sequence[Point], marks: Sequence[Mark]) -> str:
    """SVG with the health score (0-100, left axis), P95 (right axis) and a line per stage change."""
    if not points:
        return '<p class="help">No observations recorded for this incident yet.</p>'
    start = min([p.at for p in points] + [m.at for m in marks])
    end = max([p.at for p in points] + [m.at for m in marks])
    span = max((end - start).total_seconds(), 1.0)
    p95_max = max([p.p95_ms for p in points if p.p95_ms is not None] + [1.0]) * 1.1  # > 0 even if all are 0

    def x(at: datetime) -> float:
        return PAD_X + (WIDTH - 2 * PAD_X) * (at - start).total_seconds() / span

    def y(fraction: float) -> float:
        return HEIGHT - PAD_Y - (HEIGHT - 2 * PAD_Y) * fraction

    def polyline(values: list[tuple[datetime, float]], scale: float, colour: str, name: str) -> str:
        if not values:
            return ""
        coords = " ".join(f"{x(at):.1f},{y(v / scale):.1f}" for at, v in values)
        return (f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}">'
                f"<title>{name}</title></polyline>")

    scores = [(p.at, p.score) for p in points if p.score is not None]
    p95s = [(p.at, p.p95_ms) for p in points if p.p95_ms is not None]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="Health score and P95 latency over the incident" class="incident-chart">',
        f'<rect x="{PAD_X}" y="{PAD_Y}" width="{WIDTH - 2 * PAD_X}" height="{HEIGHT - 2 * PAD_Y}" fill="#fafafa" '
        f'stroke="#ddd"/>',
        f'<text x="4" y="{PAD_Y + 4}" font-size="11" fill="#2a7ae2">score 100</text>',
        f'<text x="4" y="{HEIGHT - PAD_Y}" font-size="11" fill="#2a7ae2">0</text>',
        f'<text x="{WIDTH - PAD_X + 4}" y="{PAD_Y + 4}" font-size="11" fill="#d9534f">{p95_max:.0f} ms</text>',
        polyline(scores, 100.0, "#2a7ae2", "health score"),
        polyline(p95s, p95_max, "#d9534f", "P95 latency"),
    ]
    for mark in marks:
        mx = x(mark.at)
        parts.append(f'<line x1="{mx:.1f}" y1="{PAD_Y}" x2="{mx:.1f}" y2="{HEIGHT - PAD_Y}" stroke="#555" '
                     f'stroke-dasharray="3,3"/>')
        parts.append(f'<text x="{mx + 2:.1f}" y="{PAD_Y - 6}" font-size="10" fill="#333">{escape(mark.label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
