"""The engine: owns the recorder, the stores, the background thread and the read models."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from . import health, sketch
from .breaker import CircuitBreaker
from .config import AlertConfig
from .health import Baseline
from .storage import MemoryStore, PendingWrites, RedisStore, encode_cells
from .window import Aggregate, Bucket, Cell, Recorder

logger = logging.getLogger("alertengine_sdk")


class Engine:
    """Measurement and evaluation state of one instrumented app.

    Several engines in one process are independent. ``background=False`` leaves the
    maintenance to explicit ``tick()`` calls (and ``clock`` may then be a test clock).
    """

    def __init__(self, config: AlertConfig, *, clock: Callable[[], float] = time.time,
                 background: bool = True) -> None:
        self.config = config
        self.clock = clock
        self.recorder = Recorder(bucket_s=config.bucket_s, max_routes=config.max_routes,
                                 clock=clock)
        self.store = MemoryStore(config)
        self.breaker = CircuitBreaker(threshold=config.breaker_failure_threshold,
                                      cooldown_s=config.breaker_cooldown_s)
        self.pending = PendingWrites(config.max_buffered_buckets)
        self.internal_errors = 0
        self.read_errors = 0
        self.flushed = 0
        self.flush_batches = 0
        self._per_interval = config.history_interval_s // config.bucket_s
        self._next_interval = int(clock() // config.history_interval_s)
        self._to_learn: list[int] = []
        #: Recent failed or slow requests with their trace ids (bounded).
        self.exemplars: deque[dict[str, Any]] = deque(maxlen=20)
        self._background = background
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.worker_id = ""
        self.redis: RedisStore | None = None
        self.recorder.on_rotate = self._ensure_started
        self._ensure_started()

    @property
    def mode(self) -> str:
        """``redis`` when a Redis URL is configured, else ``memory``."""
        return "redis" if self.config.redis_url else "memory"

    def _ensure_started(self) -> None:
        """(Re)start per-process state; after a fork the child gets its own worker id."""
        if self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self.worker_id = f"{socket.gethostname()}:{self._pid}:{secrets.token_hex(3)}"
        if self.config.redis_url:
            self.redis = RedisStore(self.config, self.worker_id)
        if self._background:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="alertengine-flusher",
                                            daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.config.flush_interval_s):
            self.tick()
        self.tick()

    def close(self) -> None:
        """Stop the background thread after a last flush, and close Redis connections."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5 * self.config.redis_timeout_s + 1)
        if self.redis is not None:
            self.redis.close()

    def note_exemplar(self, trace_id: str | None, label: str, status: int,
                      latency_s: float) -> None:
        """Remember a failed or slow request so an incident can point at a trace."""
        self.exemplars.append({"trace_id": trace_id, "route": label, "status": status,
                               "latency_ms": round(latency_s * 1000, 2),
                               "at": round(self.clock(), 3)})

    def tick(self) -> None:
        """One maintenance cycle: move closed buckets, finish intervals, learn, flush."""
        try:
            self._tick()
        except Exception:
            self.internal_errors += 1
            logger.exception("alertengine maintenance failed")

    def _tick(self) -> None:
        rec = self.recorder
        horizon = rec.current.bucket_id
        while rec.closed:
            bucket = rec.closed.popleft()
            self.store.add_bucket(bucket)
            if self.redis is not None:
                self._queue_bucket(bucket)
        rec.rotate()
        last_complete = horizon // self._per_interval - 1
        start = max(self._next_interval, last_complete - self.config.history_intervals + 1)
        for interval_id in range(start, last_complete + 1):
            agg = self.store.complete_interval(interval_id, self._per_interval)
            if self.redis is None:
                if agg is not None:
                    self.store.baseline = health.learn(self.store.baseline, agg.overall,
                                                       self.config)
            else:
                if agg is not None:
                    self.pending.intervals[interval_id] = encode_cells(agg.routes)
                self._to_learn.append(interval_id)
        self._next_interval = max(self._next_interval, last_complete + 1)
        if self.redis is not None and self.breaker.allow():
            self._sync_redis(self.redis)

    def _queue_bucket(self, bucket: Bucket) -> None:
        overall = Aggregate.of([bucket.cells]).overall
        p95 = sketch.quantiles(overall.hist, (0.95,))[0]
        summary = {"worker": self.worker_id, "bucket": bucket.bucket_id,
                   "requests": overall.total, "errors_5xx": overall.counts[5],
                   "p95_ms": round(p95, 2), "routes": len(bucket.cells)}
        self.pending.add_bucket(bucket.bucket_id, encode_cells(bucket.cells), overall.total,
                                summary)

    def _sync_redis(self, store: RedisStore) -> None:
        try:
            written = store.write(self.pending)
            if written:
                self.flush_batches += 1
            self.flushed += written
            self._learn_shared(store)
            shared = store.read_baseline()
            if shared is not None:
                self.store.baseline = shared
            self.breaker.success()
        except Exception as exc:  # any Redis or network error opens the breaker
            self.breaker.failure(exc)

    def _learn_shared(self, store: RedisStore) -> None:
        cfg = self.config
        delay = 2 * cfg.bucket_s + 4 * cfg.flush_interval_s
        ready = [i for i in self._to_learn
                 if (i + 1) * cfg.history_interval_s + delay <= self.clock()]
        for interval_id in ready:
            if store.claim_interval(interval_id):
                _, intervals, shared = store.read([], [interval_id])
                agg = intervals.get(interval_id)
                current = shared or Baseline()
                if agg is not None:
                    learned = health.learn(current, agg.overall, cfg)
                    if learned != current:
                        store.write_baseline(learned)
            self._to_learn.remove(interval_id)

    def _window_ids(self, *, closed_only: bool) -> tuple[int, int, list[int]]:
        cfg = self.config
        current = int(self.clock() // cfg.bucket_s)
        last = current - 1 if closed_only else current
        first = last - cfg.window_s // cfg.bucket_s + 1
        last_prior = (first * cfg.bucket_s) // cfg.history_interval_s - 1
        intervals = list(range(last_prior - cfg.trend_intervals + 1, last_prior + 1))
        return first, last, intervals

    def _local_window(self) -> tuple[Aggregate, list[Cell]]:
        first, last, interval_ids = self._window_ids(closed_only=False)
        rec = self.recorder
        chosen: dict[int, Bucket] = {b.bucket_id: b for b in list(rec.closed)}
        chosen.update((b.bucket_id, b) for b in self.store.buckets_between(first, last))
        current = rec.current
        chosen[current.bucket_id] = current
        window = Aggregate.of(b.cells for i, b in chosen.items() if first <= i <= last)
        history = [a.overall for _, a in
                   self.store.intervals_between(interval_ids[0], interval_ids[-1])]
        return window, history

    def evaluate_local(self) -> dict[str, Any]:
        """Evaluate this process's own measurements (call on the event loop thread)."""
        window, history = self._local_window()
        payload = health.evaluate(window=window, history=history, baseline=self.store.baseline,
                                  config=self.config, timestamp=self.clock())
        payload["source"] = "local"
        payload["sdk_version"] = _version()
        payload["exemplars"] = list(self.exemplars)
        return payload

    def evaluate_shared(self) -> dict[str, Any]:
        """Evaluate the aggregates every worker flushed to Redis (blocking; run in a thread)."""
        if self.redis is None:
            raise RuntimeError("no Redis configured")
        first, last, interval_ids = self._window_ids(closed_only=True)
        buckets, intervals, baseline = self.redis.read(list(range(first, last + 1)),
                                                       interval_ids)
        window = Aggregate.of(buckets)
        history = [intervals[i].overall for i in interval_ids if i in intervals]
        payload = health.evaluate(window=window, history=history,
                                  baseline=baseline or Baseline(), config=self.config,
                                  timestamp=self.clock())
        payload["source"] = "redis"
        payload["sdk_version"] = _version()
        payload["exemplars"] = list(self.exemplars)
        return payload

    def history_local(self, last_n: int) -> list[tuple[int, Aggregate]]:
        """The last ``last_n`` completed intervals of this process."""
        last = int(self.clock() // self.config.history_interval_s) - 1
        return self.store.intervals_between(last - last_n + 1, last)

    def history_shared(self, last_n: int) -> list[tuple[int, Aggregate]]:
        """The last ``last_n`` completed intervals of all workers (blocking)."""
        if self.redis is None:
            raise RuntimeError("no Redis configured")
        last = int(self.clock() // self.config.history_interval_s) - 1
        ids = list(range(last - last_n + 1, last + 1))
        _, intervals, _ = self.redis.read([], ids)
        return [(i, intervals[i]) for i in ids if i in intervals]

    def ingestion(self) -> dict[str, Any]:
        """Honest ingestion counters of this process."""
        rec = self.recorder
        in_flight = sum(b.total for b in list(rec.closed)) + rec.current.total
        return {
            "mode": self.mode,
            "worker_id": self.worker_id,
            "enqueued": self.store.events + in_flight,
            "flushed": self.flushed if self.redis is not None else None,
            "buffered": self.pending.events,
            "dropped": self.pending.dropped,
            "flush_batches": self.flush_batches,
            "internal_errors": self.internal_errors,
            "read_errors": self.read_errors,
            "circuit_breaker": self.breaker.as_dict() if self.redis is not None else None,
        }

    def status(self) -> dict[str, Any]:
        """Full engine status (configuration without secrets, counters, baseline)."""
        return {
            "sdk_version": _version(),
            "service_name": self.config.service_name,
            "mode": self.mode,
            "pid": os.getpid(),
            "routes_tracked": self.recorder.routes_tracked,
            "baseline": self.store.baseline.as_dict(self.config),
            "ingestion": self.ingestion(),
            "config": self.config.public_dict(),
        }


def _version() -> str:
    from . import __version__

    return __version__
