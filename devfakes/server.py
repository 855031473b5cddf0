"""The fakes server: one WSGI app mounting every fake, the control and inspection APIs and the
fake phone, served by a threaded werkzeug server on loopback.

Routes:
  ``/<fake>/...``                 the fake services (anthropic, twilio, sentdm, telegram, slack, github)
  ``GET /_recorded[/<fake>]``     what the fakes received (``telegram_webhook``, ``twilio_webhook``:
                                  what they sent to our webhooks)
  ``DELETE /_recorded``           forget everything: records, fake state, scripts, the phone
  ``/_control/<fake>[/...]``      scenario controls (see each fake)
  ``GET /phone``                  the fake phone; ``/_phone/fragment``, ``/_phone/actions[/<i>]``
  ``GET /_health``                readiness probe for the dev supervisor
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

import requests
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from devfakes.anthropic_api import AnthropicFake, Behaviour
from devfakes.config import FakeConfig, PhoneLink
from devfakes.github_api import GitHubFake
from devfakes.phone import actions_json, render_chats, render_page
from devfakes.recording import Recorder
from devfakes.sentdm_api import SentDmFake
from devfakes.slack_webhook import SlackFake
from devfakes.telegram_api import TelegramFake
from devfakes.twilio_api import TwilioFake
from devfakes.wire import Fake, InvalidBody, Runtime, json_response, parse_body

logger = logging.getLogger("devfakes")
ACTION_TIMEOUT_S = 10
# Records of calls the fakes made to our webhooks, listed beside the fakes' own records.
OUTBOUND = ("telegram_webhook", "twilio_webhook")


class FakeServices:
    """The WSGI application; its attributes are the fakes, for tests that run in-process."""

    def __init__(self, config: FakeConfig | None = None) -> None:
        self.config = config or FakeConfig()
        self.recorder = Recorder(self.config.max_recorded)
        self.runtime = Runtime(phone_maxlen=self.config.max_recorded)
        shared: dict[str, Any] = {"config": self.config, "recorder": self.recorder, "runtime": self.runtime}
        self.anthropic = AnthropicFake(**shared)
        self.twilio = TwilioFake(**shared)
        self.sentdm = SentDmFake(**shared)
        self.telegram = TelegramFake(**shared)
        self.slack = SlackFake(**shared)
        self.github = GitHubFake(**shared)
        every = (self.anthropic, self.twilio, self.sentdm, self.telegram, self.slack, self.github)
        self.fakes: dict[str, Fake] = {fake.name: fake for fake in every}

    def reset(self) -> None:
        """Forget every record, the fakes' state and scripts, and empty the phone."""
        self.recorder.clear()
        for fake in self.fakes.values():
            fake.reset()
        self.runtime.phone.clear()

    def redact(self, path: str) -> str:
        """A request path safe to log: credentials in URLs (bot token, Slack secret) removed."""
        prefix = path.lstrip("/").split("/", 1)[0]
        fake = self.fakes.get(prefix)
        return fake.redact_path(path) if fake else path

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        return self.route(request)(environ, start_response)

    def route(self, request: Request) -> Response:
        """Dispatch a request to a fake, the control or inspection API, or the phone."""
        head, _, rest = request.path.lstrip("/").partition("/")
        if head in self.fakes:
            return self.fakes[head].dispatch(request, rest)
        if head == "_recorded":
            return self._recorded(request, rest)
        if head == "_control":
            name, _, subpath = rest.partition("/")
            if name not in self.fakes:
                return json_response({"error": f"no fake named {name!r}"}, status=404)
            try:
                body = parse_body(request)
            except InvalidBody:
                return json_response({"error": "invalid JSON body"}, status=400)
            return self.fakes[name].control(request, subpath, body)
        if head == "phone" and not rest:
            page = render_page(self.runtime.phone.items(), self.runtime.phone.version, self.config.phone_links)
            return Response(page, mimetype="text/html", headers=_PAGE_HEADERS)
        if head == "_phone":
            return self._phone(request, rest)
        if head == "_health":
            return json_response({"ok": True})
        if head == "":
            return json_response({"fakes": sorted(self.fakes), "phone": "/phone", "recorded": "/_recorded"})
        return json_response({"error": "not found"}, status=404)

    def _recorded(self, request: Request, name: str) -> Response:
        if request.method == "DELETE" and not name:
            self.reset()
            return json_response({"reset": True})
        if request.method != "GET":
            return json_response({"error": "method not allowed"}, status=405)
        if name and name not in self.fakes and name not in OUTBOUND:
            return json_response({"error": f"no fake named {name!r}"}, status=404)
        return json_response(self.recorder.entries(name or None))

    def _phone(self, request: Request, rest: str) -> Response:
        if rest == "fragment":
            version = self.runtime.phone.version
            if request.args.get("since") == str(version):
                return Response(status=204)
            return Response(
                render_chats(self.runtime.phone.items()),
                mimetype="text/html",
                headers={**_PAGE_HEADERS, "X-Phone-Version": str(version)},
            )
        if rest == "actions":
            return Response(actions_json(self.config.phone_links), mimetype="application/json")
        index = rest.removeprefix("actions/")
        links = self.config.phone_links
        if request.method == "POST" and index.isdigit() and int(index) < len(links):
            return self._run_action(links[int(index)])
        return json_response({"error": "not found"}, status=404)

    @staticmethod
    def _run_action(link: PhoneLink) -> Response:
        # Only URLs from the server's own configuration are called: the page names them by index.
        try:
            answer = requests.request(link.method, link.url, timeout=ACTION_TIMEOUT_S, allow_redirects=False)
        except requests.RequestException as exc:
            return json_response({"error": f"{link.label}: {type(exc).__name__}"}, status=502)
        return json_response({"status": answer.status_code, "body": answer.text[:500]})


