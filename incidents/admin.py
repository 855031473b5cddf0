"""The tenant admin's incident pages: a filtered list and a detail page with the ledger timeline."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.safestring import mark_safe

from incidents import chart
from incidents.commits import incident_commits
from incidents.execution import ReplayRefusedError, dead_letter_replay
from incidents.models import ApprovalRequest, CommitSource, DeadLetter, Execution, Incident, WebhookAttempt
from incidents.services import incident_transition
from incidents.state import TRANSITIONS, Stage, TransitionRefusedError
from ledger.models import LedgerEntry
from tenants.admin_scopes import TenantSchemaOnlyAdmin


@admin.register(Incident)
class IncidentAdmin(TenantSchemaOnlyAdmin):
    list_display = ("title", "stage", "service", "kind", "opened_at", "policy_version", "alerts_allowed")
    list_filter = ("stage", "kind", "service", ("opened_at", admin.DateFieldListFilter))
    date_hierarchy = "opened_at"
    search_fields = ("title", "explanation")
    ordering = ("-opened_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # stages change only through the pipeline; the detail page is read-only

    def get_urls(self):
        return [
            path("<uuid:incident_id>/resolve/", self.admin_site.admin_view(self.resolve_view),
                 name="incidents_incident_resolve"),
            *super().get_urls(),
        ]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None
                    ) -> HttpResponse:
        incident = self.get_object(request, object_id)
        if incident is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_permission(request, incident):
            raise PermissionDenied
        entries = list(LedgerEntry.objects.filter(incident_id=incident.id).order_by("sequence"))
        points = [chart.Point(o.observed_at, o.score, o.p95_ms) for o in incident.observations.all()]
        marks = [chart.Mark(e.recorded_at, e.stage_to) for e in entries if e.stage_to]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": incident.title,
            "incident": incident,
            "entries": entries,
            "commits": incident_commits(incident=incident),
            "chart": mark_safe(chart.render(points, marks)),  # noqa: S308 - built from escaped values only
            "can_resolve": Stage.RESOLVED in TRANSITIONS[Stage(incident.stage)]
            and request.user.has_perm("incidents.change_incident"),
        }
        return TemplateResponse(request, "incidents/incident_detail.html", context)

    def resolve_view(self, request: HttpRequest, incident_id) -> HttpResponse:
        detail = reverse("admin:incidents_incident_change", args=[incident_id])
        if not request.user.has_perm("incidents.change_incident"):
            raise PermissionDenied  # viewing an incident is not enough to close it
        if request.method != "POST":
            return HttpResponseRedirect(detail)
        note = (request.POST.get("note") or "").strip()
        if not note:
            messages.error(request, "Say how the incident was resolved; the note is written to the ledger.")
            return HttpResponseRedirect(detail)
        try:
            incident_transition(incident_id=incident_id, to=Stage.RESOLVED, actor_type="engineer",
                                actor_id=f"user:{request.user.get_username()}", source="admin", reason=note[:2000])
        except TransitionRefusedError as exc:
            messages.error(request, f"Not resolved: {exc}")
        else:
            messages.success(request, "Incident resolved.")
        return HttpResponseRedirect(detail)


@admin.register(CommitSource)
class CommitSourceAdmin(TenantSchemaOnlyAdmin):
    """The tenant's GitHub webhook secret and token; both are write-only (never shown back)."""

    fields = ("webhook_secret", "github_token", "db_path_rules")
    list_display = ("__str__", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not CommitSource.objects.exists()

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None:
            # An empty secret field on edit means "keep the stored one", as the input never shows it.
            for name in ("webhook_secret", "github_token"):
                form.base_fields[name].required = False
                form.base_fields[name].help_text += " Leave empty to keep the current value."
        return form

    def save_model(self, request, obj, form, change) -> None:
        if change:
            stored = CommitSource.objects.get(pk=obj.pk)
            for name in ("webhook_secret", "github_token"):
                if not form.cleaned_data.get(name):
                    setattr(obj, name, getattr(stored, name))
        super().save_model(request, obj, form, change)


# ---------------------------------------------------------------- approvals, executions and dead letters (issue 7)


class _ReadOnlyAdmin(TenantSchemaOnlyAdmin):
    """Records written only by the pipeline: viewable, never added, edited or deleted here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(_ReadOnlyAdmin):
    list_display = ("incident", "action_name", "theory", "contact", "status", "decided_via", "created_at",
                    "expires_at")
    list_filter = ("status", "decided_via")
    exclude = ("chat_ref",)


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ("number", "started_at", "duration_ms", "status_code", "outcome", "error")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Execution)
class ExecutionAdmin(_ReadOnlyAdmin):
    list_display = ("incident", "action_name", "status", "attempts", "authorized_by", "created_at", "completed_at")
    list_filter = ("status",)
    inlines = [WebhookAttemptInline]


@admin.register(DeadLetter)
class DeadLetterAdmin(_ReadOnlyAdmin):
    """The dead-letter queue: inspect a failed recovery webhook and replay it (recorded as your authorization)."""

    list_display = ("incident", "action", "reason", "created_at", "replayed_at", "replayed_by")
    list_filter = (("replayed_at", admin.EmptyFieldListFilter),)
    readonly_fields = ("incident", "execution", "reason", "created_at", "replayed_at", "replayed_by", "attempts",
                       "payload")
    actions = ["replay"]

    @admin.display(description="action")
    def action(self, obj: DeadLetter) -> str:
        return obj.execution.action_name

    @admin.display(description="attempts")
    def attempts(self, obj: DeadLetter) -> str:
        return "; ".join(f"#{a.number} {a.outcome} {a.status_code or ''} {a.error}".strip()
                         for a in obj.execution.attempt_rows.all())

    @admin.display(description="payload sent")
    def payload(self, obj: DeadLetter) -> str:
        return json.dumps(obj.execution.payload, indent=2, sort_keys=True)

    def has_replay_permission(self, request: HttpRequest) -> bool:
        """Replaying runs a recovery action: tenant admins (superusers, or holders of change_deadletter)."""
        user = request.user
        return user.is_active and user.is_staff and (user.is_superuser or user.has_perm("incidents.change_deadletter"))

    @admin.action(description="Replay the recovery webhook (recorded as your authorization)",
                  permissions=["replay"])
    def replay(self, request: HttpRequest, queryset) -> None:
        for entry in queryset:
            try:
                dead_letter_replay(dead_letter_id=entry.pk, user_label=f"user:{request.user.get_username()}")
            except ReplayRefusedError as exc:
                messages.error(request, f"{entry}: not replayed: {exc}")
            else:
                messages.success(request, f"{entry}: replay queued; the recovery webhook is called again, once.")
