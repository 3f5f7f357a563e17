"""Endpoints moto cannot be: one that accepts connections and never answers, one that
answers a 200 and then trickles its body a byte at a time. Both on 127.0.0.1, bounded
in time, stopped by the test."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def silent_endpoint() -> Iterator[str]:
    """A listening socket that never accepts: connections complete, nothing is answered."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(512)
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


@contextmanager
def trickling_endpoint(interval: float = 0.3, longest: float = 60.0) -> Iterator[str]:
    """Answers every request with a 200 header, then one byte of body every ``interval``
    seconds, for at most ``longest`` seconds (a read timeout never fires)."""
    stop = threading.Event()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.2)

    def trickle(connection: socket.socket) -> None:
        with connection:
            connection.settimeout(1)
            try:
                connection.recv(65536)
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 100000\r\n\r\n"
                )
                ended = time.monotonic() + longest
                while not stop.wait(interval) and time.monotonic() < ended:
                    connection.sendall(b" ")
            except OSError:
                return

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            threading.Thread(target=trickle, args=(connection,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        server.close()
