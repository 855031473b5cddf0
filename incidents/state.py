"""The incident state machine: stages and the one table of allowed transitions (pure).

Each allowed transition names the actor types that may make it. The table is the whole truth:
``incidents.services.incident_transition`` refuses anything not in it, and reaching AUTHORIZED
additionally requires a consumed approval (see ``incidents.services``).
"""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    DETECTED = "DETECTED"
    PROPOSED = "PROPOSED"
    VALIDATED = "VALIDATED"
    AUTHORIZED = "AUTHORIZED"
    EXECUTED = "EXECUTED"
    WEBHOOK_FAILED = "WEBHOOK_FAILED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    RECOVERED = "RECOVERED"
    RESOLVED = "RESOLVED"
    FAILED = "FAILED"


class TransitionRefusedError(Exception):
    """The transition is not in the table, or not for this actor."""

    def __init__(self, stage_from: str, stage_to: str, actor_type: str, why: str) -> None:
        self.stage_from, self.stage_to, self.actor_type = stage_from, stage_to, actor_type
        super().__init__(f"{stage_from} -> {stage_to} by {actor_type} refused: {why}")


#: Stages in which the incident is still open: at most one per service, and policy may still
#: see the service recover. REJECTED and EXPIRED stay open: declining a fix does not make the
#: service healthy, and re-opening a fresh incident every few seconds would flood the on-call.
ACTIVE = frozenset(
    {Stage.DETECTED, Stage.PROPOSED, Stage.VALIDATED, Stage.AUTHORIZED, Stage.EXECUTED, Stage.WEBHOOK_FAILED,
     Stage.REJECTED, Stage.EXPIRED}
)
CLOSED = frozenset({Stage.RECOVERED, Stage.RESOLVED, Stage.FAILED})
AWAITING_APPROVAL = frozenset({Stage.VALIDATED})

POLICY, CLAUDE, ENGINEER, ORCHESTRATOR, SYSTEM = "policy", "claude", "engineer", "orchestrator", "system"

_ACTIVE_TO_TERMINAL = {
    Stage.RECOVERED: frozenset({POLICY}),
    Stage.RESOLVED: frozenset({ENGINEER}),
    Stage.FAILED: frozenset({ORCHESTRATOR, SYSTEM}),
}

TRANSITIONS: dict[Stage, dict[Stage, frozenset[str]]] = {
    Stage.DETECTED: {Stage.PROPOSED: frozenset({CLAUDE, POLICY}), **_ACTIVE_TO_TERMINAL},
    Stage.PROPOSED: {Stage.VALIDATED: frozenset({POLICY}), **_ACTIVE_TO_TERMINAL},
    Stage.VALIDATED: {
        Stage.AUTHORIZED: frozenset({ENGINEER}),
        Stage.REJECTED: frozenset({ENGINEER}),
        Stage.EXPIRED: frozenset({ORCHESTRATOR}),
        **_ACTIVE_TO_TERMINAL,
    },
    Stage.AUTHORIZED: {
        Stage.EXECUTED: frozenset({ORCHESTRATOR}),
        Stage.WEBHOOK_FAILED: frozenset({ORCHESTRATOR}),
        **_ACTIVE_TO_TERMINAL,
    },
    Stage.EXECUTED: dict(_ACTIVE_TO_TERMINAL),
    # A tenant admin's replay of a dead-lettered webhook is an authorization of its own.
    Stage.WEBHOOK_FAILED: {Stage.EXECUTED: frozenset({ORCHESTRATOR}), **_ACTIVE_TO_TERMINAL},
    Stage.REJECTED: dict(_ACTIVE_TO_TERMINAL),
    Stage.EXPIRED: dict(_ACTIVE_TO_TERMINAL),
    Stage.RECOVERED: {Stage.RESOLVED: frozenset({ENGINEER})},
    Stage.RESOLVED: {},
    Stage.FAILED: {},
}


def check_transition(stage_from: str, stage_to: str, actor_type: str) -> None:
    """Raise :class:`TransitionRefusedError` unless the table allows it for this actor."""
    try:
        allowed = TRANSITIONS[Stage(stage_from)]
    except ValueError:
        raise TransitionRefusedError(stage_from, stage_to, actor_type, "unknown stage") from None
    try:
        actors = allowed[Stage(stage_to)]
    except (ValueError, KeyError):
        raise TransitionRefusedError(stage_from, stage_to, actor_type, "not an allowed transition") from None
    if actor_type not in actors:
        raise TransitionRefusedError(
            stage_from, stage_to, actor_type, f"only {', '.join(sorted(actors))} may make this transition"
        )


def is_active(stage: str) -> bool:
    return stage in ACTIVE
