"""The Diagnostic Council (Team and above): two lenses in parallel, agreement, dissent, single."""

from __future__ import annotations

import pytest

from devfakes.anthropic_api import Behaviour
from incidents.services import incident_propose
from tests.incidents.builders import on_plan
from tests.incidents.test_diagnosis import fakes, fakes_server, ledger_of, model_requests, open_incident

pytestmark = pytest.mark.django_db
__all__ = ["fakes", "fakes_server"]  # fixtures shared with test_diagnosis


@pytest.fixture
def team(fakes):
    on_plan("team")
    return fakes


def test_two_models_with_different_lenses_that_agree_give_one_agreed_diagnosis(team, settings):
    incident = incident_propose(incident_id=open_incident().id)

    diagnosis = incident.diagnosis
    assert (diagnosis["source"], diagnosis["agreement"], diagnosis["gated"]) == ("council", "agree", False)
    assert "Both models agree." in diagnosis["note"]
    assert [(t["label"], t["model"], t["lens"], t["category"]) for t in diagnosis["theories"]] == [
        ("A", settings.COUNCIL_MODEL_A, "latency and database", "database"),
        ("B", settings.COUNCIL_MODEL_B, "network and dependency", "database"),
    ]
    requests = model_requests(team)
    assert sorted(r["model"] for r in requests) == sorted([settings.COUNCIL_MODEL_A, settings.COUNCIL_MODEL_B])
    systems = {r["model"]: r["system"] for r in requests}
    assert "latency and database specialist" in systems[settings.COUNCIL_MODEL_A]
    assert "network and dependency specialist" in systems[settings.COUNCIL_MODEL_B]
    assert ledger_of(incident)[1] == ("incident.stage_changed", "PROPOSED", "claude", 0.87)


def test_models_that_disagree_give_a_dissent_with_both_theories_and_their_own_actions(team):
    team.script_anthropic("sonnet", Behaviour(category="external_api", confidence=0.76, action="scale_up"))
    incident = incident_propose(incident_id=open_incident().id)

    diagnosis = incident.diagnosis
    assert diagnosis["agreement"] == "dissent" and "disagree" in diagnosis["note"]
    a, b = diagnosis["theories"]
    assert (a["label"], a["category"], a["confidence"], a["suggested_action"]) == ("A", "database", 0.87,
                                                                                    "restart_worker_pool")
    assert (b["label"], b["category"], b["confidence"], b["suggested_action"]) == ("B", "external_api", 0.76,
                                                                                    "scale_up")
    assert a["checks"] and b["checks"] and a["checks"] != b["checks"]
    # The more confident theory leads the alert; the other is shown beside it, not hidden.
    assert (diagnosis["category"], diagnosis["suggested_action"]) == ("database", "restart_worker_pool")


def test_same_category_with_one_model_below_the_gate_is_not_agreement(team):
    team.script_anthropic("sonnet", Behaviour(confidence=0.4))
    incident = incident_propose(incident_id=open_incident().id)
    assert incident.diagnosis["agreement"] == "dissent"


@pytest.mark.parametrize("failure", [Behaviour(mode="error", status=529), Behaviour(delay_s=2.0),
                                     Behaviour(mode="text", text="no tool")], ids=["overloaded", "timeout", "text"])
def test_when_one_model_fails_a_single_model_answered_never_both_agree(team, failure):
    team.script_anthropic("sonnet", failure)
    incident = incident_propose(incident_id=open_incident().id)

    diagnosis = incident.diagnosis
    assert diagnosis["agreement"] == "single" and "agree" not in diagnosis["note"].lower()
    assert "Only model A answered (model B:" in diagnosis["note"]
    assert [t["label"] for t in diagnosis["theories"]] == ["A"]
    assert ledger_of(incident)[1][2] == "claude"


def test_when_both_models_fail_the_policy_explains(team):
    team.script_anthropic("*", Behaviour(mode="error", status=500))
    incident = incident_propose(incident_id=open_incident().id)
    assert incident.diagnosis["source"] == "policy" and incident.diagnosis["agreement"] is None
    assert ledger_of(incident)[:2] == [("incident.diagnosed", "", "policy", 0.0),
                                       ("incident.stage_changed", "PROPOSED", "policy", 0.0)]


def test_the_council_can_be_switched_off_for_a_single_model(team, settings):
    settings.COUNCIL_ENABLED = False
    incident = incident_propose(incident_id=open_incident().id)
    assert incident.diagnosis["source"] == "claude"
    assert [r["model"] for r in model_requests(team)] == [settings.DIAGNOSIS_MODEL]
