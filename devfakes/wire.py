"""What every fake shares: body parsing, JSON responses, recording, and the server's runtime."""

from __future__ import annotations

import json
import threading
from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from devfakes.config import FakeConfig
from devfakes.phonelog import PhoneLog
from devfakes.recording import Recorder


class Runtime:
    """State shared by the fakes of one server: its stop signal and the fake phone's log.

    Delayed answers wait on ``stop`` instead of sleeping, so stopping the server never waits for
    a scenario delay to run out.
    """

    def __init__(self, *, phone_maxlen: int) -> None:
        self.stop = threading.Event()
        self.phone = PhoneLog(phone_maxlen)


class InvalidBody(ValueError):
    """The request declared JSON but its body does not parse."""


def form_to_dict(form: MultiDict[str, str]) -> dict[str, Any]:
    """A form as a dict; repeated keys (Twilio's ``MediaUrl``) become lists."""
    result: dict[str, Any] = {}
    for key in form:
        values = form.getlist(key)
        result[key] = values if len(values) > 1 else values[0]
    return result


def parse_body(request: Request) -> Any:
    """The request body as JSON, a form dict, or text; raises :class:`InvalidBody` on bad JSON."""
    mimetype = request.mimetype
    if mimetype == "application/json" or mimetype.endswith("+json"):
        raw = request.get_data(as_text=True)
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise InvalidBody(str(exc)) from exc
    if mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        body = form_to_dict(request.form)
        for name, upload in request.files.items():
            body[name] = {"filename": upload.filename, "content_type": upload.content_type}
        return body
    raw = request.get_data(as_text=True)
    return raw or None


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response."""
    return Response(json.dumps(payload), status=status, mimetype="application/json", headers=headers)


def response_payload(response: Response) -> Any:
    """What a response carried, for the record: parsed JSON, or text."""
    data = response.get_data(as_text=True)
    if response.mimetype == "application/json" and data:
        return json.loads(data)
    return data


class Fake:
    """Base of the fakes: records each request, then lets the subclass answer it."""

    name = ""

    def __init__(self, *, config: FakeConfig, recorder: Recorder, runtime: Runtime) -> None:
        self.config = config
        self.recorder = recorder
        self.runtime = runtime
        self.lock = threading.RLock()

    def dispatch(self, request: Request, subpath: str) -> Response:
        """Record the request under this fake's name and answer it."""
        try:
            body: Any = parse_body(request)
            valid = True
        except InvalidBody:
            body, valid = request.get_data(as_text=True), False
        entry = self.recorder.begin(
            fake=self.name,
            method=request.method,
            path=self.redact_path(request.path),
            query=request.args.to_dict(),
            headers=dict(request.headers),
            body=body,
        )
        response = self.handle(request, subpath, body) if valid else self.invalid_body()
        self.recorder.finish(entry, status=response.status_code, response=response_payload(response))
        return response

    def redact_path(self, path: str) -> str:
        """The path as recorded; fakes whose URLs carry a credential override this."""
        return path

    def handle(self, request: Request, subpath: str, body: Any) -> Response:
        """Answer a request to ``/<name>/<subpath>``."""
        raise NotImplementedError

    def invalid_body(self) -> Response:
        """The service's answer to a body that is not the JSON it claims to be."""
        return json_response({"error": "invalid JSON body"}, status=400)

    def control(self, request: Request, subpath: str, body: Any) -> Response:
        """Answer ``/_control/<name>/<subpath>``; fakes with scenario controls override this."""
        return json_response({"error": f"no control {subpath!r} for {self.name}"}, status=404)

    def reset(self) -> None:
        """Forget the state built by earlier requests and scenarios."""
