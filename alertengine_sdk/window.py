"""Time-bucketed measurement: the hot path (``Recorder.record``) and mergeable aggregates.

Memory is bounded by ``max_routes`` x buckets kept: a bucket holds one ``Cell`` per route
label, and a cell is a fixed set of counters plus a sparse log-bucketed histogram whose
size depends on the spread of latencies, not on the number of requests.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

from . import sketch

OTHER_LABEL = "<other>"
_log = math.log
_ceil = math.ceil
_INV_LOG_GAMMA = sketch.INV_LOG_GAMMA
_MIN_MS = sketch.MIN_MS
_MIN_BIN = sketch.MIN_BIN


class Cell:
    """Counters of one route in one bucket (or of a merged aggregate).

    ``counts[k]`` counts responses of status class ``k``xx (index 0: anything outside 1-5).
    """

    __slots__ = ("counts", "hist", "latency_ms_sum", "ttfb_ms_sum")

    def __init__(self) -> None:
        self.counts = [0, 0, 0, 0, 0, 0]
        self.latency_ms_sum = 0.0
        self.ttfb_ms_sum = 0.0
        self.hist: dict[int, int] = {}

    @property
    def total(self) -> int:
        """Number of requests counted."""
        return sum(self.counts)

    def merge(self, other: Cell) -> None:
        """Add another cell's counts into this one."""
        mine = self.counts
        for k, n in enumerate(other.counts):
            mine[k] += n
        self.latency_ms_sum += other.latency_ms_sum
        self.ttfb_ms_sum += other.ttfb_ms_sum
        sketch.merge_into(self.hist, other.hist)


class Bucket:
    """All cells of one time bucket; ``bucket_id`` is ``floor(epoch / bucket_s)``."""

    __slots__ = ("bucket_id", "cells", "ends_at")

    def __init__(self, bucket_id: int, bucket_s: float = 0.0) -> None:
        self.bucket_id = bucket_id
        self.cells: dict[str, Cell] = {}
        #: Epoch second at which the bucket is over (the hot path compares one float).
        self.ends_at = (bucket_id + 1) * bucket_s if bucket_s else float("inf")

    @property
    def total(self) -> int:
        """Number of requests in the bucket."""
        return sum(c.total for c in self.cells.values())


class Aggregate:
    """A merged view (per route and in total) of several buckets or history intervals."""

    __slots__ = ("overall", "routes")

    def __init__(self) -> None:
        self.routes: dict[str, Cell] = {}
        self.overall = Cell()

    def add_cells(self, cells: dict[str, Cell]) -> None:
        """Merge a bucket's cells into the aggregate."""
        for label, cell in cells.items():
            mine = self.routes.get(label)
            if mine is None:
                mine = self.routes[label] = Cell()
            mine.merge(cell)
            self.overall.merge(cell)

    @classmethod
    def of(cls, buckets: Iterable[dict[str, Cell]]) -> Aggregate:
        """Build an aggregate from bucket cell maps."""
        agg = cls()
        for cells in buckets:
            agg.add_cells(cells)
        return agg


def _noop() -> None:
    """Default rotation hook."""


class Recorder:
    """Records requests into the current bucket; closed buckets go to ``closed``.

    ``record`` runs on the event loop for every request, so it only touches the current
    bucket, allocates nothing but the histogram's small ints, and takes no lock. Rotation
    (once per bucket) takes a lock because the background thread also rotates a bucket
    left open by a pause in traffic.
    """

    def __init__(self, *, bucket_s: int, max_routes: int,
                 clock: Callable[[], float] = time.time) -> None:
        self.bucket_s = bucket_s
        self.max_routes = max_routes
        self.clock = clock
        self.closed: deque[Bucket] = deque()
        self._lock = threading.Lock()
        self._labels: set[str] = set()
        #: Called after each rotation (the engine uses it to notice a fork).
        self.on_rotate: Callable[[], None] = _noop
        self.current = Bucket(int(clock() // bucket_s), bucket_s)

    def record(self, label: str, status: int, latency_s: float, ttfb_s: float) -> None:
        """Count one finished request (hot path)."""
        bucket = self.current
        if self.clock() >= bucket.ends_at:
            bucket = self.rotate()
        cell = bucket.cells.get(label)
        if cell is None:
            cell = self._new_cell(bucket, label)
        ms = latency_s * 1000.0
        index = _ceil(_log(ms) * _INV_LOG_GAMMA) if ms > _MIN_MS else _MIN_BIN
        hist = cell.hist
        hist[index] = hist.get(index, 0) + 1
        cls = status // 100
        cell.counts[cls if 0 < cls < 6 else 0] += 1
        cell.latency_ms_sum += ms
        cell.ttfb_ms_sum += ttfb_s * 1000.0

    def _new_cell(self, bucket: Bucket, label: str) -> Cell:
        if label not in self._labels:
            if len(self._labels) >= self.max_routes:
                label = OTHER_LABEL
                cell = bucket.cells.get(label)
                if cell is not None:
                    return cell
            self._labels.add(label)
        cell = bucket.cells[label] = Cell()
        return cell

    def rotate(self) -> Bucket:
        """Close the current bucket if its time is over; return the bucket now current."""
        with self._lock:
            now_id = int(self.clock() // self.bucket_s)
            old = self.current
            if old.bucket_id != now_id:
                if old.cells:
                    self.closed.append(old)
                self.current = Bucket(now_id, self.bucket_s)
            current = self.current
        self.on_rotate()
        return current

    def reset(self) -> None:
        """Forget the current bucket and the closed ones not yet consumed."""
        with self._lock:
            self.closed.clear()
            self.current = Bucket(int(self.clock() // self.bucket_s), self.bucket_s)

    @property
    def routes_tracked(self) -> int:
        """Distinct route labels seen (bounded by ``max_routes`` + 1)."""
        return len(self._labels)
