"""``POST /commits/webhook`` on a tenant host: GitHub push events for Diff-in-Pocket.

The signature (``X-Hub-Signature-256: sha256=<hex HMAC of the raw body>``) is checked with the
tenant's secret in constant time before the body is parsed; anything unsigned or wrongly signed
is 401. Each ``X-GitHub-Delivery`` is accepted once: a replay answers 409 and stores nothing,
so a captured delivery cannot be re-sent to fake a deployment time. A ``ping`` (sent when the
webhook is created) answers 200; events other than ``push`` are acknowledged and ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from incidents.commits import DuplicateDeliveryError, PushPayloadError, push_receive
from incidents.models import CommitSource

logger = logging.getLogger(__name__)


def signature_valid(*, secret: str, body: bytes, header: str) -> bool:
    """Whether ``header`` is ``sha256=`` and the HMAC-SHA256 of ``body`` under ``secret`` (constant time)."""
    scheme, _, received = header.partition("=")
    if scheme != "sha256" or not received or not secret:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    # Bytes, not str: compare_digest refuses non-ASCII text, and a hostile header must not be a 500.
    return hmac.compare_digest(expected.encode(), received.strip().lower().encode("utf-8", "replace"))


@csrf_exempt  # authenticated by the HMAC signature, not by a browser session
@require_POST
def commits_webhook(request: HttpRequest) -> JsonResponse:
    """Verify, deduplicate and store one GitHub delivery."""
    try:
        body = request.body
    except RequestDataTooBig:
        return JsonResponse({"detail": "payload too large"}, status=413)
    source = CommitSource.objects.first()
    header = request.headers.get("X-Hub-Signature-256", "")
    if source is None or not signature_valid(secret=source.webhook_secret, body=body, header=header):
        return JsonResponse({"detail": "missing or invalid X-Hub-Signature-256"}, status=401)
    delivery = request.headers.get("X-GitHub-Delivery", "").strip()
    event = request.headers.get("X-GitHub-Event", "").strip()
    if not delivery or len(delivery) > 64 or not event:
        return JsonResponse({"detail": "X-GitHub-Delivery and X-GitHub-Event are required"}, status=400)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return JsonResponse({"detail": "the body is not JSON"}, status=400)
    try:
        stored = push_receive(delivery_id=delivery, event=event, payload=payload)
    except DuplicateDeliveryError:
        return JsonResponse({"detail": "this delivery was already received"}, status=409)
    except PushPayloadError as exc:
        return JsonResponse({"detail": f"not a GitHub push payload: {exc}"}, status=400)
    if stored and source.github_token:
        from incidents import tasks

        ids = [c.pk for c in stored]
        transaction.on_commit(lambda: tasks.commit_stats_fetch.delay(ids))
    return JsonResponse({"event": event, "stored": len(stored)}, status=200 if event in ("push", "ping") else 202)
