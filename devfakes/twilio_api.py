"""Fake of the Twilio REST API: Messages (SMS and WhatsApp) and Calls, under ``/2010-04-01``.

Requests are form-encoded and authenticated with HTTP Basic (account SID and auth token), as the
``twilio`` library sends them; answers are the resource JSON the library parses, and errors use
Twilio's ``{"code", "message", "more_info", "status"}`` shape so ``TwilioRestException`` carries
the real error code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
import secrets
from email.utils import formatdate
from typing import Any
from urllib.parse import urlencode, urljoin

import requests
from werkzeug.wrappers import Request, Response

from devfakes.phonelog import NOTE, RECEIVED
from devfakes.telegram_html import detect_urls
from devfakes.wire import Fake, json_response

API_VERSION = "2010-04-01"
_GATHER = re.compile(r"<Gather\b([^>]*)>")
_XML_ATTR = re.compile(r'([A-Za-z]+)="([^"]*)"')
CALLBACK_TIMEOUT_S = 10
_SAY = re.compile(r"<Say\b[^>]*>(.*?)</Say>", re.DOTALL)
_PATH = re.compile(rf"^{API_VERSION}/Accounts/(?P<account>[^/]+)/(?P<kind>Messages|Calls)(?:/(?P<sid>[^/]+))?\.json$")


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _error(status: int, code: int, message: str) -> Response:
    return json_response(
        {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
        status=status,
    )


def signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's request signature: HMAC-SHA1 over the URL and the sorted POST parameters."""
    payload = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def _may_gather(given: dict[str, Any]) -> bool:
    """Whether a call may wait for a key press: inline TwiML with a ``<Gather>``, or TwiML from a URL."""
    return "<Gather" in str(given.get("twiml") or "") or bool(given.get("url"))


