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
INCIDENT_DIAGNOSIS_FAILED = kinds.register(
    "incident.diagnosis_failed",
    description="A re-diagnosis found no usable AI answer; the incident keeps its earlier explanation.",
)
APPROVAL_REQUESTED = kinds.register(
    "approval.requested",
    description="An approval request (frozen action, payload, policy version) was sent to a contact.",
)
APPROVAL_REFUSED = kinds.register(
    "approval.refused", description="An approval link or chat button was presented and refused (why is in the reason)."
)
APPROVAL_ACKNOWLEDGED = kinds.register(
    "approval.acknowledged", description="A contact acknowledged an incident (voice key press); escalation stops."
)
APPROVAL_ESCALATED = kinds.register(
    "approval.escalated", description="Nobody decided within the escalation window; the next contact was asked."
)
EXECUTION_ATTEMPTED = kinds.register(
    "execution.attempted", description="One HTTP attempt to call the tenant's recovery webhook, with its outcome."
)
EXECUTION_DEAD_LETTERED = kinds.register(
    "execution.dead_lettered", description="Every attempt of a recovery webhook failed; a dead-letter entry was made."
)
EXECUTION_REPLAY_AUTHORIZED = kinds.register(
    "execution.replay_authorized", description="A tenant admin replayed a dead-lettered recovery webhook."
)
