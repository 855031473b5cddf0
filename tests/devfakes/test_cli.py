"""``python -m devfakes`` as the dev supervisor runs it: starts, answers, stops on SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import requests


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_command_serves_until_sigterm_and_logs_no_token() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "devfakes", "--port", str(port), "--phone-link", "Admin=http://localhost:8000/admin/"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                health = requests.get(f"http://127.0.0.1:{port}/_health", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the fakes server did not start"
                time.sleep(0.05)
        token = "7000000001:AAHdevfakeTelegramBotToken0000000000"
        requests.post(f"http://127.0.0.1:{port}/telegram/bot{token}/getMe", timeout=5)
        phone = requests.get(f"http://127.0.0.1:{port}/phone", timeout=5)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=10)

    assert health.json() == {"ok": True}
    assert "http://localhost:8000/admin/" in phone.text
    assert process.returncode == 0
    assert "/telegram/bot<token>/getMe 200" in output
    assert token not in output
