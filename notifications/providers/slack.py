"""Slack incoming webhooks (Block Kit). The webhook URL is tenant-supplied: the outbound guard applies."""

from __future__ import annotations

import requests

from notifications.messages import Message, Recipient
from notifications.providers.base import Credentials, DeliveryError, http_status_error
from notifications.render import render_slack
from saas.outbound import outbound_session, read_capped


class SlackWebhook:
    name = "slack"

    def address(self, recipient: Recipient) -> str:
        return "slack"

    def send(self, *, credentials: Credentials, recipient: Recipient, message: Message) -> str:
        try:
            response = outbound_session().post(credentials.url, json=render_slack(message), stream=True)
            body = read_capped(response, 10_000).decode(errors="replace")
        except requests.RequestException as exc:
            raise DeliveryError(f"{type(exc).__name__}: could not reach Slack", transient=True) from None
        if response.status_code != 200:
            raise http_status_error(response.status_code, body)
        return ""
