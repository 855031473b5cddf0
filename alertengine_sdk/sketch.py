"""Log-bucketed latency histogram (DDSketch-style) with bounded relative error.

A latency ``x`` (milliseconds) falls in bin ``i = ceil(log(x) / log(gamma))`` with
``gamma = (1 + a) / (1 - a)``. Every value in bin ``i`` lies in ``(gamma**(i-1), gamma**i]``,
so reporting ``2 * gamma**i / (gamma + 1)`` is within relative error ``a`` of any of them.
Histograms are plain ``dict[int, int]`` (bin -> count): merging two histograms is adding
counts, which is what makes per-worker and per-bucket aggregates combine exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

#: Relative accuracy of every quantile the SDK reports (0.8 %).
RELATIVE_ACCURACY = 0.008
GAMMA = (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY)
INV_LOG_GAMMA = 1.0 / math.log(GAMMA)
#: Latencies at or below this many milliseconds share the lowest bin.
MIN_MS = 0.001
MIN_BIN = math.ceil(math.log(MIN_MS) * INV_LOG_GAMMA)


def bin_of(ms: float) -> int:
    """Return the histogram bin of a latency in milliseconds."""
    if ms <= MIN_MS:
        return MIN_BIN
    return math.ceil(math.log(ms) * INV_LOG_GAMMA)


def bin_value(index: int) -> float:
    """Return the representative latency (ms) of a bin."""
    return 2.0 * GAMMA**index / (GAMMA + 1.0)


def merge_into(target: dict[int, int], source: Mapping[int, int]) -> None:
    """Add the counts of ``source`` into ``target``."""
    get = target.get
    for index, count in source.items():
        target[index] = get(index, 0) + count


def quantiles(hist: Mapping[int, int], qs: Iterable[float]) -> list[float]:
    """Return nearest-rank quantiles (ms) of a histogram; 0.0 for an empty one.

    ``qs`` must be ascending fractions in (0, 1].
    """
    wanted = list(qs)
    total = sum(hist.values())
    if total <= 0:
        return [0.0 for _ in wanted]
    ranks = [max(1, math.ceil(q * total)) for q in wanted]
    out: list[float] = []
    seen = 0
    position = 0
    for index in sorted(hist):
        seen += hist[index]
        while position < len(ranks) and seen >= ranks[position]:
            out.append(bin_value(index))
            position += 1
        if position == len(ranks):
            break
    return out
