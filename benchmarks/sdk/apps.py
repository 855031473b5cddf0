"""The benchmarked app in each variant; ``BENCH_VARIANT`` selects it for uvicorn runs."""

from __future__ import annotations

import os
from time import perf_counter
from typing import Any

from fastapi import FastAPI

VARIANTS = ("bare", "floor", "ours", "public")


class TimingFloor:
    """The cheapest useful pure-ASGI timing middleware: wraps send, reads the clock twice."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.total = 0.0
        self.count = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = perf_counter()
        status = 500

        async def send_wrapper(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.total += perf_counter() - start
            self.count += status > 0


def build(variant: str, *, redis_url: str | None = None) -> Any:
    """A tiny FastAPI app returning JSON, instrumented per ``variant``."""
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    if variant == "floor":
        app.add_middleware(TimingFloor)
    elif variant == "ours":
        from alertengine_sdk import AlertConfig, instrument

        instrument(app, config=AlertConfig(service_name="bench", redis_url=redis_url))
    elif variant == "public":
        from fastapi_alertengine import AlertConfig as PublicConfig
        from fastapi_alertengine import instrument as public_instrument

        cfg = PublicConfig(redis_url=redis_url or "redis://127.0.0.1:1/0")
        public_instrument(app, config=cfg)
    return app


def _from_env() -> Any:
    return build(os.environ.get("BENCH_VARIANT", "bare"),
                 redis_url=os.environ.get("BENCH_REDIS_URL") or None)


app = _from_env() if os.environ.get("BENCH_VARIANT") else None
