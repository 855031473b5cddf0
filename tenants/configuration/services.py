"""Writes on a tenant's configuration, each recorded in the tenant's ledger.

Called by the tenant admin and the REST API with the connection in the tenant's schema.
Ledger entries name the fields that changed, never their values (some are secrets).
"""

from __future__ import annotations

from django.db import models, transaction
from django.utils import timezone

from ledger.services import ledger_append
from tenants import events
from tenants.configuration.models import ApiKey, RecoveryAction
from tenants.configuration.secrets import api_key_generate, api_key_hash, signing_secret_generate


def _changed_fields(instance: models.Model) -> list[str]:
    if instance.pk is None:
        return []
    stored = type(instance).objects.filter(pk=instance.pk).first()
    if stored is None:
        return []
    return sorted(
        field.attname
        for field in instance._meta.concrete_fields
        if not field.primary_key and getattr(stored, field.attname) != getattr(instance, field.attname)
    )


def _record(*, instance: models.Model, action: str, actor_id: str, source: str, changed: list[str]) -> None:
    ledger_append(
        kind=events.CONFIGURATION_CHANGED,
        actor_type="engineer",
        actor_id=actor_id,
        source=source,
        reason=f"{instance._meta.verbose_name} {instance} {action}",
        body={"model": instance._meta.model_name, "id": instance.pk, "action": action, "changed": changed},
    )


def configuration_save(*, instance: models.Model, actor_id: str, source: str = "admin") -> models.Model:
    """Validate (plan limits included) and save a configuration object; ledger entry in the same transaction."""
    instance.full_clean()
    with transaction.atomic():
        creating = instance.pk is None
        changed = _changed_fields(instance)
        instance.save()
        _record(
            instance=instance,
            action="created" if creating else "changed",
            actor_id=actor_id,
            source=source,
            changed=changed,
        )
    return instance


def configuration_delete(*, instance: models.Model, actor_id: str, source: str = "admin") -> None:
    """Delete a configuration object, recorded in the ledger."""
    with transaction.atomic():
        _record(instance=instance, action="deleted", actor_id=actor_id, source=source, changed=[])
        instance.delete()


def recovery_action_create(
    *, action: RecoveryAction, actor_id: str, source: str = "admin"
) -> tuple[RecoveryAction, str]:
    """Save a new recovery action with a freshly generated signing secret; returns it and the secret."""
    action.signing_secret = signing_secret_generate()
    configuration_save(instance=action, actor_id=actor_id, source=source)
    return action, action.signing_secret


def recovery_action_rotate_secret(*, action: RecoveryAction, actor_id: str, source: str = "admin") -> str:
    """Replace an action's signing secret; the new one is returned to be shown once."""
    secret = signing_secret_generate()
    with transaction.atomic():
        action.signing_secret = secret
        action.save(update_fields=["signing_secret"])
        ledger_append(
            kind=events.SECRET_ROTATED,
            actor_type="engineer",
            actor_id=actor_id,
            source=source,
            reason=f"signing secret of {action.name} replaced",
            body={"model": "recoveryaction", "id": action.pk},
        )
    return secret


def api_key_issue(*, api_key: ApiKey, schema_name: str, created_by=None, actor_id: str) -> str:
    """Save the new (named) ``api_key`` with a fresh key; the key is returned once, only its hash is kept."""
    key = api_key_generate(schema_name=schema_name)
    api_key.name = api_key.name.strip()
    api_key.prefix = key[:16]
    api_key.key_hash = api_key_hash(key)
    api_key.created_by = created_by
    configuration_save(instance=api_key, actor_id=actor_id)
    return key


def api_key_revoke(*, api_key: ApiKey, actor_id: str) -> ApiKey:
    """Revoke a key at once; revoked keys are kept for the record."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        configuration_save(instance=api_key, actor_id=actor_id)
    return api_key
