"""Where closed buckets go: the process-local store and the shared Redis store.

Redis layout (prefix ``alertengine:<service>:``), every write idempotent so a retried
flush never double-counts:

- ``b:<bucket_id>``  hash, field = worker id, value = that worker's bucket (JSON)
- ``i:<interval_id>`` hash, field = worker id, value = that worker's interval aggregate
- ``stream``         Redis Stream, one summary entry per flushed bucket (MAXLEN ~)
- ``baseline``       hash with the learned baseline
- ``learned:<interval_id>`` claim so one worker learns each interval
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict, deque
from typing import Any

from .config import AlertConfig
from .health import Baseline
from .window import Aggregate, Bucket, Cell


def encode_cells(cells: dict[str, Cell]) -> str:
    """Serialise route cells to compact JSON."""
    return json.dumps({label: [c.counts, c.latency_ms_sum, c.ttfb_ms_sum, c.hist]
                       for label, c in cells.items()}, separators=(",", ":"))


def decode_cells(raw: str | bytes) -> dict[str, Cell]:
    """Parse JSON written by ``encode_cells``."""
    out: dict[str, Cell] = {}
    for label, (counts, lat, ttfb, hist) in json.loads(raw).items():
        cell = Cell()
        cell.counts = [int(n) for n in counts][:6] + [0] * max(0, 6 - len(counts))
        cell.latency_ms_sum = float(lat)
        cell.ttfb_ms_sum = float(ttfb)
        cell.hist = {int(k): int(v) for k, v in hist.items()}
        out[label] = cell
    return out


class MemoryStore:
    """Closed buckets of the window and completed history intervals of this process."""

    def __init__(self, config: AlertConfig) -> None:
        self.config = config
        self.lock = threading.Lock()
        self.buckets: OrderedDict[int, Bucket] = OrderedDict()
        self.intervals: OrderedDict[int, Aggregate] = OrderedDict()
        self.baseline = Baseline()
        self.events = 0

    def add_bucket(self, bucket: Bucket) -> None:
        """Keep a closed bucket."""
        with self.lock:
            self.buckets[bucket.bucket_id] = bucket
            self.events += bucket.total

    def buckets_between(self, first: int, last: int) -> list[Bucket]:
        """Closed buckets with ``first <= id <= last``."""
        with self.lock:
            return [b for i, b in self.buckets.items() if first <= i <= last]

    def complete_interval(self, interval_id: int, per_interval: int) -> Aggregate | None:
        """Aggregate the buckets of a finished interval and prune what is no longer needed."""
        first = interval_id * per_interval
        agg = Aggregate.of(b.cells for b in self.buckets_between(first, first + per_interval - 1))
        window_buckets = self.config.window_s // self.config.bucket_s
        with self.lock:
            if agg.overall.total:
                self.intervals[interval_id] = agg
            while len(self.intervals) > self.config.history_intervals:
                self.intervals.popitem(last=False)
            keep_from = min(first + per_interval, max(self.buckets, default=0) - window_buckets)
            for bucket_id in [i for i in self.buckets if i < keep_from]:
                del self.buckets[bucket_id]
        return agg if agg.overall.total else None

    def intervals_between(self, first: int, last: int) -> list[tuple[int, Aggregate]]:
        """Completed intervals with ``first <= id <= last``, oldest first."""
        with self.lock:
            return [(i, a) for i, a in self.intervals.items() if first <= i <= last]

    def clear(self) -> None:
        """Forget every bucket and interval (demo recovery)."""
        with self.lock:
            self.buckets.clear()
            self.intervals.clear()


class PendingWrites:
    """Bounded buffer of writes waiting for Redis; the oldest buckets are dropped first."""

    def __init__(self, max_buckets: int) -> None:
        self.max_buckets = max_buckets
        self.buckets: deque[tuple[int, str, int, dict[str, Any]]] = deque()
        self.intervals: dict[int, str] = {}
        self.dropped = 0

    def add_bucket(self, bucket_id: int, blob: str, events: int, summary: dict[str, Any]) -> None:
        """Queue a bucket write; count the events of any bucket pushed out."""
        self.buckets.append((bucket_id, blob, events, summary))
        while len(self.buckets) > self.max_buckets:
            self.dropped += self.buckets.popleft()[2]

    @property
    def events(self) -> int:
        """Events waiting in buffered buckets."""
        return sum(item[2] for item in self.buckets)


class RedisStore:
    """Shared aggregates of every worker of one service."""

    def __init__(self, config: AlertConfig, worker_id: str) -> None:
        import redis

        self.config = config
        self.worker_id = worker_id
        self.prefix = f"alertengine:{config.service_name}:"
        self.client = redis.Redis.from_url(
            config.redis_url or "", socket_timeout=config.redis_timeout_s,
            socket_connect_timeout=config.redis_timeout_s, health_check_interval=0,
        )
        self.bucket_ttl = int(config.window_s + 4 * config.bucket_s + 60)
        self.interval_ttl = int(config.history_intervals * config.history_interval_s + 120)

    def write(self, pending: PendingWrites) -> int:
        """Write every pending item in one pipeline; return the events written."""
        buckets = list(pending.buckets)
        intervals = dict(pending.intervals)
        if not buckets and not intervals:
            return 0
        pipe = self.client.pipeline(transaction=False)
        p = self.prefix
        for bucket_id, blob, _events, summary in buckets:
            key = f"{p}b:{bucket_id}"
            pipe.hset(key, self.worker_id, blob)
            pipe.expire(key, self.bucket_ttl)
            pipe.xadd(f"{p}stream", summary, maxlen=self.config.stream_maxlen, approximate=True)
        for interval_id, blob in intervals.items():
            key = f"{p}i:{interval_id}"
            pipe.hset(key, self.worker_id, blob)
            pipe.expire(key, self.interval_ttl)
        pipe.execute()
        for _ in buckets:
            pending.buckets.popleft()
        for interval_id, blob in intervals.items():
            if pending.intervals.get(interval_id) == blob:
                del pending.intervals[interval_id]
        return sum(item[2] for item in buckets)

    def read(self, bucket_ids: list[int], interval_ids: list[int]
             ) -> tuple[list[dict[str, Cell]], dict[int, Aggregate], Baseline | None]:
        """Read window buckets, history intervals and the baseline in one round trip."""
        pipe = self.client.pipeline(transaction=False)
        for bucket_id in bucket_ids:
            pipe.hgetall(f"{self.prefix}b:{bucket_id}")
        for interval_id in interval_ids:
            pipe.hgetall(f"{self.prefix}i:{interval_id}")
        pipe.hgetall(f"{self.prefix}baseline")
        replies = pipe.execute()
        buckets = [decode_cells(blob) for reply in replies[:len(bucket_ids)]
                   for blob in reply.values()]
        intervals: dict[int, Aggregate] = {}
        for interval_id, reply in zip(interval_ids, replies[len(bucket_ids):-1], strict=True):
            if reply:
                intervals[interval_id] = Aggregate.of(decode_cells(b) for b in reply.values())
        return buckets, intervals, _baseline_of(replies[-1])

    def claim_interval(self, interval_id: int) -> bool:
        """Claim the learning of one interval; exactly one worker gets it."""
        return bool(self.client.set(f"{self.prefix}learned:{interval_id}", self.worker_id,
                                    nx=True, ex=self.interval_ttl))

    def read_baseline(self) -> Baseline | None:
        """The shared baseline, if one was stored."""
        return _baseline_of(self.client.hgetall(f"{self.prefix}baseline"))

    def write_baseline(self, baseline: Baseline) -> None:
        """Persist the baseline so restarts and other workers use it."""
        self.client.hset(f"{self.prefix}baseline", mapping={
            "p95_ms": repr(baseline.p95_ms), "error_rate": repr(baseline.error_rate),
            "intervals": str(baseline.intervals)})

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()


def _baseline_of(raw: dict[Any, Any]) -> Baseline | None:
    if not raw:
        return None
    values = {(k.decode() if isinstance(k, bytes) else k): v for k, v in raw.items()}
    try:
        return Baseline(float(values["p95_ms"]), float(values["error_rate"]),
                        int(values["intervals"]))
    except (KeyError, ValueError):
        return None
