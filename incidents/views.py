"""The approval page (GET, changes nothing) and the two decisions (POST, CSRF-protected)."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from incidents.alerts import incident_message
from incidents.approvals import (
    APPROVE,
    REJECT,
    ApprovalRefusedError,
    approval_check,
    approval_decide,
    approval_for_token,
    approval_refusal_record,
    token_read,
)

logger = logging.getLogger(__name__)


def _private(response: HttpResponse) -> HttpResponse:
    # The token is in the URL: keep it out of caches, other sites' referrers and search engines.
    # ("no-referrer" would make browsers send "Origin: null" on the form POST, failing CSRF.)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def refusal_page(request: HttpRequest, error: ApprovalRefusedError) -> HttpResponse:
    return _private(render(request, "incidents/approval_refused.html", {"error": error}, status=error.status))


@require_GET
def approval_page(request: HttpRequest) -> HttpResponse:
    """What happened, the diagnosis, the action and its host, the time left, and the two buttons."""
    token = request.GET.get("token", "")
    try:
        claims = token_read(token)
        approval = approval_for_token(claims)
        approval_check(approval)
    except ApprovalRefusedError as error:
        logger.info("approval page refused: %s (tenant %s)", error.code, request.tenant.schema_name)
        return refusal_page(request, error)
    shown = approval.incident
    # The page shows the diagnosis this request froze, not a re-diagnosis made since (never saved).
    shown.diagnosis = approval.diagnosis or shown.diagnosis
    message = incident_message(shown, kind="page", approvals=[approval])
    seconds_left = max(0, int((min(approval.expires_at, claims.expires_at) - timezone.now()).total_seconds()))
    context = {"approval": approval, "incident": approval.incident, "message": message, "token": token,
               "seconds_left": seconds_left, "action": approval.payload.get("action", {})}
    return _private(render(request, "incidents/approval.html", context))


def _decide(request: HttpRequest, decision: str) -> HttpResponse:
    try:
        claims = token_read(request.POST.get("token", ""))
        approval = approval_for_token(claims)
        approval_check(approval)
        approval = approval_decide(approval_id=approval.pk, decision=decision, via="web")
    except ApprovalRefusedError as error:
        approval_refusal_record(error, via="web")
        return refusal_page(request, error)
    return _private(render(request, "incidents/approval_done.html", {"approval": approval}))


@require_POST
def approval_confirm(request: HttpRequest) -> HttpResponse:
    """Approve: the request is consumed and the recovery webhook is queued (it runs in a worker)."""
    return _decide(request, APPROVE)


@require_POST
def approval_reject(request: HttpRequest) -> HttpResponse:
    """Do not run: the request is consumed and the incident ends in REJECTED."""
    return _decide(request, REJECT)