# The phone is a local tool: no caching, and no framing by other origins.
_PAGE_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"}


class _RequestHandler(WSGIRequestHandler):
    """Logs one line per request, with credentials removed from the path, or nothing when quiet."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        app = self.server.app
        if getattr(self.server, "log_requests", False) and isinstance(app, FakeServices):
            logger.info("%s %s %s", self.command, app.redact(self.path.split("?", 1)[0]), code)

    def log_error(self, format: str, *args: Any) -> None:
        logger.debug(format, *args)


class FakesHandle:
    """A running fakes server: its URL, its fakes, and how to inspect, reset and stop it."""

    def __init__(self, server: BaseWSGIServer, services: FakeServices, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        self.services = services
        self.url = f"http://{server.host}:{server.port}"

    @property
    def anthropic(self) -> AnthropicFake:
        """The Anthropic fake (``script()`` sets per-model behaviour)."""
        return self.services.anthropic

    @property
    def twilio(self) -> TwilioFake:
        """The Twilio fake."""
        return self.services.twilio

    @property
    def sentdm(self) -> SentDmFake:
        """The Sent.dm fake."""
        return self.services.sentdm

    @property
    def telegram(self) -> TelegramFake:
        """The Telegram fake (``press()`` and ``send_text()`` simulate the user)."""
        return self.services.telegram

    @property
    def slack(self) -> SlackFake:
        """The Slack fake."""
        return self.services.slack

    @property
    def github(self) -> GitHubFake:
        """The GitHub fake (``add_commit()`` registers commits)."""
        return self.services.github

    def recorded(self, name: str | None = None) -> list[dict[str, Any]]:
        """What the fake ``name`` received (every fake's when None), oldest first."""
        return self.services.recorder.entries(name)

    def reset(self) -> None:
        """Forget records, state and scripts of every fake."""
        self.services.reset()

    def script_anthropic(self, model: str = "*", *behaviours: Behaviour) -> None:
        """Shortcut for ``handle.anthropic.script(model, *behaviours)``."""
        self.services.anthropic.script(model, *behaviours)

    def stop(self) -> None:
        """Stop serving; delayed answers still pending are cut short."""
        self.services.runtime.stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _make_server(host: str, port: int, services: FakeServices, *, log_requests: bool) -> BaseWSGIServer:
    server = make_server(host, port, services, threaded=True, request_handler=_RequestHandler)
    server.log_requests = log_requests  # type: ignore[attr-defined]
    return server


def start_in_thread(
    port: int = 0, *, host: str = "127.0.0.1", config: FakeConfig | None = None, log_requests: bool = False
) -> FakesHandle:
    """Start the fakes on ``host:port`` (0: a free port) in a background thread."""
    services = FakeServices(config)
    server = _make_server(host, port, services, log_requests=log_requests)
    # A short poll interval lets stop() return at once instead of after werkzeug's default 0.5 s.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"devfakes:{server.port}", daemon=True
    )
    thread.start()
    return FakesHandle(server, services, thread)


def serve(port: int, *, host: str = "127.0.0.1", config: FakeConfig | None = None) -> None:
    """Serve the fakes in the foreground until interrupted (``python -m devfakes``)."""
    services = FakeServices(config)
    server = _make_server(host, port, services, log_requests=True)
    logger.info("fakes listening on http://%s:%s (phone: http://%s:%s/phone)", host, server.port, host, server.port)
    try:
        server.serve_forever()
    finally:
        services.runtime.stop.set()
        server.server_close()
