"""Django settings for the AlertEngine control plane.

Every value that differs between machines comes from the environment, read once here
through :mod:`saas.config`; ``docs/configuration.md`` lists each variable.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet

from saas.config import (
    ENVIRONMENTS,
    ConfigurationError,
    env,
    env_bool,
    env_number,
    require_strong_secret,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# No default: a deployment that forgets to say it is production must not start as development.
ALERTENGINE_ENV = env("ALERTENGINE_ENV", required=True) or ""
if ALERTENGINE_ENV not in ENVIRONMENTS:
    raise ConfigurationError("ALERTENGINE_ENV", f"must be one of {', '.join(ENVIRONMENTS)}, got {ALERTENGINE_ENV!r}")
PRODUCTION = ALERTENGINE_ENV == "production"

# Development defaults: usable on a laptop, refused by name in production.
_DEV_SECRET_KEY = "development-only-secret-key-do-not-use-in-production-000000"  # noqa: S105 - refused in production
_DEV_ALERT_SECRET = "development-only-alert-secret-do-not-use-in-production"  # noqa: S105 - refused in production
_DEV_FIELD_KEY = "ZGV2ZWxvcG1lbnQtb25seS1maWVsZC1rZXktMDAwMDA="

SECRET_KEY = env("SECRET_KEY", None if PRODUCTION else _DEV_SECRET_KEY)
ALERT_SECRET = env("ALERT_SECRET", None if PRODUCTION else _DEV_ALERT_SECRET)
DEBUG = env_bool("DEBUG", default=ALERTENGINE_ENV == "development")
_field_keys_raw = env("FIELD_ENCRYPTION_KEYS", None if PRODUCTION else _DEV_FIELD_KEY)

if PRODUCTION:
    if DEBUG:
        raise ConfigurationError("DEBUG", "must be off in production")
    require_strong_secret("SECRET_KEY", SECRET_KEY, min_bytes=50, weak=frozenset({_DEV_SECRET_KEY}))
    require_strong_secret("ALERT_SECRET", ALERT_SECRET, min_bytes=32, weak=frozenset({_DEV_ALERT_SECRET}))
    if not _field_keys_raw:
        raise ConfigurationError("FIELD_ENCRYPTION_KEYS", "is required in production")
    if _DEV_FIELD_KEY in _field_keys_raw.split(","):
        raise ConfigurationError("FIELD_ENCRYPTION_KEYS", "contains the development key; generate your own")

# Fernet keys for credentials at rest; the first encrypts, all decrypt (rotation).
FIELD_ENCRYPTION_KEYS = [k.strip() for k in (_field_keys_raw or "").split(",") if k.strip()]
for _key in FIELD_ENCRYPTION_KEYS:
    try:
        Fernet(_key)
    except ValueError:
        raise ConfigurationError(
            "FIELD_ENCRYPTION_KEYS", "each key must be 32 url-safe base64-encoded bytes (Fernet.generate_key())"
        ) from None

# Hosts: the public site on the base domain, each tenant on <subdomain>.<base domain>.
ALERTENGINE_BASE_DOMAIN = env("ALERTENGINE_BASE_DOMAIN", "localhost")
ALERTENGINE_BASE_URL = env("ALERTENGINE_BASE_URL", "http://localhost:8000")
if not ALERTENGINE_BASE_URL.startswith(("http://", "https://")):
    raise ConfigurationError("ALERTENGINE_BASE_URL", "must start with http:// or https://")
if PRODUCTION and not ALERTENGINE_BASE_URL.startswith("https://"):
    raise ConfigurationError("ALERTENGINE_BASE_URL", "must use https:// in production")
ALLOWED_HOSTS = [ALERTENGINE_BASE_DOMAIN, f".{ALERTENGINE_BASE_DOMAIN}"]
if not PRODUCTION:
    ALLOWED_HOSTS += ["127.0.0.1", "testserver"]

_database_url = env("DATABASE_URL", required=True)
try:
    _database = dj_database_url.parse(_database_url, conn_max_age=60, conn_health_checks=True)
except ValueError as exc:
    raise ConfigurationError("DATABASE_URL", f"is not a valid database URL ({exc})") from None
if _database.get("ENGINE") != "django.db.backends.postgresql":
    raise ConfigurationError("DATABASE_URL", "must be a postgresql:// URL")
_database["ENGINE"] = "django_tenants.postgresql_backend"
DATABASES = {"default": _database}
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)

REDIS_URL = env("REDIS_URL", required=True)
if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ConfigurationError("REDIS_URL", "must be a redis://, rediss:// or unix:// URL")

# Shared (public schema) and per-tenant apps; decided once, see docs/architecture.md.
SHARED_APPS = [
    "django_tenants",
    "tenants",
    "billing",
    "ledger",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.admin",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "pgtrigger",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.admin",
    "django.contrib.sessions",
    "django.contrib.messages",
    "ledger",
    "tenants.configuration",
    "incidents",
    "notifications",
]
INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
PUBLIC_SCHEMA_URLCONF = "saas.urls_public"
ROOT_URLCONF = "saas.urls_tenant"
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False

MIDDLEWARE = [
    "django_tenants.middleware.main.TenantMainMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "saas.wsgi.application"
ASGI_APPLICATION = "saas.asgi.application"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".data" / "static"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
SECURE_SSL_REDIRECT = PRODUCTION
SECURE_HSTS_SECONDS = 31_536_000 if PRODUCTION else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION  # every tenant host is a subdomain of the base domain
SECURE_REFERRER_POLICY = "same-origin"  # approval links carry a token in the query string
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {"TITLE": "AlertEngine tenant API", "VERSION": "1"}

# Celery: Redis broker, named queues, every task routed (tests/saas/test_celery.py).
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
TASK_QUEUES = ("poll", "diagnose", "notify", "execute", "default")
CELERY_TASK_ROUTES: dict[str, dict[str, str]] = {
    "incidents.tasks.poll_tick": {"queue": "poll"},
    "incidents.tasks.poll_tenant": {"queue": "poll"},
    "incidents.tasks.incident_diagnose": {"queue": "diagnose"},
    "incidents.tasks.heartbeat": {"queue": "default"},
    "incidents.tasks.diagnosis_refresh_tick": {"queue": "diagnose"},
    "incidents.tasks.diagnosis_refresh_tenant": {"queue": "diagnose"},
    "incidents.tasks.commit_stats_fetch": {"queue": "default"},
    "incidents.tasks.mode_evaluate": {"queue": "default"},
    "ledger.tasks.ledger_anchor": {"queue": "default"},
}
CELERY_TASK_ACKS_LATE = False  # opted into per task, only where the task is idempotent
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing must fail fast rather than hang when Redis is down.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_timeout": 5,
    "socket_connect_timeout": 5,
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
# Outbound requests to tenant URLs may reach loopback only on a developer's machine.
OUTBOUND_ALLOW_LOOPBACK = env_bool("OUTBOUND_ALLOW_LOOPBACK", default=not PRODUCTION)
if PRODUCTION and OUTBOUND_ALLOW_LOOPBACK:
    raise ConfigurationError("OUTBOUND_ALLOW_LOOPBACK", "must be off in production")

LOOP_INTERVAL_S = env_number("LOOP_INTERVAL_S", 5.0, float, minimum=1)
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "poll-every-service": {"task": "incidents.tasks.poll_tick", "schedule": LOOP_INTERVAL_S,
                           "options": {"expires": LOOP_INTERVAL_S}},
    "record-poll-lag": {"task": "incidents.tasks.heartbeat", "schedule": 30.0, "options": {"expires": 30.0}},
    "evaluate-degraded-mode": {"task": "incidents.tasks.mode_evaluate", "schedule": 10.0, "options": {"expires": 10.0}},
    "anchor-ledgers": {"task": "ledger.tasks.ledger_anchor", "schedule": 600.0, "options": {"expires": 600.0}},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # httpx logs request URLs at INFO, and Telegram Bot API URLs contain the bot token.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

# django-tenants' ``migrate`` (which must win, to migrate every schema) keeps Django's autodetector,
# while django-pgtrigger's ``makemigrations`` uses its own to write trigger operations into
# migrations. Migrations are only ever written by ``makemigrations``, so the mismatch is harmless.
SILENCED_SYSTEM_CHECKS = ["commands.E001"]

# Tenants, sessions and the tenant API (issue 4; owned by tenants/, see docs/tenants.md).
# Session keys carry their schema's tag, and TenantAccessMiddleware refuses with 403 a session
# or API key of another tenant, and every request to a suspended tenant's host.
SESSION_ENGINE = "tenants.sessions"
# After SecurityMiddleware, so its 403 pages carry the security headers too.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "tenants.middleware.TenantAccessMiddleware",
)
REST_FRAMEWORK |= {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tenants.api.permissions.IsTenantAdmin"],
}

# AI diagnosis, Diagnostic Council and Diff-in-Pocket (issue 6; incidents/diagnosis/, docs/diagnosis.md).
# Without ANTHROPIC_API_KEY every incident carries the policy's own explanation (actor policy,
# confidence 0): the AI only ever explains, so its absence never stops detection or alerts.
ANTHROPIC_API_KEY = env("ANTHROPIC_API_KEY", "")
ANTHROPIC_BASE_URL = env("ANTHROPIC_BASE_URL", "")  # empty: the client's own default (api.anthropic.com)
ANTHROPIC_TIMEOUT_S = env_number("ANTHROPIC_TIMEOUT_S", 20.0, float, minimum=0.1)
ANTHROPIC_MAX_RETRIES = env_number("ANTHROPIC_MAX_RETRIES", 1, int, minimum=0)
DIAGNOSIS_MODEL = env("DIAGNOSIS_MODEL", "claude-sonnet-4-5")
COUNCIL_MODEL_A = env("COUNCIL_MODEL_A", "claude-haiku-4-5")  # latency and database lens
COUNCIL_MODEL_B = env("COUNCIL_MODEL_B", "claude-sonnet-4-5")  # network and dependency lens
COUNCIL_ENABLED = env_bool("COUNCIL_ENABLED", default=True)
# Rounds per incident, the opening diagnosis included: a model call per poll would cost per poll.
DIAGNOSIS_MAX_ROUNDS = env_number("DIAGNOSIS_MAX_ROUNDS", 3, int, minimum=1)
DIAGNOSIS_REFRESH_S = env_number("DIAGNOSIS_REFRESH_S", 30.0, float, minimum=5)
GITHUB_API_URL = env("GITHUB_API_URL", "https://api.github.com")
COMMIT_WINDOW_BEFORE_MIN = env_number("COMMIT_WINDOW_BEFORE_MIN", 10, int, minimum=0)
COMMIT_WINDOW_AFTER_MIN = env_number("COMMIT_WINDOW_AFTER_MIN", 1, int, minimum=0)
CELERY_BEAT_SCHEDULE["incidents.diagnosis-refresh"] = {
    "task": "incidents.tasks.diagnosis_refresh_tick",
    "schedule": DIAGNOSIS_REFRESH_S,
}

# Notifications, approvals and recovery execution (issue 7; notifications/, incidents/approvals.py,
# incidents/execution.py; see docs/notifications.md and docs/webhooks.md). Platform default
# credentials are used by tenants whose channel says "use platform default"; without them those
# channels are skipped (recorded as failed deliveries) and the next channel is tried. Outside
# production the defaults point at the local fakes (`python -m devfakes --port 8025`, docs/devfakes.md).
_DEVFAKES_URL = env("DEVFAKES_URL", "" if PRODUCTION else "http://127.0.0.1:8025").rstrip("/")
_fake = (lambda path, real: f"{_DEVFAKES_URL}{path}" if _DEVFAKES_URL else real)  # noqa: E731
TWILIO_API_BASE_URL = env("TWILIO_API_BASE_URL", _fake("/twilio", "https://api.twilio.com"))
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", "" if PRODUCTION else "ACdeadbeefdeadbeefdeadbeefdeadbeef")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", "" if PRODUCTION else "devfake-twilio-auth-token")
TWILIO_WHATSAPP_FROM = env("TWILIO_WHATSAPP_FROM", "" if PRODUCTION else "+14155238886")
TWILIO_VOICE_FROM = env("TWILIO_VOICE_FROM", "" if PRODUCTION else "+14155238886")
SENT_API_BASE_URL = env("SENT_API_BASE_URL", _fake("/sentdm", "https://api.sent.dm"))
SENT_API_KEY = env("SENT_API_KEY", "" if PRODUCTION else "sk_test_devfake")
SENT_PHONE_ID = env("SENT_PHONE_ID", "")
TELEGRAM_API_BASE_URL = env("TELEGRAM_API_BASE_URL", _fake("/telegram/bot", "https://api.telegram.org/bot"))
TELEGRAM_BOT_TOKEN = env("TELEGRAM_BOT_TOKEN", "" if PRODUCTION else "7000000001:AAHdevfakeTelegramBotToken0000000000")
# Derives each tenant's webhook secret_token; falls back to ALERT_SECRET when unset.
TELEGRAM_WEBHOOK_SECRET = env("TELEGRAM_WEBHOOK_SECRET", "")
APPROVALS_SWEEP_S = env_number("APPROVALS_SWEEP_S", 5.0, float, minimum=1)
if PRODUCTION and _DEVFAKES_URL:
    raise ConfigurationError("DEVFAKES_URL", "must not be set in production")
CELERY_IMPORTS = ("incidents.notify_tasks",)
CELERY_TASK_ROUTES |= {
    "notifications.tasks.message_deliver": {"queue": "notify"},
    "incidents.notify_tasks.incident_stage_notify": {"queue": "notify"},
    "incidents.notify_tasks.approvals_sweep": {"queue": "notify"},
    "incidents.notify_tasks.execution_run": {"queue": "execute"},
}
CELERY_BEAT_SCHEDULE["incidents.approvals-sweep"] = {
    "task": "incidents.notify_tasks.approvals_sweep",
    "schedule": APPROVALS_SWEEP_S,
}
# The Twilio client logs every request and response at INFO.
LOGGING["loggers"]["twilio.http_client"] = {"level": "WARNING"}
