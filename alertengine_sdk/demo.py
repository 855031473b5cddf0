"""Demo traffic endpoints (``POST /simulate/spike|errors|recover``), off unless enabled."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from .engine import Engine

DEMO_LABEL = "/demo/checkout"
SIMULATED_REQUESTS = 200


def _inject(engine: Engine, *, median_ms: float, error_share: float, count: int) -> None:
    """Feed synthetic requests through the same recorder real requests use."""
    rng = random.Random()
    for _ in range(count):
        latency = rng.lognormvariate(0, 0.35) * median_ms / 1000.0
        status = 500 if rng.random() < error_share else 200
        engine.recorder.record(DEMO_LABEL, status, latency, latency * 0.2)


def build_demo_routes(engine: Engine) -> list[Route]:
    """Routes that simulate a latency spike, an error burst and a recovery."""

    async def spike(request: Request) -> Response:
        _inject(engine, median_ms=2400.0, error_share=0.2, count=SIMULATED_REQUESTS)
        return JSONResponse({"simulated": "spike", "requests": SIMULATED_REQUESTS})

    async def errors(request: Request) -> Response:
        _inject(engine, median_ms=40.0, error_share=0.6, count=SIMULATED_REQUESTS)
        return JSONResponse({"simulated": "errors", "requests": SIMULATED_REQUESTS})

    async def recover(request: Request) -> Response:
        engine.recorder.reset()
        engine.store.clear()
        _inject(engine, median_ms=40.0, error_share=0.0, count=SIMULATED_REQUESTS)
        return JSONResponse({"simulated": "recover", "requests": SIMULATED_REQUESTS})

    return [Route("/simulate/spike", spike, methods=["POST"]),
            Route("/simulate/errors", errors, methods=["POST"]),
            Route("/simulate/recover", recover, methods=["POST"])]
