"""The detection pipeline against real PostgreSQL: observations in, incidents and ledger out."""

from __future__ import annotations

import ast
import uuid
from pathlib import Path

import pytest
from django.utils import timezone

from incidents.models import Incident, PolicyVersion
from incidents.observation import invalid, unreachable
from incidents.policy import ThresholdError
from incidents.projection import PROJECTED_FIELDS, incident_snapshot, incidents_rebuild
from incidents.services import (
    ApprovalRequiredError,
    PolicyOverrideNotAllowedError,
    incident_propose,
    incident_transition,
    policy_current,
    policy_override,
    service_observe,
)
from incidents.state import Stage, TransitionRefusedError
from ledger.models import LedgerEntry
from ledger.selectors import ledger_verify
from tests.incidents.builders import healthy, mild, on_plan, service, spike

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


@pytest.fixture
def paying(in_tenant):
    on_plan("enterprise")
    return in_tenant


def entries_of(incident):
    return list(LedgerEntry.objects.filter(incident_id=incident.id).order_by("sequence"))


def test_two_degraded_polls_open_an_incident_recorded_as_the_policys_decision(paying):
    svc = service()
    first = service_observe(service=svc, observation=spike())
    assert first.incident is None
    second = service_observe(service=svc, observation=spike())
    assert second.opened
    incident = Incident.objects.get(service=svc)
    assert incident.stage == Stage.DETECTED
    assert incident.title.endswith("degraded") and "P95 latency 2847 ms is above 2000 ms" in incident.explanation
    [opened] = entries_of(incident)
    assert (opened.kind, opened.actor_type, opened.stage_to) == ("incident.opened", "policy", "DETECTED")
    assert opened.policy_version == policy_current().label == incident.policy_version


def test_the_policy_explanation_proposes_and_a_warranted_action_is_validated(paying):
    svc = service()
    for _ in range(2):
        service_observe(service=svc, observation=spike())
    incident = incident_propose(incident_id=Incident.objects.get(service=svc).id)
    assert incident.stage == Stage.VALIDATED
    kinds = [(e.kind, e.stage_to, e.actor_type, e.confidence) for e in entries_of(incident)]
    assert kinds[1:] == [
        ("incident.diagnosed", "", "policy", 0.0),
        ("incident.stage_changed", "PROPOSED", "policy", 0.0),
        ("incident.stage_changed", "VALIDATED", "policy", None),
    ]
    assert incident_propose(incident_id=incident.id).stage == Stage.VALIDATED  # running twice changes nothing
    assert len(entries_of(incident)) == 4


def test_a_mild_degradation_is_proposed_but_not_validated_until_it_worsens(paying):
    svc = service()
    for _ in range(2):
        service_observe(service=svc, observation=mild())
    incident = incident_propose(incident_id=Incident.objects.get(service=svc).id)
    assert incident.stage == Stage.PROPOSED
    service_observe(service=svc, observation=spike())
    incident.refresh_from_db()
    assert incident.stage == Stage.VALIDATED


def test_consecutive_healthy_polls_recover_the_incident(paying):
    svc = service()
    for _ in range(2):
        service_observe(service=svc, observation=spike())
    incident = Incident.objects.get(service=svc)
    for _ in range(2):
        service_observe(service=svc, observation=healthy())
    incident.refresh_from_db()
    assert incident.stage == Stage.DETECTED
    service_observe(service=svc, observation=healthy())
    incident.refresh_from_db()
    assert incident.stage == Stage.RECOVERED and incident.closed_at is not None
    assert entries_of(incident)[-1].actor_type == "policy"
    assert incident.observations.count() == 4  # the opening poll and the three healthy ones
    # A new degradation after recovery is a new incident.
    for _ in range(2):
        service_observe(service=svc, observation=spike())
    assert Incident.objects.filter(service=svc).count() == 2


def test_an_unreachable_service_opens_a_service_unreachable_incident(paying):
    svc = service()
    service_observe(service=svc, observation=unreachable("connection refused"))
    service_observe(service=svc, observation=invalid("payload is not valid JSON"))
    service_observe(service=svc, observation=unreachable("connection refused"))
    incident = Incident.objects.get(service=svc)
    assert incident.kind == Incident.Kind.UNREACHABLE and incident.title.endswith("unreachable")


def test_authorized_cannot_be_reached_without_a_consumed_approval(paying):
    svc = service()
    for _ in range(2):
        service_observe(service=svc, observation=spike())
    incident = incident_propose(incident_id=Incident.objects.get(service=svc).id)
    for actor in ("policy", "claude", "orchestrator", "system"):
        with pytest.raises(TransitionRefusedError):
            incident_transition(incident_id=incident.id, to=Stage.AUTHORIZED, actor_type=actor)
    with pytest.raises(ApprovalRequiredError):
        incident_transition(incident_id=incident.id, to=Stage.AUTHORIZED, actor_type="engineer", actor_id="x")

    class Forged:  # looks consumed, but there is no such approval in the database
        pk = uuid.uuid4()
        incident_id = incident.id
        decision = "approve"
        consumed_at = timezone.now()

    with pytest.raises(ApprovalRequiredError):
        incident_transition(incident_id=incident.id, to=Stage.AUTHORIZED, actor_type="engineer", approval=Forged())
    incident.refresh_from_db()
    assert incident.stage == Stage.VALIDATED


