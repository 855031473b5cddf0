"""AlertEngine SDK: request measurement and ``/health/alerts`` for FastAPI and Starlette.

Usage::

    from alertengine_sdk import instrument

    engine = instrument(app, service_name="checkout")
"""

from __future__ import annotations

from typing import Any

from .config import AlertConfig, ConfigError
from .engine import Engine
from .middleware import AlertEngineMiddleware

__version__ = "0.1.0"
__all__ = ["AlertConfig", "AlertEngineMiddleware", "ConfigError", "Engine", "__version__",
           "instrument", "mount"]

DEFAULT_HEALTH_PATH = "/health/alerts"


def mount(app: Any, engine: Engine, *, health_path: str = DEFAULT_HEALTH_PATH) -> Engine:
    """Add the middleware and the SDK endpoints of ``engine`` to a Starlette/FastAPI app."""
    from .demo import build_demo_routes
    from .endpoints import HISTORY_PATH, INGESTION_PATH, STATUS_PATH, build_routes

    routes = build_routes(engine, health_path=health_path)
    if engine.config.demo:
        routes += build_demo_routes(engine)
    # appended, so the customer's own routes are matched first and pay no extra routing
    app.router.routes.extend(routes)
    own = frozenset({health_path, HISTORY_PATH, INGESTION_PATH, STATUS_PATH})
    app.add_middleware(AlertEngineMiddleware, engine=engine, excluded_paths=own)
    return engine


def instrument(app: Any, *, service_name: str | None = None, redis_url: str | None = None,
               config: AlertConfig | None = None, health_path: str = DEFAULT_HEALTH_PATH,
               poll_token: str | None = None) -> Engine:
    """Instrument ``app`` in one line and return its own, independent ``Engine``.

    Settings come from ``config`` (default: ``AlertConfig.from_env()``, the
    ``ALERTENGINE_*`` variables); ``service_name``, ``redis_url`` and ``poll_token`` given
    here override it. With no Redis URL the engine runs in memory mode.
    """
    base = config if config is not None else AlertConfig.from_env()
    overrides = {k: v for k, v in (("service_name", service_name), ("redis_url", redis_url),
                                   ("poll_token", poll_token)) if v is not None}
    cfg = base.replace(**overrides) if overrides else base
    return mount(app, Engine(cfg), health_path=health_path)
