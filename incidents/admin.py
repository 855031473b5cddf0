"""The tenant admin's incident pages: a filtered list and a detail page with the ledger timeline."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.safestring import mark_safe

from incidents import chart
from incidents.models import Incident
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
            "chart": mark_safe(chart.render(points, marks)),  # noqa: S308 - built from escaped values only
            "can_resolve": Stage.RESOLVED in TRANSITIONS[Stage(incident.stage)],
        }
        return TemplateResponse(request, "incidents/incident_detail.html", context)

    def resolve_view(self, request: HttpRequest, incident_id) -> HttpResponse:
        detail = reverse("admin:incidents_incident_change", args=[incident_id])
        if not self.has_view_permission(request):
            raise PermissionDenied
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
