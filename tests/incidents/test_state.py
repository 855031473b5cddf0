"""The transition table, exhaustively: every pair of stages and every actor."""

from __future__ import annotations

import itertools

import pytest

from incidents.state import ACTIVE, CLOSED, TRANSITIONS, Stage, TransitionRefusedError, check_transition

ACTORS = ("policy", "claude", "engineer", "orchestrator", "system", "billing")

# The transitions of DESIGN.md §2, written out independently of the table under test.
EXPECTED = {
    ("DETECTED", "PROPOSED"): {"claude", "policy"},
    ("PROPOSED", "VALIDATED"): {"policy"},
    ("VALIDATED", "AUTHORIZED"): {"engineer"},
    ("VALIDATED", "REJECTED"): {"engineer"},
    ("VALIDATED", "EXPIRED"): {"orchestrator"},
    ("AUTHORIZED", "EXECUTED"): {"orchestrator"},
    ("AUTHORIZED", "WEBHOOK_FAILED"): {"orchestrator"},
    ("WEBHOOK_FAILED", "EXECUTED"): {"orchestrator"},
    ("RECOVERED", "RESOLVED"): {"engineer"},
}
for active in ("DETECTED", "PROPOSED", "VALIDATED", "AUTHORIZED", "EXECUTED", "WEBHOOK_FAILED", "REJECTED", "EXPIRED"):
    EXPECTED[(active, "RECOVERED")] = {"policy"}
    EXPECTED[(active, "RESOLVED")] = {"engineer"}
    EXPECTED[(active, "FAILED")] = {"orchestrator", "system"}


@pytest.mark.parametrize(("stage_from", "stage_to", "actor"), list(itertools.product(Stage, Stage, ACTORS)))
def test_every_transition_is_allowed_exactly_when_the_design_allows_it(stage_from, stage_to, actor):
    allowed = actor in EXPECTED.get((stage_from.value, stage_to.value), set())
    if allowed:
        check_transition(stage_from, stage_to, actor)
    else:
        with pytest.raises(TransitionRefusedError):
            check_transition(stage_from, stage_to, actor)


def test_only_an_engineer_can_ever_reach_authorized():
    sources = [(f, actors) for f, targets in TRANSITIONS.items() for t, actors in targets.items() if t == "AUTHORIZED"]
    assert sources == [(Stage.VALIDATED, frozenset({"engineer"}))]


def test_closed_stages_cannot_be_reopened():
    for stage in CLOSED:
        assert all(target in CLOSED for target in TRANSITIONS[stage])
    assert ACTIVE.isdisjoint(CLOSED) and ACTIVE | CLOSED == set(Stage)


def test_refusals_name_the_reason():
    with pytest.raises(TransitionRefusedError, match="only engineer may make this transition"):
        check_transition("VALIDATED", "AUTHORIZED", "claude")
    with pytest.raises(TransitionRefusedError, match="unknown stage"):
        check_transition("LIMBO", "AUTHORIZED", "engineer")
