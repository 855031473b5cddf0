"""Small apps and helpers shared by the SDK tests."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from alertengine_sdk import AlertConfig, Engine, mount

ROOT_DIR = Path(__file__).resolve().parents[2]


def fast_app() -> FastAPI:
    app = FastAPI()

    @app.get("/users/{user_id}")
    async def user(user_id: int) -> dict[str, int]:
        return {"id": user_id}

    @app.get("/fail")
    async def fail() -> dict[str, str]:
        raise RuntimeError("boom")

    @app.get("/status/{code}")
    async def status(code: int) -> Any:
        from fastapi.responses import JSONResponse

        return JSONResponse({"code": code}, status_code=code)

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def body():
            yield b"first"
            await asyncio.sleep(0.2)
            yield b"second"

        return StreamingResponse(body())

    return app


def engine_app(clock: Any = None, **settings: Any) -> tuple[FastAPI, Engine]:
    """A fast app instrumented with a manual-tick engine."""
    settings.setdefault("service_name", "test")
    config = AlertConfig(**settings)
    engine = Engine(config, clock=clock, background=False) if clock else Engine(
        config, background=False)
    app = fast_app()
    mount(app, engine)
    return app, engine


def client(app: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def hit(app: Any, path: str, times: int = 1, headers: dict[str, str] | None = None
              ) -> list[httpx.Response]:
    async with client(app) as c:
        return [await c.get(path, headers=headers) for _ in range(times)]


async def get_json(app: Any, path: str, headers: dict[str, str] | None = None) -> Any:
    async with client(app) as c:
        r = await c.get(path, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()
