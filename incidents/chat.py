"""Inbound chat and voice callbacks that decide incident things: Telegram buttons and voice key presses.

Telegram: the request must carry this tenant's ``X-Telegram-Bot-Api-Secret-Token`` (compared in
constant time). ``/start <code>`` links the sender's chat to the contact whose one-time code it
is. A button carries ``ap:<ref>`` or ``rj:<ref>``, an opaque id of an approval request (never a
token); it is honoured only when the pressing account is the Telegram chat linked to that
request's contact, and then goes through the same single conditional update as the web link.

Twilio: the voice call's key press is verified with ``X-Twilio-Signature``.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.twiml.voice_response import VoiceResponse

from incidents.approvals import (
    APPROVE,
    ApprovalRefusedError,
    approval_acknowledge,
    approval_decide,
    approval_refusal_record,
)
from incidents.models import ApprovalRequest
from ledger.models import Source
from notifications.inbound import (
    UpdateInvalidError,
    telegram_secret_valid,
    telegram_update_parse,
    twilio_signature_valid,
)
from notifications.providers.base import DeliveryError
from notifications.providers.telegram import telegram_call
from notifications.services import channel_credentials, telegram_link
from tenants.configuration.models import ChannelSetting

logger = logging.getLogger(__name__)


def _telegram_reply(method: str, **kwargs) -> None:
    channel = ChannelSetting.objects.filter(kind="telegram").first()
    if channel is None:
        return
    try:
        telegram_call(channel_credentials(channel), method, **kwargs)
    except DeliveryError as exc:
        logger.warning("telegram %s failed: %s", method, exc)


@csrf_exempt
@require_POST
def telegram_webhook(request: HttpRequest) -> HttpResponse:
    """Telegram's webhook for this tenant's bot."""
    schema = request.tenant.schema_name
    if not telegram_secret_valid(request.headers.get("X-Telegram-Bot-Api-Secret-Token"), schema_name=schema):
        logger.warning("telegram webhook refused: wrong secret token (tenant %s)", schema)
        return JsonResponse({"detail": "wrong secret token"}, status=403)
    try:
        update = telegram_update_parse(request.body)
    except UpdateInvalidError as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    if update.kind == "start":
        contact = telegram_link(code=update.code, chat_id=update.chat_id) if update.code else None
        text = (f"Linked: you will receive AlertEngine alerts here as {contact.name}." if contact else
                "That code is not valid (codes work once). Ask your admin for your current link code.")
        _telegram_reply("send_message", chat_id=update.chat_id, text=text)
    elif update.kind == "button":
        note = _button(update)
        _telegram_reply("answer_callback_query", callback_query_id=update.callback_query_id, text=note[:200])
    return JsonResponse({"ok": True})


def _button(update) -> str:
    """Decide a button press; returns the note shown to the user."""
    approval = ApprovalRequest.objects.select_related("contact", "incident").filter(chat_ref=update.ref).first()
    if approval is None:
        logger.warning("telegram button refused: unknown request")
        return "This button is not valid here."
    linked = approval.contact.telegram_chat_id
    if not linked or linked != update.from_id:
        error = ApprovalRefusedError(status=403, code="chat_not_linked", title="Not your request",
                                     detail="This Telegram account is not linked to the contact this request "
                                            "was sent to.", approval=approval)
        approval_refusal_record(error, via=Source.TELEGRAM)
        return error.detail
    try:
        decided = approval_decide(approval_id=approval.pk, decision=update.decision, via=Source.TELEGRAM)
    except ApprovalRefusedError as error:
        approval_refusal_record(error, via=Source.TELEGRAM)
        return f"{error.title}. {error.detail}"
    if update.message_id is not None:
        _telegram_reply("edit_message_reply_markup", chat_id=update.chat_id, message_id=update.message_id)
    if decided.decision == APPROVE:
        return f"Approved: {decided.action_name} is being run now."
    return f"Not run: {decided.action_name} will not be executed."


@csrf_exempt
@require_POST
def voice_gather(request: HttpRequest, ref: str) -> HttpResponse:
    """Twilio's ``<Gather>`` callback of a voice escalation: a key press acknowledges the incident."""
    approval = ApprovalRequest.objects.select_related("contact").filter(chat_ref=ref).first()
    channel = ChannelSetting.objects.filter(kind="voice").first()
    token = channel_credentials(channel).auth_token if channel else ""
    params = {key: request.POST.get(key, "") for key in request.POST}
    if approval is None or not twilio_signature_valid(url=request.build_absolute_uri(), params=params,
                                                      signature=request.headers.get("X-Twilio-Signature"),
                                                      auth_token=token):
        logger.warning("voice callback refused: unknown request or bad Twilio signature")
        return HttpResponse("refused", status=403, content_type="text/plain")
    response = VoiceResponse()
    if params.get("Digits") == "1":
        approval_acknowledge(approval=approval, via=Source.API)
        response.say("Thank you. The incident is acknowledged. Decide on the approval link in your messages.")
    else:
        response.say("No acknowledgement recorded. Goodbye.")
    return HttpResponse(str(response), content_type="text/xml")
