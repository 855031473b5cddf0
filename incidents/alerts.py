"""Composing what the on-call reads (PRODUCT.md's layout) from an incident, its diagnosis and commits.

Only the content is decided here; :mod:`notifications` renders it per channel and delivers it.
Approval messages are personal (each link names its recipient) and never go to team channels.
"""

from __future__ import annotations

from incidents.commits import CommitSummary, incident_commits
from incidents.models import ApprovalRequest, Execution, Incident
from notifications.messages import Button, Link, Message, Recipient, Section
from tenants.configuration.models import Contact, RecoveryAction

FOOTER = "Nothing will run without your approval."


def recipient_of(contact: Contact) -> Recipient:
    return Recipient(key=f"contact:{contact.pk}", name=contact.name, phone_e164=contact.phone_e164,
                     telegram_chat_id=contact.telegram_chat_id)


def _figures(incident: Incident) -> str:
    observation = incident.opening_observation or {}
    if incident.kind == Incident.Kind.UNREACHABLE:
        return "Service unreachable: " + str(observation.get("reason") or "no answer from /health/alerts")
    parts = []
    if isinstance(observation.get("score"), int | float):
        parts.append(f"Health score {observation['score']:.0f}/100")
    if isinstance(observation.get("p95_ms"), int | float):
        p95 = observation["p95_ms"]
        parts.append(f"P95 {p95 / 1000:.1f}s" if p95 >= 1000 else f"P95 {p95:.0f}ms")
    if isinstance(observation.get("error_rate"), int | float):
        parts.append(f"Errors {observation['error_rate'] * 100:.0f}%")
    return " | ".join(parts)


def _percent(value: object) -> str:
    return f"{float(value) * 100:.0f}%" if isinstance(value, int | float) else "n/a"


def _commit_lines(commits: list[CommitSummary]) -> str:
    lines = []
    for commit in commits[:3]:
        size = f", +{commit.additions}/-{commit.deletions}" if commit.additions is not None else ""
        when = "just now" if commit.minutes_before <= 0 else f"{commit.minutes_before} minutes ago"
        first_line = commit.message.splitlines()[0] if commit.message else ""
        lines.append(f'{when} - {commit.short_sha}\n"{first_line}" ({commit.author}{size})')
        if commit.touched_db:
            lines.append("This commit touched database/query files")
    return "\n".join(lines)


def _action_label(name: str) -> str:
    action = RecoveryAction.objects.filter(name=name).first()
    return (action.description.strip() if action and action.description.strip() else name.replace("_", " "))


def incident_message(incident: Incident, *, kind: str, approvals: list[ApprovalRequest] = (),
                     links: list[Link] = ()) -> Message:
    """The alert for ``incident``: figures, agreement, likely cause, commits, suggested fix, confidence."""
    diagnosis = incident.diagnosis or {}
    dissent = diagnosis.get("agreement") == "dissent" and len(diagnosis.get("theories") or []) >= 2
    sections: list[Section] = []
    note = ""
    if dissent:
        note = "Models disagree: two competing theories."
        for theory in diagnosis["theories"][:2]:
            sections.append(Section(
                heading=f"Theory {theory.get('label', '?')} ({theory.get('lens', 'model')})",
                body=f"{theory.get('likely_cause', '')} ({_percent(theory.get('confidence'))})"))
        checks = [c for t in diagnosis["theories"][:2] for c in (t.get("checks") or [])][:4]
        if checks:
            sections.append(Section(heading="Check", body="\n".join(str(c) for c in checks)))
    else:
        if diagnosis.get("agreement") == "agree":
            note = "Both models agree."
        elif diagnosis.get("gated"):
            note = "The AI was not confident enough to explain this; this is the policy's own explanation."
        elif diagnosis.get("note"):
            note = str(diagnosis["note"])
        sections.append(Section(heading="Likely cause",
                                body=str(diagnosis.get("likely_cause") or incident.explanation)))
    commits = incident_commits(incident=incident)
    if commits:
        sections.append(Section(heading="Recent deployment", body=_commit_lines(commits)))
    actions = [a.action_name for a in approvals] or (
        [diagnosis["suggested_action"]] if diagnosis.get("suggested_action") else [])
    if actions and not dissent:
        sections.append(Section(heading="Suggested fix", body=_action_label(actions[0])))
    if not dissent and diagnosis.get("source") in ("claude", "council") and not diagnosis.get("gated"):
        sections.append(Section(heading="Confidence", body=_percent(diagnosis.get("confidence"))))
    buttons: list[Button] = []
    for approval in approvals:
        label = f"Trust theory {approval.theory}" if approval.theory else "Approve"
        buttons.append(Button(label=label, data=f"ap:{approval.chat_ref}"))
    if approvals:
        buttons.append(Button(label="Do not run", data=f"rj:{approvals[0].chat_ref}"))
    title = f"Degraded State - Models Disagree: {incident.title}" if dissent else incident.title
    return Message(
        dedupe_key=f"{incident.id}:{kind}", title=title, summary=_figures(incident), note=note,
        sections=tuple(sections), links=tuple(links), buttons=tuple(buttons), footer=FOOTER,
        speech=f"AlertEngine. {incident.title}. {_figures(incident)}. An approval is waiting for you.",
        personal=bool(approvals), subject_id=str(incident.id),
    )


