"""The embedded services: clean stop, no orphans after a crash, and a restart that still works."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import psycopg
import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]


def _start(data_dir: Path) -> tuple[subprocess.Popen, dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["ALERTENGINE_DEV_DATA"] = str(data_dir)
    proc = subprocess.Popen([sys.executable, "-m", "devstack", "services"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, text=True)
    urls: dict[str, str] = {}
    deadline = time.monotonic() + 90
    assert proc.stdout is not None
    while len(urls) < 2 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("export "):
            key, _, value = line[len("export "):].strip().partition("=")
            urls[key] = value.strip("'")
    assert set(urls) == {"DATABASE_URL", "REDIS_URL"}, f"services did not start (exit {proc.poll()})"
    return proc, urls


def _descendants(proc: subprocess.Popen) -> list[psutil.Process]:
    return psutil.Process(proc.pid).children(recursive=True)


def _all_gone(processes: list[psutil.Process], timeout: float = 15.0) -> list[psutil.Process]:
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    return [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]


def _usable(urls: dict[str, str]) -> None:
    with psycopg.connect(urls["DATABASE_URL"], connect_timeout=5) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert redis.Redis.from_url(urls["REDIS_URL"]).ping()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signals are Linux-only")
def test_services_stop_cleanly_survive_a_crash_and_restart(tmp_path):
    data = tmp_path / "data"

    proc, urls = _start(data)
    _usable(urls)
    children = _descendants(proc)
    assert {p.name() for p in children} >= {"postgres", "redis-server"}
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) == 0
    assert _all_gone(children) == []
    assert not (data / "pg" / "postmaster.pid").exists()

    crashed, urls = _start(data)
    _usable(urls)
    children = _descendants(crashed)
    crashed.kill()  # no chance to clean up
    crashed.wait()
    assert _all_gone(children) == []

    again, urls = _start(data)
    try:
        _usable(urls)
    finally:
        again.send_signal(signal.SIGTERM)
        assert again.wait(timeout=20) == 0
