"""The SDK's HTTP endpoints as plain Starlette routes."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .health import signals_of
from .window import Aggregate

if TYPE_CHECKING:
    from .engine import Engine

Endpoint = Callable[[Request], Awaitable[Response]]
HISTORY_PATH = "/metrics/history"
INGESTION_PATH = "/metrics/ingestion"
STATUS_PATH = "/__alertengine/status"


def _authorised(request: Request, token: bytes | None) -> bool:
    if token is None:
        return True
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8", "replace"), token)


def _guarded(engine: Engine, handler: Endpoint) -> Endpoint:
    token = engine.config.poll_token.encode() if engine.config.poll_token else None

    async def endpoint(request: Request) -> Response:
        if not _authorised(request, token):
            return JSONResponse({"detail": "missing or invalid bearer token"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        return await handler(request)

    return endpoint


def _shared_allowed(engine: Engine) -> bool:
    return engine.redis is not None and engine.breaker.state == "closed"


async def _health(engine: Engine) -> dict[str, Any]:
    if _shared_allowed(engine):
        try:
            return await anyio.to_thread.run_sync(engine.evaluate_shared)
        except Exception:
            engine.read_errors += 1
    payload = engine.evaluate_local()
    if engine.redis is not None:
        payload["source"] = "local_fallback"
    return payload


def _interval_row(engine: Engine, interval_id: int, agg: Aggregate,
                  route: str | None) -> dict[str, Any]:
    def figures(cell: Any) -> dict[str, Any]:
        s = signals_of(cell, engine.config)
        return {"sample_size": s.sample_size, "p50_ms": round(s.p50_ms, 2),
                "p95_ms": round(s.p95_ms, 2), "p99_ms": round(s.p99_ms, 2),
                "error_rate": round(s.error_rate, 4),
                "client_error_rate": round(s.client_error_rate, 4)}

    routes = {label: figures(cell) for label, cell in sorted(agg.routes.items())
              if route is None or label == route}
    return {"start": interval_id * engine.config.history_interval_s,
            "interval_s": engine.config.history_interval_s,
            "overall": figures(agg.overall), "routes": routes}


def build_routes(engine: Engine, *, health_path: str) -> list[Route]:
    """Routes for ``health_path``, ``/metrics/history``, ``/metrics/ingestion`` and status."""

    async def health(request: Request) -> Response:
        return JSONResponse(await _health(engine))

    async def history(request: Request) -> Response:
        raw = request.query_params.get("last_n", "10")
        limit = engine.config.history_intervals
        if not raw.isdigit() or not 1 <= int(raw) <= limit:
            return JSONResponse({"detail": f"last_n must be an integer from 1 to {limit}"},
                                status_code=422)
        route = request.query_params.get("route")
        rows = None
        source = "local"
        if _shared_allowed(engine):
            try:
                rows = await anyio.to_thread.run_sync(engine.history_shared, int(raw))
                source = "redis"
            except Exception:
                engine.read_errors += 1
        if rows is None:
            rows = engine.history_local(int(raw))
        return JSONResponse({"service_name": engine.config.service_name, "source": source,
                             "intervals": [_interval_row(engine, i, a, route) for i, a in rows]})

    async def ingestion(request: Request) -> Response:
        return JSONResponse(engine.ingestion())

    async def status(request: Request) -> Response:
        return JSONResponse(engine.status())

    return [
        Route(health_path, _guarded(engine, health), methods=["GET"]),
        Route(HISTORY_PATH, _guarded(engine, history), methods=["GET"]),
        Route(INGESTION_PATH, _guarded(engine, ingestion), methods=["GET"]),
        Route(STATUS_PATH, _guarded(engine, status), methods=["GET"]),
    ]
