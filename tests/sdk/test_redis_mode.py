"""Redis mode against real Redis servers and real worker processes."""

import os
import subprocess
import sys
import uuid

import httpx
import pytest
from conftest import free_port, wait_for
from sdk_apps import ROOT_DIR, fast_app, get_json, hit, run

from alertengine_sdk import AlertConfig, Engine, mount

FAST = dict(bucket_s=1, window_s=30, history_interval_s=2, flush_interval_s=0.1,
            redis_timeout_s=0.2, breaker_failure_threshold=2, breaker_cooldown_s=0.3)


def redis_engine(url, **settings):
    cfg = AlertConfig(service_name=f"t-{uuid.uuid4().hex[:8]}", redis_url=url,
                      **{**FAST, **settings})
    engine = Engine(cfg)
    app = fast_app()
    mount(app, engine)
    return app, engine


def ingestion(engine):
    return engine.ingestion()


def test_worker_processes_report_the_same_health(redis_url):
    service = f"mw-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PYTHONPATH": f"{ROOT_DIR}{os.pathsep}{ROOT_DIR / 'tests' / 'sdk'}",
           "ALERTENGINE_SERVICE_NAME": service, "ALERTENGINE_REDIS_URL": redis_url,
           "ALERTENGINE_BUCKET_S": "1", "ALERTENGINE_WINDOW_S": "60",
           "ALERTENGINE_FLUSH_INTERVAL_S": "0.1"}
    ports = [free_port(), free_port()]
    procs = [subprocess.Popen([sys.executable, "-m", "uvicorn", "worker_app:app", "--port",
                               str(p), "--log-level", "critical"], env=env, cwd=ROOT_DIR,
                              stderr=subprocess.DEVNULL)
             for p in ports]
    try:
        bases = [f"http://127.0.0.1:{p}" for p in ports]

        def up():
            try:
                return all(httpx.get(f"{b}/metrics/ingestion").status_code == 200 for b in bases)
            except httpx.HTTPError:
                return False

        wait_for(up, timeout=30)
        with httpx.Client() as c:
            for i in range(120):
                c.get(f"{bases[0]}/orders/{i}")
            for i in range(80):
                c.get(f"{bases[1]}/orders/{i}")
            for _ in range(10):
                assert c.get(f"{bases[1]}/broken",
                             headers={"Connection": "close"}).status_code == 500

        def agreed():
            payloads = [httpx.get(f"{b}/health/alerts").json() for b in bases]
            if all(p["metrics"]["sample_size"] == 210 for p in payloads):
                return payloads
            return None

        first, second = wait_for(agreed, timeout=20)
        assert first["source"] == second["source"] == "redis"
        for key in ("status", "metrics", "health_score", "alerts", "routes"):
            assert first[key] == second[key]
        assert first["metrics"]["error_rate"] == pytest.approx(10 / 210, abs=1e-4)
        workers = {httpx.get(f"{b}/metrics/ingestion").json()["worker_id"] for b in bases}
        assert len(workers) == 2
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)


def test_breaker_opens_buffers_bounded_counts_drops_and_recovers(private_redis):
    app, engine = redis_engine(private_redis.url, max_buffered_buckets=2)
    try:
        run(hit(app, "/users/1", times=50))
        wait_for(lambda: ingestion(engine)["flushed"] == 50)
        private_redis.stop()
        sent = 50
        # traffic spread over several buckets while Redis is gone
        for _ in range(5):
            run(hit(app, "/users/2", times=20))
            sent += 20
            before = engine.recorder.current.bucket_id
            wait_for(lambda b=before: engine.recorder.current.bucket_id != b
                     or engine.recorder.rotate().bucket_id != b)
        state = wait_for(lambda: ingestion(engine)["circuit_breaker"]["state"] == "open"
                         and ingestion(engine))
        assert state["circuit_breaker"]["times_opened"] >= 1
        wait_for(lambda: ingestion(engine)["dropped"] > 0)
        counts = ingestion(engine)
        assert counts["enqueued"] == sent
        assert counts["buffered"] <= 2 * 20
        payload = run(get_json(app, "/health/alerts"))
        assert payload["source"] == "local_fallback"
        private_redis.start()
        final = wait_for(lambda: (c := ingestion(engine))["circuit_breaker"]["state"] == "closed"
                         and c["buffered"] == 0 and c["flushed"] + c["dropped"] == sent and c)
        assert final["dropped"] > 0
        assert final["flushed"] == sent - final["dropped"]
    finally:
        engine.close()


def test_redis_down_at_start_up_is_reached_once_it_comes_up(private_redis):
    private_redis.stop()
    app, engine = redis_engine(private_redis.url)
    try:
        run(hit(app, "/users/3", times=30))
        wait_for(lambda: ingestion(engine)["circuit_breaker"]["state"] == "open")
        assert run(get_json(app, "/health/alerts"))["metrics"]["sample_size"] == 30
        private_redis.start()
        wait_for(lambda: ingestion(engine)["flushed"] == 30)
        shared = wait_for(lambda: (p := run(get_json(app, "/health/alerts")))["source"] == "redis"
                          and p["metrics"]["sample_size"] == 30 and p)
        assert shared["routes"][0]["route"] == "/users/{user_id}"
    finally:
        engine.close()


def test_a_paused_redis_does_not_hold_requests_and_the_breaker_reports_it(private_redis):
    app, engine = redis_engine(private_redis.url)
    try:
        run(hit(app, "/users/4", times=10))
        wait_for(lambda: ingestion(engine)["flushed"] == 10)
        private_redis.pause()
        responses = run(hit(app, "/users/5", times=200))
        assert all(r.status_code == 200 for r in responses)
        wait_for(lambda: ingestion(engine)["circuit_breaker"]["state"] == "open")
        payload = run(get_json(app, "/health/alerts"))
        assert payload["source"] == "local_fallback"
        assert payload["metrics"]["sample_size"] == 210
        private_redis.resume()
        wait_for(lambda: ingestion(engine)["flushed"] == 210)
    finally:
        engine.close()


def test_baseline_is_shared_and_survives_a_restart(redis_url, clock):
    service = f"bl-{uuid.uuid4().hex[:8]}"
    cfg = AlertConfig(service_name=service, redis_url=redis_url, bucket_s=1, window_s=2,
                      history_interval_s=2, flush_interval_s=0.1, baseline_min_intervals=2)
    first = Engine(cfg, clock=clock, background=False)
    try:
        for _ in range(4):
            for _ in range(50):
                first.recorder.record("/checkout", 200, 0.08, 0.01)
            clock.advance(2)
            first.tick()
            first.tick()
        clock.advance(10)
        first.tick()
        learned = first.store.baseline
        assert learned.intervals == 4
        assert learned.p95_ms == pytest.approx(80, rel=0.01)
        for _ in range(100):
            first.recorder.record("/checkout", 500, 4.0, 0.01)
        clock.advance(2)
        first.tick()
        first.tick()
        clock.advance(10)
        first.tick()
        assert first.store.baseline == learned
    finally:
        first.close()
    restarted = Engine(cfg, clock=clock, background=False)
    try:
        restarted.tick()
        assert restarted.store.baseline == learned
    finally:
        restarted.close()
