"""The outbound guard: blocked ranges at connect time, no redirects, capped bodies."""

from __future__ import annotations

import pytest
from django.test import override_settings
from pytest_httpserver import HTTPServer

from saas.outbound import OutboundBlockedError, ResponseTooLargeError, address_allowed, outbound_session, read_capped


@pytest.mark.parametrize(
    "address",
    ["10.0.0.5", "172.16.3.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",
     "fd00::1", "fe80::1", "::ffff:10.0.0.1", "127.0.0.1", "::1",
     "64:ff9b::a9fe:a9fe", "64:ff9b:1::a00:5", "2002:7f00:1::1", "2002:a9fe:a9fe::", "::127.0.0.1", "fec0::1",
     "2001:0:4136:e378:8000:63bf:3fff:fdd2"],
)
def test_private_loopback_link_local_and_metadata_addresses_are_refused(address):
    assert address_allowed(address, allow_loopback=False) is False


def test_public_addresses_are_allowed_and_loopback_only_when_enabled():
    assert address_allowed("93.184.215.14", allow_loopback=False)
    assert address_allowed("2606:4700::1111", allow_loopback=False)
    assert address_allowed("127.0.0.1", allow_loopback=True)
    assert not address_allowed("10.0.0.1", allow_loopback=True)


def test_connecting_to_loopback_is_refused_at_connect_time(httpserver: HTTPServer):
    httpserver.expect_request("/health/alerts").respond_with_json({"status": "ok"})
    with override_settings(OUTBOUND_ALLOW_LOOPBACK=False), pytest.raises(OutboundBlockedError):
        outbound_session().get(httpserver.url_for("/health/alerts"))
    # A name that resolves to loopback is refused the same way.
    with override_settings(OUTBOUND_ALLOW_LOOPBACK=False), pytest.raises(OutboundBlockedError):
        outbound_session().get(f"http://localhost:{httpserver.port}/health/alerts")
    assert httpserver.log == []


def test_redirects_are_never_followed(httpserver: HTTPServer):
    httpserver.expect_request("/hook").respond_with_data("", status=302, headers={"Location": "http://169.254.169.254/"})
    response = outbound_session().post(httpserver.url_for("/hook"), json={})
    assert response.status_code == 302
    assert len(httpserver.log) == 1


def test_bodies_beyond_the_cap_are_refused(httpserver: HTTPServer):
    httpserver.expect_request("/big").respond_with_data("x" * 50_000)
    response = outbound_session().get(httpserver.url_for("/big"), stream=True)
    with pytest.raises(ResponseTooLargeError):
        read_capped(response, max_bytes=10_000)
    small = outbound_session().get(httpserver.url_for("/big"), stream=True)
    assert len(read_capped(small, max_bytes=100_000)) == 50_000


def test_a_server_dripping_its_body_is_cut_off_at_the_deadline():
    import socket
    import threading
    import time

    from saas.outbound import ResponseTooSlowError

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def drip():
        conn, _ = listener.accept()
        conn.recv(4096)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
        try:
            for _ in range(40):
                conn.sendall(b" ")
                time.sleep(0.1)
        except OSError:
            pass
        conn.close()

    threading.Thread(target=drip, daemon=True).start()
    response = outbound_session().get(f"http://127.0.0.1:{listener.getsockname()[1]}/", stream=True)
    started = time.monotonic()
    with pytest.raises(ResponseTooSlowError):
        read_capped(response, deadline_s=1.0)
    assert time.monotonic() - started < 2.5
    listener.close()
