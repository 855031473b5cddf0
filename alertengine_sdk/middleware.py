"""Pure ASGI middleware measuring every HTTP request of the wrapped app."""

from __future__ import annotations

import logging
from time import perf_counter
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from .engine import Engine

logger = logging.getLogger("alertengine_sdk")

TRACE_HEADERS = (b"x-request-id", b"x-trace-id", b"x-correlation-id")


def trace_id_of(scope: Scope) -> str | None:
    """The request's trace id from X-Request-ID / X-Trace-ID / X-Correlation-ID (<= 128 chars)."""
    found: dict[bytes, bytes] = {}
    for name, value in scope.get("headers", ()):
        if name in TRACE_HEADERS and name not in found:
            found[name] = value
    for name in TRACE_HEADERS:
        if name in found:
            return found[name][:128].decode("latin-1")
    return None


class AlertEngineMiddleware:
    """Measures latency (to the last body byte), time to first byte and status per route.

    Lifespan and websocket scopes pass through untouched. If the app raises before
    starting a response the request counts as a 500 and the exception propagates. Any
    failure of the SDK itself is counted in ``engine.internal_errors`` and never reaches
    the request.
    """

    def __init__(self, app: ASGIApp, *, engine: Engine,
                 excluded_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.engine = engine
        self.excluded = excluded_paths | frozenset(engine.config.excluded_paths)
        self.unmatched = engine.config.unmatched_label
        self.record = engine.recorder.record
        self.slow_s = engine.config.p95_warning_ms / 1000.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.excluded:
            await self.app(scope, receive, send)
            return
        root_path = scope.get("root_path", "")
        start = perf_counter()
        status = 500
        first_byte = 0.0
        done = 0.0

        async def send_wrapper(message: Message) -> None:
            nonlocal status, first_byte, done
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
                first_byte = perf_counter()
            elif kind == "http.response.body" and not message.get("more_body", False):
                done = perf_counter()
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            end = done or perf_counter()
            try:
                route: Any = scope.get("route")
                if route is None:
                    label = self.unmatched
                else:
                    label = route.path
                    inner_root = scope.get("root_path", "")
                    if inner_root != root_path:
                        label = inner_root[len(root_path):] + label
                elapsed = end - start
                self.record(label, status, elapsed, (first_byte or end) - start)
                if status >= 500 or elapsed > self.slow_s:
                    self.engine.note_exemplar(trace_id_of(scope), label, status, elapsed)
            except Exception:
                self.engine.internal_errors += 1
