"""The test harness itself: a request a client wrote before ``StsServer.reset()`` is
counted before the reset, never in the next test (the stray AssumeRole CI once saw)."""

from __future__ import annotations

import socket
import threading
from typing import Any
from urllib.parse import urlsplit

import moto_sts
import pytest
from moto_sts import StsServer

_BODY = b"Action=GetCallerIdentity&Version=2011-06-15"
_REQUEST = (
    b"POST / HTTP/1.1\r\nHost: sts\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    b"Authorization: AWS4-HMAC-SHA256 Credential=AKIAHARNESS/20260101/us-east-1/sts/"
    b"aws4_request, SignedHeaders=host, Signature=0\r\n"
    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(_BODY), _BODY)
)


def test_reset_waits_for_requests_already_written() -> None:
    server = StsServer().start()
    try:
        url = urlsplit(server.endpoint)
        for _ in range(5):
            clients = [socket.create_connection((url.hostname, url.port)) for _ in range(5)]
            for client in clients:
                client.sendall(_REQUEST)  # written, not yet read by the server
            server.reset()
            for client in clients:  # each answered: the server has seen every request
                with client, client.makefile("rb") as answer:
                    assert answer.readline().startswith(b"HTTP/1.1 ")
                    answer.read()
            assert server.requests == []
    finally:
        server.stop()


def test_a_connection_counts_from_its_accept_not_its_handler_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The window CI's stray AssumeRole came through: the server accepted the
    connection (the listener no longer readable) but the handler thread had not started.
    Handlers are held there, at the event, so the window stays open while settle looks."""
    entered, go = threading.Event(), threading.Event()
    setup = moto_sts._TrackedHandler.setup

    def held_setup(handler: Any) -> None:
        entered.set()
        assert go.wait(30)
        setup(handler)

    monkeypatch.setattr(moto_sts._TrackedHandler, "setup", held_setup)
    server = StsServer().start()
    try:
        url = urlsplit(server.endpoint)
        with socket.create_connection((url.hostname, url.port)) as client:
            client.sendall(_REQUEST)
            assert entered.wait(30)  # accepted; its handler not yet set up
            assert not server.settle(timeout=0.2)
            go.set()
            assert server.settle()
            assert [r.get("Action") for r in server.requests] == ["GetCallerIdentity"]
    finally:
        go.set()
        server.stop()
