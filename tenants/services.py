"""Writes on tenants: creation (schema, domain, Free subscription), sign-up, suspension."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from billing.services import subscription_start
from ledger.services import ledger_append
from tenants import events
from tenants.models import Domain, Tenant

_SUBDOMAIN = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
RESERVED_SUBDOMAINS = frozenset(
    {
        "admin", "api", "app", "billing", "blog", "cdn", "dashboard", "demo-admin", "dev", "docs", "help",
        "mail", "media", "postgres", "public", "root", "signup", "smtp", "static", "status", "support",
        "test", "www",
    }
)  # fmt: skip
_HANDOFF_SALT = "tenants.signup-handoff"
HANDOFF_MAX_AGE_S = 300


def tenant_host(*, subdomain: str) -> str:
    """The host name of a tenant: ``<subdomain>.<base domain>``."""
    return f"{subdomain}.{settings.ALERTENGINE_BASE_DOMAIN}"


def tenant_url(*, subdomain: str, path: str = "/") -> str:
    """An absolute URL on a tenant's host, with the scheme and port of ``ALERTENGINE_BASE_URL``."""
    base = urlsplit(settings.ALERTENGINE_BASE_URL)
    return f"{base.scheme}://{subdomain}.{base.netloc}{path}"


def schema_name_for(*, subdomain: str) -> str:
    """PostgreSQL schema names cannot contain ``-``; subdomains cannot contain ``_``, so this is one-to-one."""
    return subdomain.replace("-", "_")


def subdomain_validate(*, subdomain: str) -> str:
    """A lowercase DNS label of 3 to 40 characters, not reserved and not taken; returns it."""
    if not _SUBDOMAIN.match(subdomain or "") or "--" in subdomain:
        raise ValidationError(
            "Use 3 to 40 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen.",
            code="invalid",
        )
    if subdomain in RESERVED_SUBDOMAINS or subdomain.startswith("pg-"):
        raise ValidationError(f"“{subdomain}” is reserved; choose another subdomain.", code="reserved")
    if (
        Tenant.objects.filter(schema_name=schema_name_for(subdomain=subdomain)).exists()
        or Domain.objects.filter(domain=tenant_host(subdomain=subdomain)).exists()
        or _schema_exists(schema_name_for(subdomain=subdomain))
    ):
        raise ValidationError(f"“{subdomain}” is taken; choose another subdomain.", code="taken")
    return subdomain


def _schema_exists(schema_name: str) -> bool:
    """Whether PostgreSQL already has this schema (information_schema, an extension's, a leftover).

    django-tenants would silently reuse an existing schema without migrating it, and the new
    tenant's tables would then resolve to the public schema's through the search path.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE lower(nspname) = lower(%s)", [schema_name])
        return cursor.fetchone() is not None


def public_tenant_ensure() -> Tenant:
    """The row for the public schema, routed from the base domain; created once."""
    tenant, _ = Tenant.objects.get_or_create(
        schema_name=get_public_schema_name(), defaults={"name": "AlertEngine platform"}
    )
    Domain.objects.get_or_create(
        domain=settings.ALERTENGINE_BASE_DOMAIN, defaults={"tenant": tenant, "is_primary": True}
    )
    return tenant


def _ledger_both(*, schema_name: str, **fields) -> None:
    """Record a tenant event in the platform ledger and in the tenant's own."""
    for schema in (get_public_schema_name(), schema_name):
        with schema_context(schema):
            ledger_append(**fields)


