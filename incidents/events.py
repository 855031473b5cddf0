"""Ledger event kinds recorded by the incident pipeline."""

from ledger import kinds

INCIDENT_OPENED = kinds.register(
    "incident.opened", description="Policy opened an incident (stage DETECTED); the body holds what it saw."
)
INCIDENT_STAGE_CHANGED = kinds.register(
    "incident.stage_changed", description="An incident moved from one stage to another."
)
INCIDENT_DIAGNOSED = kinds.register(
    "incident.diagnosed", description="An explanation was attached to the incident (AI or policy fallback)."
)
POLICY_VERSION_CREATED = kinds.register(
    "policy.version_created", description="The tenant's thresholds changed; a new policy version is in force."
)
QUOTA_REACHED = kinds.register(
    "incident.quota_reached", description="The plan's incident quota for the period was reached."
)
PLATFORM_MODE_CHANGED = kinds.register(
    "platform.mode_changed", description="The platform moved between NORMAL, DEGRADED and EMERGENCY modes."
)
