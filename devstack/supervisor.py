"""A small process supervisor: children with prefixed logs, stopped cleanly and in order.

Children are started in their own sessions so a terminal's Ctrl-C reaches only the supervisor,
which then stops them last-started-first (the web server and workers before Redis and
PostgreSQL). On Linux each child also gets a parent-death signal, so even a supervisor killed
with SIGKILL leaves no process behind.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_COLOURS = itertools.cycle(["36", "33", "35", "32", "34", "31"])
_PR_SET_PDEATHSIG = 1


def _die_with_parent(sig: int):
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, sig)

    return preexec


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    stop_signal: int


class Supervisor:
    """Start, watch and stop child processes."""

    def __init__(self, *, stream=None, colour: bool | None = None) -> None:
        self.children: list[Child] = []
        self.stream = stream or sys.stdout
        self.colour = self.stream.isatty() if colour is None else colour
        self._lock = threading.Lock()
        self._width = 8
        self._colour_of: dict[str, str] = {}

    def say(self, name: str, line: str) -> None:
        label = name.ljust(self._width)
        if self.colour:
            colour = self._colour_of.get(name, "0")
            label = f"\033[{colour}m{label}\033[0m"
        with self._lock:
            self.stream.write(f"{label} | {line}\n")
            self.stream.flush()

    def start(
        self,
        name: str,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
        group: int | None = None,
        extra_groups: list[int] | None = None,
        stop_signal: int = signal.SIGTERM,
        quiet: bool = False,
    ) -> subprocess.Popen:
        """Start ``argv`` as child ``name``; its output is printed with a ``name |`` prefix."""
        self._colour_of.setdefault(name, next(_COLOURS))
        self._width = max(self._width, len(name))
        process = subprocess.Popen(
            argv,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            user=user,
            group=group,
            extra_groups=extra_groups,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent(stop_signal),
        )
        self.children.append(Child(name, process, stop_signal))
        threading.Thread(target=self._pump, args=(name, process, quiet), daemon=True).start()
        return process

    def _pump(self, name: str, process: subprocess.Popen, quiet: bool) -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode(errors="replace").rstrip()
            if not quiet or any(word in line for word in ("ERROR", "FATAL", "PANIC", "Error")):
                self.say(name, line)

    def is_running(self, name: str) -> bool:
        return any(c.name == name and c.process.poll() is None for c in self.children)

    def wait_any(self) -> Child:
        """Block until one child exits; return it."""
        while True:
            for child in self.children:
                if child.process.poll() is not None:
                    return child
            time.sleep(0.2)

    def stop(self, timeout: float = 8.0) -> None:
        """Stop every child, newest first; kill what has not exited within ``timeout``."""
        for child in reversed(self.children):
            self._stop_one(child, timeout)
        self.children.clear()

    def _stop_one(self, child: Child, timeout: float) -> None:
        process = child.process
        if process.poll() is None:
            try:
                os.killpg(process.pid, child.stop_signal)
            except ProcessLookupError:
                pass
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.say(child.name, f"did not stop within {timeout:.0f} s; killing")
        # Anything left in the child's process group (e.g. worker pool processes) goes too.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        process.wait()
