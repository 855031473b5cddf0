"""The processes of the local demo, shared by ``./dev up`` and the walk-through test.

Beside the control plane (web, worker, beat) it runs the local fakes of the third-party APIs
with the fake phone, and the demo tenant's demo service (a FastAPI app instrumented with the
SDK, whose recovery webhook really clears its fault).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from devstack.services import DATA, ROOT
from devstack.supervisor import Supervisor

PYTHON = sys.executable
QUEUES = "poll,diagnose,notify,execute,default"


@dataclass(frozen=True)
class Ports:
    web: int = 8000
    fakes: int = 8025
    demo_service: int = 8100

    @property
    def fakes_url(self) -> str:
        return f"http://127.0.0.1:{self.fakes}"

    @property
    def demo_service_url(self) -> str:
        return f"http://127.0.0.1:{self.demo_service}"


def control_plane_env(services_env: dict[str, str], ports: Ports) -> dict[str, str]:
    """Environment of the web, worker and beat processes: our services, pointed at the fakes."""
    return {
        **services_env,
        "ALERTENGINE_ENV": "development",
        "ALERTENGINE_BASE_URL": f"http://localhost:{ports.web}",
        "DEVFAKES_URL": ports.fakes_url,
        "ANTHROPIC_API_KEY": "sk-ant-devfake",
        "ANTHROPIC_BASE_URL": f"{ports.fakes_url}/anthropic",
        "GITHUB_API_URL": f"{ports.fakes_url}/github",
        "PYTHONUNBUFFERED": "1",
    }


def demo_credentials(data_dir: Path = DATA) -> dict[str, str]:
    """What demo_setup wrote for the demo service (its webhook and GitHub secrets)."""
    return json.loads((data_dir / "demo.json").read_text())


def start_fakes(supervisor: Supervisor, ports: Ports) -> None:
    spike = f"Start a spike=POST:{ports.demo_service_url}/fault/spike"
    supervisor.start("fakes", [PYTHON, "-m", "devfakes", "--port", str(ports.fakes), "--phone-link", spike],
                     cwd=ROOT, env={"PYTHONUNBUFFERED": "1"})
    wait_http(f"{ports.fakes_url}/_health", "the fakes")


def start_demo_service(supervisor: Supervisor, ports: Ports, *, data_dir: Path = DATA) -> None:
    creds = demo_credentials(data_dir)
    env = {
        "DEMO_SERVICE_PORT": str(ports.demo_service),
        "DEMO_WEBHOOK_SECRET": creds["webhook_secret"],
        "DEMO_GITHUB_SECRET": creds["github_secret"],
        "DEMO_COMMITS_WEBHOOK_URL": creds["commits_webhook_url"],
        "DEVFAKES_URL": ports.fakes_url,
        "ALERTENGINE_ENV": "development",
        "PYTHONUNBUFFERED": "1",
    }
    supervisor.start("demo-svc", [PYTHON, "-m", "uvicorn", "examples.demo_service:app", "--host", "127.0.0.1",
                                  "--port", str(ports.demo_service), "--log-level", "warning"], cwd=ROOT, env=env)
    wait_http(f"{ports.demo_service_url}/health/alerts", "the demo service")


def start_control_plane(supervisor: Supervisor, env: dict[str, str], ports: Ports, *, beat: bool = True,
                        data_dir: Path = DATA) -> None:
    # Loopback only: the demo has known credentials and DEBUG on.
    supervisor.start("web", [PYTHON, "manage.py", "runserver", "--noreload", f"127.0.0.1:{ports.web}"], env=env,
                     cwd=ROOT)
    supervisor.start("worker", [PYTHON, "-m", "celery", "-A", "saas", "worker", "--loglevel", "INFO",
                                "--concurrency", "2", "-Q", QUEUES], env=env, cwd=ROOT)
    if beat:
        supervisor.start("beat", [PYTHON, "-m", "celery", "-A", "saas", "beat", "--loglevel", "INFO",
                                  "--schedule", str(data_dir / "celerybeat-schedule")], env=env, cwd=ROOT)
    wait_http(f"http://127.0.0.1:{ports.web}/healthz", "the web server", host="localhost")


def wait_http(url: str, what: str, *, timeout: float = 60.0, host: str | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, headers={"Host": host} if host else {}, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer at {url} within {timeout:.0f} s")
