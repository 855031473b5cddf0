"""Serving a WSGI app on a free local port for the duration of a test."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import make_server


@contextmanager
def wsgi_served(app: Any, **options: Any) -> Iterator[int]:
    """Serve ``app`` on 127.0.0.1 in a thread; yields the port; shuts the server down after."""
    server = make_server("127.0.0.1", 0, app, threaded=True, **options)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.port
    finally:
        server.shutdown()
        server.server_close()
