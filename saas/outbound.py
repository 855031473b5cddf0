"""Outbound HTTP to tenant-supplied URLs (health, recovery webhooks, Slack): one guarded session.

Every connection is checked *at connect time*: the host name is resolved once, each address is
checked against the blocked ranges (private, loopback, link-local — which includes the cloud
metadata address — carrier-grade NAT, multicast, reserved), and the socket is opened to the
address that was checked, so DNS rebinding between a check and a fetch is not possible.
Redirects are never followed, every request has a timeout, and bodies are read up to a cap.

``OUTBOUND_ALLOW_LOOPBACK`` (development and tests only; refused in production) admits
127.0.0.0/8 and ::1 so the local demo can reach its own services.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from typing import Any

import requests
import urllib3
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

DEFAULT_TIMEOUT = (3.05, 5.0)
DEFAULT_MAX_BYTES = 1_000_000
_EXTRA_BLOCKED = [ipaddress.ip_network(n) for n in (
    "100.64.0.0/10",  # carrier-grade NAT
    "64:ff9b::/96", "64:ff9b:1::/48",  # NAT64: reaches IPv4 (private included) through a gateway
    "2002::/16",  # 6to4: embeds an IPv4 address
    "2001::/32",  # Teredo: embeds an IPv4 address
    "::/96",  # IPv4-compatible (deprecated) addresses
    "fec0::/10",  # site-local (deprecated), still routed inside some networks
)]


class OutboundBlockedError(requests.exceptions.ConnectionError):
    """The destination resolves only to addresses we refuse to connect to."""


class ResponseTooLargeError(requests.exceptions.RequestException):
    """The response body exceeded the cap."""


class ResponseTooSlowError(requests.exceptions.Timeout):
    """The response body was not complete within the deadline."""


def address_allowed(address: str, *, allow_loopback: bool) -> bool:
    """Whether a resolved address may be connected to."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return allow_loopback
    if ip.is_multicast or any(ip in network for network in _EXTRA_BLOCKED):
        return False
    return ip.is_global


def _guarded_socket(host: str, port: int, timeout: Any, source_address: Any, socket_options: Any) -> socket.socket:
    allow_loopback = settings.OUTBOUND_ALLOW_LOOPBACK
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    candidates = [info for info in infos if address_allowed(info[4][0], allow_loopback=allow_loopback)]
    if not candidates:
        raise OutboundBlockedError(f"refusing to connect to {host}: it resolves only to blocked addresses")
    last_error: OSError | None = None
    for family, socktype, proto, _, sockaddr in candidates:
        sock = socket.socket(family, socktype, proto)
        try:
            if socket_options:
                for option in socket_options:
                    sock.setsockopt(*option)
            if timeout is not None and timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:  # type: ignore[attr-defined]
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            last_error = exc
            sock.close()
    assert last_error is not None
    raise last_error


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        try:
            return _guarded_socket(self._dns_host, self.port, self.timeout, self.source_address, self.socket_options)
        except OutboundBlockedError:
            raise
        except socket.gaierror as exc:
            from urllib3.exceptions import NameResolutionError

            raise NameResolutionError(self.host, self, exc) from exc
        except OSError as exc:
            from urllib3.exceptions import NewConnectionError

            raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") from exc


class _GuardedHTTPSConnection(_GuardedHTTPConnection, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}

    def proxy_manager_for(self, *args: Any, **kwargs: Any):
        raise OutboundBlockedError("proxies are not used for tenant-supplied URLs")


class GuardedSession(requests.Session):
    """A session that never follows redirects and always has a timeout."""

    def __init__(self, *, timeout: Any = DEFAULT_TIMEOUT) -> None:
        super().__init__()
        self.trust_env = False  # no proxies or .netrc credentials from the environment
        self.default_timeout = timeout
        adapter = GuardedAdapter(max_retries=0, pool_maxsize=32)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs["allow_redirects"] = False
        kwargs.setdefault("timeout", self.default_timeout)
        try:
            return super().request(method, url, **kwargs)
        except requests.exceptions.ConnectionError as exc:
            blocked = _blocked_cause(exc)
            if blocked is not None:
                raise blocked from None
            raise


def _blocked_cause(exc: BaseException) -> OutboundBlockedError | None:
    """urllib3 wraps connect-time errors; find ours in the chain of arguments and causes."""
    seen: set[int] = set()
    stack: list[object] = [exc]
    while stack:
        item = stack.pop()
        if id(item) in seen or not isinstance(item, BaseException):
            continue
        seen.add(id(item))
        if isinstance(item, OutboundBlockedError):
            return item
        stack.extend([*item.args, item.__cause__, item.__context__, getattr(item, "reason", None)])
    return None


def outbound_session(*, timeout: Any = DEFAULT_TIMEOUT) -> GuardedSession:
    """The session to use for every request to a tenant-supplied URL."""
    return GuardedSession(timeout=timeout)


def read_capped(response: requests.Response, max_bytes: int = DEFAULT_MAX_BYTES, *,
                deadline_s: float = DEFAULT_TIMEOUT[1]) -> bytes:
    """Read a streamed response body, refusing more than ``max_bytes`` or longer than ``deadline_s``.

    The read timeout bounds each socket read; the deadline bounds the whole body, so a server
    dripping one byte at a time cannot hold a worker.
    """
    started = time.monotonic()
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        response.close()
        raise ResponseTooLargeError(f"response declares {declared} bytes, more than the {max_bytes} allowed")
    chunks: list[bytes] = []
    size = 0
    while True:
        # read1 returns what has arrived (up to the amount), so the deadline is checked as data drips in.
        try:
            chunk = response.raw.read1(65536, decode_content=True)
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise requests.exceptions.ReadTimeout(str(exc)) from None
        except urllib3.exceptions.HTTPError as exc:  # connection reset, broken chunking, bad encoding
            raise requests.exceptions.ConnectionError(str(exc)) from None
        if not chunk:
            break
        size += len(chunk)
        if size > max_bytes:
            response.close()
            raise ResponseTooLargeError(f"response exceeded {max_bytes} bytes")
        if time.monotonic() - started > deadline_s:
            response.close()
            raise ResponseTooSlowError(f"response body took longer than {deadline_s:.0f} s")
        chunks.append(chunk)
    return b"".join(chunks)