def _said(twiml: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", said)).strip() for said in _SAY.findall(twiml)]


def _call_text(call: dict[str, Any]) -> str:
    """What the callee hears: the ``<Say>`` texts of inline TwiML, or where the TwiML comes from."""
    twiml = call.get("twiml")
    if not twiml:
        return f"Incoming call from {call['from']}; instructions from {call.get('url') or 'an application'}"
    lines = [f"Incoming call from {call['from']}", *filter(None, _said(str(twiml)))]
    if "<Gather" in str(twiml):
        lines.append("(the call waits for a key press)")
    return "\n".join(lines)


class TwilioFake(Fake):
    """``/twilio/2010-04-01/Accounts/{AccountSid}/Messages.json`` and ``Calls.json``."""

    name = "twilio"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._resources: dict[str, dict[str, dict[str, Any]]] = {"Messages": {}, "Calls": {}}
        # What a resource was created with that its API JSON does not show (TwiML, callbacks).
        self._given: dict[str, dict[str, Any]] = {}

    def reset(self) -> None:
        """Forget every message and call."""
        with self.lock:
            for store in self._resources.values():
                store.clear()
            self._given.clear()

    def messages(self) -> list[dict[str, Any]]:
        """Every message created, oldest first: the resource JSON plus ``media_urls`` and
        ``status_callback`` as given."""
        with self.lock:
            return [r | self._given[sid] for sid, r in self._resources["Messages"].items()]

    def calls(self) -> list[dict[str, Any]]:
        """Every call created, oldest first: the resource JSON plus ``url``, ``twiml`` and
        ``status_callback`` as given."""
        with self.lock:
            return [r | self._given[sid] for sid, r in self._resources["Calls"].items()]

    def _authenticated(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            username, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        expected = (self.config.twilio_account_sid, self.config.twilio_auth_token)
        return secrets.compare_digest(f"{username}:{password}", ":".join(expected))

    def handle(self, request: Request, subpath: str, body: Any) -> Response:
        """Route a REST call to create, fetch or list messages and calls."""
        match = _PATH.match(subpath)
        if not match:
            return _error(404, 20404, f"The requested resource /{subpath} was not found")
        if not self._authenticated(request):
            return _error(401, 20003, "Authenticate")
        account, kind, sid = match["account"], match["kind"], match["sid"]
        if account != self.config.twilio_account_sid:
            return _error(404, 20404, f"The requested resource /{subpath} was not found")
        if request.method == "GET":
            return self._fetch(kind, sid) if sid else self._list(kind, subpath)
        if request.method != "POST" or sid:
            return _error(405, 20004, "Method not allowed")
        params = body if isinstance(body, dict) else {}
        create = self._create_message if kind == "Messages" else self._create_call
        return create({k: v for k, v in params.items() if v != ""})

    def _fetch(self, kind: str, sid: str) -> Response:
        with self.lock:
            resource = self._resources[kind].get(sid)
        if resource is None:
            return _error(404, 20404, f"The requested resource /{API_VERSION}/.../{kind}/{sid}.json was not found")
        return json_response(resource)

    def _list(self, kind: str, subpath: str) -> Response:
        with self.lock:
            items = list(reversed(self._resources[kind].values()))
        uri = f"/{subpath}"
        return json_response(
            {
                kind.lower(): items,
                "end": max(len(items) - 1, 0),
                "first_page_uri": f"{uri}?PageSize=50&Page=0",
                "next_page_uri": None,
                "page": 0,
                "page_size": 50,
                "previous_page_uri": None,
                "start": 0,
                "uri": f"{uri}?PageSize=50&Page=0",
            }
        )

    def _store(self, kind: str, resource: dict[str, Any], given: dict[str, Any]) -> None:
        with self.lock:
            self._resources[kind][resource["sid"]] = resource
            self._given[resource["sid"]] = given
        to = str(resource["to"])
        number = to.removeprefix("whatsapp:")
        channel = "WhatsApp" if to.startswith("whatsapp:") else "Phone"
        if kind == "Messages":
            text = "\n".join(filter(None, [resource["body"], *given["media_urls"]]))
            provider = "Twilio"
        else:
            text = _call_text(resource | given)
            provider = "Twilio voice call"
        self.runtime.phone.post(
            chat=f"{channel.lower()}:{number}",
            chat_title=f"{channel}: {number}",
            direction=RECEIVED,
            provider=provider,
            text=text,
            entities=tuple(detect_urls(text)),
            ref={"twilio_sid": resource["sid"], "keypad": kind == "Calls" and _may_gather(given)},
        )

    def press_key(self, call_sid: str, digits: str) -> dict[str, Any]:
        """The callee of ``call_sid`` presses ``digits``: Twilio's ``<Gather>`` callback is sent,
        signed with ``X-Twilio-Signature``, to the Gather's ``action`` (fetching the call's TwiML
        from its ``Url`` first when it was not inline). Returns the callback's outcome; raises
        ``LookupError`` when the call does not wait for a key press.
        """
        with self.lock:
            call = self._resources["Calls"].get(call_sid)
            given = dict(self._given.get(call_sid, {}))
        if call is None:
            raise LookupError(f"no call {call_sid}")
        params = self._call_params(call)
        document_url, twiml = given.get("url"), given.get("twiml")
        if not twiml:
            if not document_url:
                raise LookupError("the call's instructions come from an application the fake does not have")
            fetched = self._callback("POST", str(document_url), params)
            twiml = fetched["response"] if fetched["delivered"] else ""
        gather = _GATHER.search(str(twiml))
        if gather is None:
            raise LookupError("the call does not wait for a key press")
        attributes = dict(_XML_ATTR.findall(gather[1]))
        action = html.unescape(attributes.get("action", "")) or document_url
        if not action:
            raise LookupError("the <Gather> has no action and the call has no Url to return to")
        method = attributes.get("method", "POST").upper()
        self.runtime.phone.post(
            chat=f"phone:{call['to']}",
            chat_title=f"Phone: {call['to']}",
            direction=NOTE,
            provider="You",
            text=f"You pressed {digits}",
        )
        outcome = self._callback(method, urljoin(str(document_url or action), action), params | {"Digits": digits})
        heard = "\n".join(s for s in _said(outcome["response"] or "") if s)
        if heard:
            self.runtime.phone.post(
                chat=f"phone:{call['to']}",
                chat_title=f"Phone: {call['to']}",
                direction=RECEIVED,
                provider="Twilio voice call",
                text=heard,
            )
        return outcome

    def _call_params(self, call: dict[str, Any]) -> dict[str, str]:
        return {
            "AccountSid": self.config.twilio_account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": call["sid"],
            "CallStatus": "in-progress",
            "Called": call["to"],
            "Caller": call["from"],
            "Direction": "outbound-api",
            "From": call["from"],
            "To": call["to"],
        }

    def _callback(self, method: str, url: str, params: dict[str, str]) -> dict[str, Any]:
        """Call a customer URL the way Twilio does: form (or query) parameters, signed."""
        if method == "GET":
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
            signed, data = url, {}
        else:
            signed, data = url, params
        headers = {"X-Twilio-Signature": signature(self.config.twilio_auth_token, signed, data)}
        entry = self.recorder.begin(
            fake="twilio_webhook", method=method, path=url, query={}, headers=headers, body=data
        )
        try:
            answer = requests.request(
                method, url, data=data or None, headers=headers, timeout=CALLBACK_TIMEOUT_S, allow_redirects=False
            )
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: connection to the callback failed"
            self.recorder.finish(entry, status=None, response=error)
            return {"delivered": False, "status": None, "response": None, "error": error}
        self.recorder.finish(entry, status=answer.status_code, response=answer.text[:2000])
        ok = 200 <= answer.status_code < 300
        return {"delivered": ok, "status": answer.status_code, "response": answer.text[:2000], "error": None}

    def control(self, request: Request, subpath: str, body: Any) -> Response:
        """``POST /_control/twilio/press`` with ``call_sid`` and ``digits`` presses keys in a call."""
        if subpath != "press" or request.method != "POST" or not isinstance(body, dict):
            return super().control(request, subpath, body)
        digits = str(body.get("digits", ""))
        if not re.fullmatch(r"[0-9*#]{1,20}", digits):
            return json_response({"error": "digits must be 0-9, * or #"}, status=400)
        try:
            return json_response(self.press_key(str(body.get("call_sid")), digits))
        except LookupError as exc:
            return json_response({"error": str(exc)}, status=404)

    def _account_uri(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.config.twilio_account_sid}"

    def _base(self, sid: str, kind: str) -> dict[str, Any]:
        now = formatdate(usegmt=False).replace("-0000", "+0000")
        account = self.config.twilio_account_sid
        return {
            "account_sid": account,
            "api_version": API_VERSION,
            "date_created": now,
            "date_updated": now,
            "direction": "outbound-api",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "uri": f"/{API_VERSION}/Accounts/{account}/{kind}/{sid}.json",
        }

    def _create_message(self, params: dict[str, Any]) -> Response:
        to, sender = params.get("To"), params.get("From")
        service = params.get("MessagingServiceSid")
        body, media, content = params.get("Body"), params.get("MediaUrl"), params.get("ContentSid")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not sender and not service:
            return _error(400, 21603, "A 'From' phone number is required.")
        if not body and not media and not content:
            return _error(400, 21602, "Message body is required.")
        if sender and str(to).startswith("whatsapp:") != str(sender).startswith("whatsapp:"):
            return _error(400, 21910, "Invalid From and To pair. From and To should be of the same channel")
        if body and len(str(body)) > 1600:
            return _error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        sid = _sid("SM")
        media_urls = media if isinstance(media, list) else [media] if media else []
        resource = {
            **self._base(sid, "Messages"),
            "body": body or "",
            "date_sent": None,
            "error_code": None,
            "error_message": None,
            "from": sender,
            "messaging_service_sid": service,
            "num_media": str(len(media_urls)),
            "num_segments": str(max(1, -(-len(str(body or "")) // 153))),
            "status": "accepted" if service and not sender else "queued",
            "subresource_uris": {"media": f"{self._account_uri()}/Messages/{sid}/Media.json"},
            "to": to,
        }
        answer = dict(resource)
        # The fake "delivers" at once: a later fetch shows what a status callback would report.
        resource.update(status="delivered", date_sent=resource["date_created"])
        self._store("Messages", resource, {"media_urls": media_urls, "status_callback": params.get("StatusCallback")})
        return json_response(answer, status=201)

    def _create_call(self, params: dict[str, Any]) -> Response:
        to, sender = params.get("To"), params.get("From")
        url, twiml, application = params.get("Url"), params.get("Twiml"), params.get("ApplicationSid")
        if not to:
            return _error(400, 21201, "No 'To' number is specified")
        if not sender:
            return _error(400, 21213, "No 'From' number is specified")
        if not (url or twiml or application):
            return _error(400, 21205, "Url parameter is required.")
        if url and not str(url).startswith(("http://", "https://")):
            return _error(400, 21205, f"Url is not a valid URL: {url}")
        sid = _sid("CA")
        resource = {
            **self._base(sid, "Calls"),
            "annotation": None,
            "answered_by": None,
            "caller_name": None,
            "duration": None,
            "end_time": None,
            "forwarded_from": None,
            "from": sender,
            "from_formatted": sender,
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": None,
            "queue_time": "0",
            "start_time": None,
            "status": "queued",
            "subresource_uris": {
                "notifications": f"{self._account_uri()}/Calls/{sid}/Notifications.json",
                "recordings": f"{self._account_uri()}/Calls/{sid}/Recordings.json",
            },
            "to": to,
            "to_formatted": to,
            "trunk_sid": None,
        }
        self._store("Calls", resource, {"url": url, "twiml": twiml, "status_callback": params.get("StatusCallback")})
        return json_response(dict(resource), status=201)
