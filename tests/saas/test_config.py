"""Start-up configuration: production refuses weak settings with one line naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
STRONG = {
    "ALERTENGINE_ENV": "production",
    "DEBUG": "0",
    "SECRET_KEY": "p" * 64,
    "ALERT_SECRET": "a" * 40,
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "ALERTENGINE_BASE_URL": "https://alertengine.example.com",
    "ALERTENGINE_BASE_DOMAIN": "alertengine.example.com",
}


def _run(argv: list[str], **overrides: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **STRONG, **overrides}
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def _manage_check(**overrides: str) -> subprocess.CompletedProcess:
    return _run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "CRITICAL"], **overrides)


def test_strong_production_configuration_starts():
    result = _manage_check()
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"ALERT_SECRET": "0123456789"}, "ALERT_SECRET"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"DEBUG": "1"}, "DEBUG"),
        ({"FIELD_ENCRYPTION_KEYS": ""}, "FIELD_ENCRYPTION_KEYS"),
        ({"FIELD_ENCRYPTION_KEYS": "not-a-fernet-key"}, "FIELD_ENCRYPTION_KEYS"),
        ({"ALERTENGINE_BASE_URL": "http://alertengine.example.com"}, "ALERTENGINE_BASE_URL"),
        ({"ALERTENGINE_ENV": "staging"}, "ALERTENGINE_ENV"),
        ({"LOOP_INTERVAL_S": "fast"}, "LOOP_INTERVAL_S"),
        ({"DATABASE_URL": "mysql://db/x"}, "DATABASE_URL"),
    ],
)
def test_bad_configuration_fails_with_one_line_naming_the_variable(overrides, variable):
    result = _manage_check(**overrides)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"configuration error: {variable}:")
    assert "Traceback" not in result.stderr


def test_celery_worker_refuses_weak_configuration_with_one_line():
    result = _run([sys.executable, "-m", "celery", "-A", "saas", "worker", "--pool", "solo"], ALERT_SECRET="short")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "configuration error: ALERT_SECRET: must be at least 32 bytes in production, got 5"
    ]


def test_development_secret_is_refused_in_production():
    from django.conf import settings

    result = _manage_check(ALERT_SECRET=settings.ALERT_SECRET)
    assert result.returncode == 2
    assert "ALERT_SECRET: is a development default" in result.stderr


def test_a_missing_environment_name_is_refused_rather_than_taken_as_development():
    env = {k: v for k, v in {**os.environ, **STRONG}.items() if k != "ALERTENGINE_ENV"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == "configuration error: ALERTENGINE_ENV: is required but not set"
