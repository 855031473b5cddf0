"""Ledger kinds of tenants and their configuration."""

from ledger import kinds

TENANT_CREATED = kinds.register("tenant.created", description="A tenant (organisation) was created.")
TENANT_SUSPENDED = kinds.register(
    "tenant.suspended", description="A tenant was suspended: not polled, its users cannot log in."
)
TENANT_REACTIVATED = kinds.register("tenant.reactivated", description="A suspended tenant was reactivated.")
CONFIGURATION_CHANGED = kinds.register(
    "configuration.changed",
    description="A service, contact, channel, recovery action or API key was created, changed or removed.",
)
SECRET_ROTATED = kinds.register(
    "configuration.secret_rotated", description="A recovery action's signing secret was replaced."
)
