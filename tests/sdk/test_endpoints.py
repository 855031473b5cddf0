import logging
import subprocess
import sys

import pytest
from fastapi import FastAPI
from sdk_apps import ROOT_DIR, client, engine_app, fast_app, get_json, hit, run

from alertengine_sdk import AlertConfig, ConfigError, instrument

TOKEN = "s3cret-poll-token-0123456789"
PATHS = ["/health/alerts", "/metrics/history", "/metrics/ingestion", "/__alertengine/status"]


@pytest.mark.parametrize("path", PATHS)
def test_poll_token_is_required_on_every_endpoint(path, caplog):
    caplog.set_level(logging.DEBUG)
    app, _ = engine_app(poll_token=TOKEN)

    async def scenario():
        async with client(app) as c:
            return [
                (await c.get(path)).status_code,
                (await c.get(path, headers={"Authorization": "Bearer wrong-token"})).status_code,
                (await c.get(path, headers={"Authorization": f"Basic {TOKEN}"})).status_code,
                (await c.get(path, headers={"Authorization": f"Bearer {TOKEN}"})).status_code,
            ]

    assert run(scenario()) == [401, 401, 401, 200]
    assert TOKEN not in caplog.text


def test_status_and_repr_never_show_the_token_or_redis_password():
    cfg = AlertConfig(service_name="s", poll_token=TOKEN,
                      redis_url="redis://user:hunter2@127.0.0.1:1/0")
    assert TOKEN not in repr(cfg)
    shown = str(cfg.public_dict())
    assert TOKEN not in shown and "hunter2" not in shown


def test_ingestion_counts_every_request_in_memory_mode():
    app, _ = engine_app()
    run(hit(app, "/users/1", times=25))
    data = run(get_json(app, "/metrics/ingestion"))
    assert data["mode"] == "memory"
    assert data["enqueued"] == 25 and data["dropped"] == 0


def test_history_rejects_bad_parameters_with_422():
    app, _ = engine_app()

    async def scenario():
        async with client(app) as c:
            return [(await c.get(f"/metrics/history?last_n={v}")).status_code
                    for v in ("0", "abc", "100000", "5")]

    assert run(scenario()) == [422, 422, 422, 200]


def test_two_instrumented_apps_have_independent_engines():
    first, second = FastAPI(), FastAPI()
    for app in (first, second):
        @app.get("/ping")
        async def ping() -> dict[str, bool]:
            return {"ok": True}

    e1 = instrument(first, config=AlertConfig(service_name="one"))
    e2 = instrument(second, config=AlertConfig(service_name="two"))
    try:
        assert e1 is not e2
        run(hit(first, "/ping", times=4))
        run(hit(second, "/ping", times=1))
        assert run(get_json(first, "/health/alerts"))["metrics"]["sample_size"] == 4
        assert run(get_json(second, "/health/alerts"))["metrics"]["sample_size"] == 1
        assert run(get_json(second, "/health/alerts"))["service_name"] == "two"
    finally:
        e1.close()
        e2.close()


def test_demo_endpoints_exist_only_when_enabled():
    off, _ = engine_app()
    on, _ = engine_app(demo=True)

    async def post(app, path):
        async with client(app) as c:
            return (await c.post(path)).status_code

    assert run(post(off, "/simulate/spike")) in (404, 405)
    assert run(post(on, "/simulate/spike")) == 200
    payload = run(get_json(on, "/health/alerts"))
    assert payload["status"] == "critical"
    assert run(post(on, "/simulate/recover")) == 200
    assert run(get_json(on, "/health/alerts"))["status"] == "ok"
    assert run(post(on, "/simulate/errors")) == 200
    assert run(get_json(on, "/health/alerts"))["status"] == "critical"


def test_demo_is_refused_in_production():
    with pytest.raises(ConfigError, match="ALERTENGINE_DEMO"):
        AlertConfig.from_env({"ALERTENGINE_DEMO": "1", "ALERTENGINE_ENV": "production"})


def test_environment_variables_configure_every_field_type():
    cfg = AlertConfig.from_env({
        "ALERTENGINE_SERVICE_NAME": "checkout", "ALERTENGINE_WINDOW_S": "30",
        "ALERTENGINE_P95_WARNING_MS": "250.5", "ALERTENGINE_COUNT_4XX_AS_ERRORS": "yes",
        "ALERTENGINE_EXCLUDED_PATHS": "/livez, /readyz", "ALERTENGINE_REDIS_URL": "",
    })
    assert (cfg.service_name, cfg.window_s, cfg.p95_warning_ms) == ("checkout", 30, 250.5)
    assert cfg.count_4xx_as_errors is True
    assert cfg.excluded_paths == ("/livez", "/readyz")
    assert cfg.redis_url is None


@pytest.mark.parametrize("env,name", [
    ({"ALERTENGINE_WINDOW_S": "soon"}, "ALERTENGINE_WINDOW_S"),
    ({"ALERTENGINE_WINDOW_S": "61"}, "ALERTENGINE_WINDOW_S"),
    ({"ALERTENGINE_P95_WARNING_MS": "5000"}, "ALERTENGINE_P95_WARNING_MS"),
    ({"ALERTENGINE_POLL_TOKEN": "short"}, "ALERTENGINE_POLL_TOKEN"),
    ({"ALERTENGINE_WEIGHT_ERRORS": "0.9"}, "ALERTENGINE_WEIGHT_LATENCY"),
])
def test_invalid_settings_fail_with_the_variable_named(env, name):
    with pytest.raises(ConfigError, match=name):
        AlertConfig.from_env(env)


def test_plain_starlette_app_can_be_instrumented():
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    app = Starlette(routes=[Route("/", lambda r: PlainTextResponse("hi"))])
    engine = instrument(app, service_name="plain")
    try:
        run(hit(app, "/", times=3))
        assert run(get_json(app, "/health/alerts"))["metrics"]["sample_size"] == 3
    finally:
        engine.close()


def test_importing_the_sdk_imports_neither_django_nor_redis_nor_fastapi():
    code = ("import sys, alertengine_sdk; "
            "print(sorted(m for m in ('django', 'redis', 'fastapi') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT_DIR, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "[]"


def test_fast_app_is_unaffected_by_instrumentation():
    app = fast_app()
    engine = instrument(app, service_name="unaffected")
    try:
        responses = run(hit(app, "/users/7", times=2))
        assert [r.json() for r in responses] == [{"id": 7}, {"id": 7}]
    finally:
        engine.close()
