"""Fixtures of the fakes' own tests: one fakes server per session, reset before each test, and a
local webhook receiver standing in for the control plane's Telegram endpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from devfakes.server import FakesHandle, start_in_thread
from tests.serving import wsgi_served


@pytest.fixture(scope="session")
def fakes_server() -> Iterator[FakesHandle]:
    handle = start_in_thread(port=0)
    yield handle
    handle.stop()


@pytest.fixture
def fakes(fakes_server: FakesHandle) -> FakesHandle:
    fakes_server.reset()
    return fakes_server


@dataclass
class WebhookReceiver:
    """Accepts requests, remembers them, and answers ``reply`` with ``status``."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    reply: str = ""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.received.append(
            {
                "url": request.url,
                "headers": dict(request.headers),
                "form": request.form.to_dict(),
                "body": json.loads(request.get_data()) if request.is_json else None,
            }
        )
        return Response(self.reply, status=self.status, mimetype="text/xml")(environ, start_response)


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    with wsgi_served(receiver) as port:
        receiver.url = f"http://127.0.0.1:{port}/telegram/webhook"
        yield receiver
