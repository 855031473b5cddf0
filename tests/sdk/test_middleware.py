import contextlib

import pytest
from sdk_apps import client, engine_app, get_json, hit, run
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Match, Mount, Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from alertengine_sdk import AlertConfig, Engine, mount


def routes_of(payload):
    return {r["route"]: r for r in payload["routes"]}


def test_labels_use_route_templates_and_group_unmatched_paths():
    app, _ = engine_app()

    async def scenario():
        for i in range(5):
            await hit(app, f"/users/{i}")
        for i in range(7):
            await hit(app, f"/no/such/page/{i}")
        return await get_json(app, "/health/alerts")

    routes = routes_of(run(scenario()))
    assert routes["/users/{user_id}"]["sample_size"] == 5
    assert routes["<unmatched>"]["sample_size"] == 7
    assert routes["<unmatched>"]["client_error_rate"] == 1.0
    assert not any(r.startswith("/users/") and r != "/users/{user_id}" for r in routes)


def test_health_endpoint_and_configured_paths_are_not_measured():
    app, _ = engine_app(excluded_paths=("/users/1",))

    async def scenario():
        for _ in range(3):
            await get_json(app, "/health/alerts")
            await get_json(app, "/metrics/ingestion")
        await hit(app, "/users/1", times=4)
        await hit(app, "/users/2")
        return await get_json(app, "/health/alerts")

    payload = run(scenario())
    assert payload["metrics"]["sample_size"] == 1
    assert list(routes_of(payload)) == ["/users/{user_id}"]


def test_exception_counts_as_500_and_still_propagates():
    app, _engine = engine_app()

    async def scenario():
        transport_app = app
        async with client(transport_app) as c:
            r = await c.get("/fail")
        return r.status_code, await get_json(app, "/health/alerts")

    code, payload = run(scenario())
    assert code == 500
    assert routes_of(payload)["/fail"]["error_rate"] == 1.0

    raised = []

    async def bare_app(scope, receive, send):
        raise ValueError("app failure")

    cfg = AlertConfig(service_name="raw")
    eng = Engine(cfg, background=False)
    from alertengine_sdk import AlertEngineMiddleware

    wrapped = AlertEngineMiddleware(bare_app, engine=eng)

    async def call():
        async def receive():
            return {"type": "http.request", "body": b""}

        async def send(message):
            pass

        try:
            await wrapped({"type": "http", "path": "/x", "headers": []}, receive, send)
        except ValueError as exc:
            raised.append(exc)

    run(call())
    assert raised and str(raised[0]) == "app failure"
    assert eng.recorder.current.cells["<unmatched>"].counts[5] == 1


def test_streamed_latency_covers_the_whole_body_and_ttfb_is_kept():
    app, _ = engine_app()
    payload = run(_stream_then_health(app))
    stream = routes_of(payload)["/stream"]
    assert stream["mean_ms"] >= 200
    assert stream["mean_ttfb_ms"] < stream["mean_ms"]


async def _stream_then_health(app):
    async with client(app) as c:
        r = await c.get("/stream")
        assert r.content == b"firstsecond"
    return await get_json(app, "/health/alerts")


def test_lifespan_and_websocket_pass_through_untouched():
    events = []

    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("hello")
        await websocket.close()

    @contextlib.asynccontextmanager
    async def lifespan(app):
        events.append("startup")
        yield
        events.append("shutdown")

    app = Starlette(routes=[WebSocketRoute("/ws", ws)], lifespan=lifespan)
    engine = Engine(AlertConfig(service_name="ws"), background=False)
    mount(app, engine)
    with TestClient(app) as tc:
        with tc.websocket_connect("/ws") as conn:
            assert conn.receive_text() == "hello"
    assert events == ["startup", "shutdown"]
    assert engine.ingestion()["enqueued"] == 0


class PathlessRoute(BaseRoute):
    """A third-party route type without a ``path`` attribute."""

    def matches(self, scope):
        return Match.FULL, {}

    async def handle(self, scope, receive, send):
        await PlainTextResponse("ok")(scope, receive, send)


def test_an_sdk_failure_never_reaches_the_request_and_is_counted():
    app = Starlette(routes=[PathlessRoute()])
    engine = Engine(AlertConfig(service_name="odd"), background=False)
    mount(app, engine)

    async def scenario():
        async with client(app) as c:
            return [(await c.get("/anything")).text for _ in range(3)]

    assert run(scenario()) == ["ok", "ok", "ok"]
    assert engine.ingestion()["internal_errors"] == 3


def test_mounted_sub_app_routes_keep_their_prefix():
    inner = Starlette(routes=[Route("/items/{item}", lambda r: PlainTextResponse("i"))])
    app = Starlette(routes=[Mount("/api", app=inner)])
    engine = Engine(AlertConfig(service_name="mnt"), background=False)
    mount(app, engine)
    payload = run(_two_hits_then_health(app))
    assert list(routes_of(payload)) == ["/api/items/{item}"]


async def _two_hits_then_health(app):
    await hit(app, "/api/items/1")
    await hit(app, "/api/items/2")
    return await get_json(app, "/health/alerts")


def test_route_cardinality_is_bounded():
    routes = [Route(f"/r{i}", lambda r: PlainTextResponse("x")) for i in range(20)]
    app = Starlette(routes=routes)
    engine = Engine(AlertConfig(service_name="card", max_routes=5), background=False)
    mount(app, engine)

    async def scenario():
        for i in range(20):
            await hit(app, f"/r{i}")
        return await get_json(app, "/health/alerts")

    labels = routes_of(run(scenario()))
    assert len(labels) == 6
    assert labels["<other>"]["sample_size"] == 15


def test_trace_id_of_a_failed_request_is_kept_as_exemplar():
    app, _ = engine_app()

    async def scenario():
        await hit(app, "/fail", headers={"X-Request-ID": "req-42"})
        return await get_json(app, "/health/alerts")

    exemplars = run(scenario())["exemplars"]
    assert exemplars[-1]["trace_id"] == "req-42"
    assert exemplars[-1]["status"] == 500


@pytest.mark.parametrize("code", [404, 429])
def test_4xx_are_reported_separately_and_counted_in_only_when_configured(code):
    async def scenario(app):
        await hit(app, f"/status/{code}", times=10)
        return await get_json(app, "/health/alerts")

    plain, _ = engine_app()
    counted, _ = engine_app(count_4xx_as_errors=True)
    a = run(scenario(plain))
    b = run(scenario(counted))
    assert a["metrics"]["error_rate"] == 0.0 and a["metrics"]["client_error_rate"] == 1.0
    assert b["metrics"]["error_rate"] == 1.0 and b["status"] == "critical"