def approval_message(incident: Incident, approvals: list[ApprovalRequest], links: list[str]) -> Message:
    """The personal approval message of one contact: the alert plus their links and buttons."""
    labelled = [Link(label=f"Trust theory {a.theory}" if a.theory else "Approve fix", url=url)
                for a, url in zip(approvals, links, strict=True)]
    level = approvals[0].escalation_level if approvals else 0
    contact = approvals[0].contact_id if approvals else ""
    return incident_message(incident, kind=f"approval:{level}:{contact}", approvals=approvals, links=labelled)


def quota_notice(incident: Incident) -> Message:
    """Sent once when the plan's incident quota is reached: later incidents are recorded, not alerted."""
    return Message(
        dedupe_key=f"{incident.id}:quota", title="Incident quota reached",
        summary=f"{incident.title} was recorded but not alerted.",
        sections=(Section(heading="What this means",
                          body="Your plan's incidents for this period are used up. New incidents are still "
                               "detected and recorded in the audit ledger, but no alerts or approval links are "
                               "sent until the next period or an upgrade."),),
        footer=FOOTER, subject_id=str(incident.id),
    )


def webhook_failed_notice(*, execution: Execution, reason: str) -> tuple[Message, list[Recipient]]:
    """Below Compliance there is no dead-letter queue: the tenant's contacts are told the webhook failed."""
    from tenants.configuration.selectors import contacts_in_escalation_order

    incident = execution.incident
    message = Message(
        dedupe_key=f"{incident.id}:webhook_failed:{execution.pk}", title=f"Recovery webhook failed: {incident.title}",
        summary=f"{execution.action_name} was authorized but every attempt failed ({reason}).",
        sections=(Section(heading="What to do", body="Check your recovery webhook and run the fix by hand if it "
                                                     "is still needed. The attempts are in the audit ledger."),),
        subject_id=str(incident.id),
    )
    return message, [recipient_of(c) for c in contacts_in_escalation_order()]


def voice_message(approval: ApprovalRequest, *, callback_url: str) -> Message:
    """The voice escalation call: what happened and how to acknowledge (the decision stays on the link)."""
    incident = approval.incident
    cause = (incident.diagnosis or {}).get("likely_cause") or incident.explanation
    return Message(
        dedupe_key=f"{incident.id}:voice:{approval.pk}", title=incident.title, summary=_figures(incident),
        speech=(f"This is AlertEngine. {incident.title}. {_figures(incident)}. Likely cause: {cause}. "
                f"An approval for {approval.action_name.replace('_', ' ')} is waiting in your messages. "
                "Nothing will run without your approval."),
        personal=True, subject_id=str(incident.id), voice_callback_url=callback_url,
    )