def _project_sources():
    for package in ("incidents", "notifications", "tenants", "billing", "ledger", "saas", "devfakes"):
        yield from (ROOT / package).rglob("*.py")


def test_no_code_outside_the_approval_service_asks_for_authorized_or_writes_a_stage():
    """Every stage change goes through incident_transition; only the approvals service names AUTHORIZED."""
    may_authorize = {"incidents/approvals.py"}
    may_write_stage = {"incidents/services.py", "incidents/projection.py"}
    offenders = []
    for path in _project_sources():
        relative = path.relative_to(ROOT).as_posix()
        if "/migrations/" in relative:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == (
                "incident_transition"
            ):
                for keyword in node.keywords:
                    if keyword.arg == "to" and "AUTHORIZED" in ast.unparse(keyword.value) and (
                        relative not in may_authorize
                    ):
                        offenders.append(f"{relative}:{node.lineno} asks for AUTHORIZED")
            if isinstance(node, ast.Assign | ast.AugAssign) and relative not in may_write_stage:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Attribute) and target.attr == "stage":
                        offenders.append(f"{relative}:{node.lineno} assigns .stage")
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("update", "update_or_create") and (
                relative not in may_write_stage
            ):
                if any(k.arg == "stage" for k in node.keywords):
                    offenders.append(f"{relative}:{node.lineno} updates stage in bulk")
    assert offenders == []


def test_the_ledger_verifies_and_rebuilding_from_it_gives_the_live_state(paying):
    svcs = [service(f"svc{n}") for n in range(3)]
    for svc in svcs:
        for _ in range(2):
            service_observe(service=svc, observation=spike())
    first, second, third = (Incident.objects.get(service=s) for s in svcs)
    incident_propose(incident_id=first.id)
    incident_propose(incident_id=second.id)
    for _ in range(3):
        service_observe(service=svcs[1], observation=healthy())
    incident_transition(incident_id=first.id, to=Stage.RESOLVED, actor_type="engineer", actor_id="ops-1",
                        source="admin", reason="closed by hand")
    live = {i.id: incident_snapshot(i) for i in Incident.objects.all()}
    assert ledger_verify().ok

    Incident.objects.filter(pk=third.pk).delete()
    Incident.objects.filter(pk=first.pk).update(stage=Stage.DETECTED, explanation="wiped", diagnosis=None)
    assert incidents_rebuild() >= 3
    rebuilt = {i.id: incident_snapshot(i) for i in Incident.objects.all()}
    assert rebuilt == live
    assert set(PROJECTED_FIELDS) >= {"stage", "policy_version", "diagnosis", "closed_at"}


def test_past_the_quota_a_starter_incident_is_recorded_but_not_alerted(in_tenant):
    on_plan("starter")
    svc = service()
    opened = []
    for _ in range(7):
        for _ in range(2):
            service_observe(service=svc, observation=spike())
        incident = Incident.objects.filter(service=svc).order_by("-opened_at").first()
        opened.append(incident.alerts_allowed)
        incident_transition(incident_id=incident.id, to=Stage.RESOLVED, actor_type="engineer", actor_id="t")
    assert opened == [True] * 5 + [False] * 2
    assert LedgerEntry.objects.filter(kind="incident.quota_reached").count() == 1


def test_custom_thresholds_need_the_platform_tier_and_open_incidents_keep_their_version(in_tenant):
    on_plan("team")
    with pytest.raises(PolicyOverrideNotAllowedError, match="Team"):
        policy_override(overrides={"open_score": 50}, actor_id="admin", reason="quieter")
    on_plan("platform")
    svc = service()
    for _ in range(2):
        service_observe(service=svc, observation=mild())
    incident = Incident.objects.get(service=svc)
    before = incident.policy_version
    with pytest.raises(ThresholdError):
        policy_override(overrides={"open_score": 500}, actor_id="admin", reason="typo")
    version = policy_override(overrides={"open_score": 50}, actor_id="admin", reason="our normal is lower")
    assert version.label != before and PolicyVersion.objects.count() == 2
    assert LedgerEntry.objects.filter(kind="policy.version_created", policy_version=version.label).exists()
    service_observe(service=svc, observation=mild())
    incident.refresh_from_db()
    assert incident.policy_version == before and incident.thresholds["open_score"] == 70.0


def test_past_a_growth_quota_no_model_is_asked(in_tenant, settings):
    from devstack.services import free_port

    settings.ANTHROPIC_API_KEY = "sk-ant-devfake"
    settings.ANTHROPIC_BASE_URL = f"http://127.0.0.1:{free_port()}"  # a model call would fail differently
    on_plan("growth")
    svc = service()
    for _ in range(11):
        for _ in range(2):
            service_observe(service=svc, observation=spike())
        incident = Incident.objects.filter(service=svc).order_by("-opened_at").first()
        if incident.alerts_allowed:
            incident_transition(incident_id=incident.id, to=Stage.RESOLVED, actor_type="engineer", actor_id="t")
    assert not incident.alerts_allowed
    incident = incident_propose(incident_id=incident.id)
    assert incident.diagnosis["source"] == "policy" and "quota" in incident.diagnosis["note"]
