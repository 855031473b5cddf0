"""Tenant-host URLs of the approval flow and of inbound chat and voice callbacks."""

from django.urls import path

from incidents import chat, views

urlpatterns = [
    path("action/recover", views.approval_page, name="approval_page"),
    path("action/recover/confirm", views.approval_confirm, name="approval_confirm"),
    path("action/recover/reject", views.approval_reject, name="approval_reject"),
    path("action/voice/<str:ref>", chat.voice_gather, name="voice_gather"),
    path("telegram/webhook", chat.telegram_webhook, name="telegram_webhook"),
]