@transaction.atomic
def tenant_create(*, name: str, subdomain: str, actor_type: str = "system", actor_id: str = "") -> Tenant:
    """Create a tenant: its schema (migrated), primary domain and Free subscription."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Enter the organisation's name."})
    subdomain_validate(subdomain=subdomain)
    tenant = Tenant(name=name, schema_name=schema_name_for(subdomain=subdomain))
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:  # one creation at a time, so the check below holds
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext('tenants:create'))")
            if _schema_exists(tenant.schema_name):
                raise ValidationError(f"“{subdomain}” is taken; choose another subdomain.", code="taken")
            tenant.save(verbosity=0)
            Domain.objects.create(domain=tenant_host(subdomain=subdomain), tenant=tenant, is_primary=True)
    except IntegrityError:
        raise ValidationError(f"“{subdomain}” is taken; choose another subdomain.", code="taken") from None
    subscription_start(tenant=tenant, actor_id=actor_id or "system")
    # Platform ledger only: a new tenant's own ledger starts empty, with its first real event.
    with schema_context(get_public_schema_name()):
        ledger_append(
            kind=events.TENANT_CREATED,
            actor_type=actor_type,
            actor_id=actor_id,
            source="admin" if actor_type == "engineer" else "system",
            reason=f"{name} created",
            body={"tenant": tenant.schema_name, "domain": tenant_host(subdomain=subdomain), "plan": "free"},
        )
    return tenant


def tenant_signup(*, name: str, subdomain: str, email: str, password: str) -> tuple[Tenant, object]:
    """Self-service sign-up: the tenant, and its first admin user in the tenant's schema."""
    user_model = get_user_model()
    email = user_model.objects.normalize_email((email or "").strip()).lower()
    validate_password(password, user=user_model(username=email, email=email))
    with transaction.atomic():
        tenant = tenant_create(name=name, subdomain=subdomain, actor_type="engineer", actor_id=email)
        with schema_context(tenant.schema_name):
            user = user_model.objects.create_superuser(username=email, email=email, password=password)
    return tenant, user


def signup_handoff_token(*, tenant: Tenant, user) -> str:
    """A signed, short-lived token that logs the new admin into their tenant host once."""
    return signing.dumps({"schema": tenant.schema_name, "user": user.pk}, salt=_HANDOFF_SALT)


def signup_handoff_user(*, token: str, schema_name: str):
    """The user a hand-off token names, if it is valid on this schema and unused; else None.

    Single use: it is accepted only while the user has never logged in, and logging in sets
    ``last_login``. Call with the connection in ``schema_name``.
    """
    try:
        payload = signing.loads(token, salt=_HANDOFF_SALT, max_age=HANDOFF_MAX_AGE_S)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or payload.get("schema") != schema_name:
        return None
    return get_user_model().objects.filter(pk=payload.get("user"), last_login__isnull=True, is_active=True).first()


def signup_handoff_spend(*, token: str, schema_name: str):
    """Spend a hand-off token: the user, if this call is the one that used it; else None.

    One conditional UPDATE marks the login, so of two concurrent uses exactly one succeeds.
    """
    user = signup_handoff_user(token=token, schema_name=schema_name)
    if user is None:
        return None
    spent = get_user_model().objects.filter(pk=user.pk, last_login__isnull=True).update(last_login=timezone.now())
    return user if spent == 1 else None


SIGNUPS_PER_HOUR = 5


def signup_allowed(*, client_address: str) -> bool:
    """At most a few sign-ups an hour from one address: each one creates a database schema.

    Counted in Redis; without Redis sign-up stays open (it is also limited by the form itself).
    """
    import redis

    key = f"signup-rate:{client_address}"
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
        count = client.incr(key)
        if count == 1:
            client.expire(key, 3600)
        return int(count) <= SIGNUPS_PER_HOUR
    except redis.RedisError:
        return True


def _status_set(*, tenant: Tenant, status: str, kind, actor_id: str, reason: str) -> Tenant:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why; it is written to the ledger."})
    if tenant.schema_name == get_public_schema_name():
        raise ValidationError("The platform's own tenant cannot be suspended.")
    with transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if locked.status == status:
            raise ValidationError(f"{locked.name} is {locked.get_status_display().lower()} already.")
        previous = locked.status
        locked.status = status
        locked.save(update_fields=["status"])
        _ledger_both(
            schema_name=locked.schema_name,
            kind=kind,
            actor_type="engineer",
            actor_id=actor_id,
            source="admin",
            stage_from=previous,
            stage_to=status,
            reason=reason,
            body={"tenant": locked.schema_name},
        )
    return locked


def tenant_suspend(*, tenant: Tenant, actor_id: str, reason: str) -> Tenant:
    """Suspend a tenant: it is no longer polled and its users are refused at login (403)."""
    return _status_set(
        tenant=tenant, status=Tenant.Status.SUSPENDED, kind=events.TENANT_SUSPENDED, actor_id=actor_id, reason=reason
    )


def tenant_reactivate(*, tenant: Tenant, actor_id: str, reason: str) -> Tenant:
    """Lift a suspension."""
    return _status_set(
        tenant=tenant, status=Tenant.Status.ACTIVE, kind=events.TENANT_REACTIVATED, actor_id=actor_id, reason=reason
    )
