"""A real moto server on 127.0.0.1 that also counts STS requests and can inject faults.

The server is moto's own WSGI app (what ``moto_server`` runs), wrapped in a
middleware that records each STS query-protocol request's parameters, so tests
count AssumeRole calls *at the server*, and that can answer the next N requests
for an action with an error moto cannot produce by itself (throttling, 5xx,
AccessDenied).
"""

from __future__ import annotations

import io
import re
import select
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

_ERROR_BODY = (
    '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
    "<Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error>"
    "<RequestId>injected-fault</RequestId></ErrorResponse>"
)


@dataclass
class _Fault:
    action: str
    status: int
    code: str
    message: str
    times: int
    # Other kinds of fault: "error" (the STS error above), "truncate" (moto's real
    # answer, cut in half: a parser error whose raw body holds the secret key),
    # "body" (a canned 200 body), "delay" (moto's answer, after ``delay`` seconds),
    # "hold" (moto's answer once ``hold.release()`` is called; ``after`` requests first
    # pass untouched).
    kind: str = "error"
    body: bytes = b""
    delay: float = 0.0
    hold: Hold | None = None
    after: int = 0


class Hold:
    """Requests kept unanswered: ``arrived`` is set when the first one reaches the
    server, and they get moto's answer after ``release()`` (or ``timeout`` seconds, a
    failure bound only)."""

    def __init__(self, timeout: float = 120.0) -> None:
        self.arrived = threading.Event()
        self._released = threading.Event()
        self._timeout = timeout

    def wait_arrived(self, timeout: float = 60.0) -> None:
        assert self.arrived.wait(timeout), "the held request never reached the server"

    def release(self) -> None:
        self._released.set()

    def _hold(self) -> None:
        self.arrived.set()
        self._released.wait(self._timeout)


class _Requests:
    """Which of the server's connections are in the middle of a request, so that ``settle``
    can wait for requests a client wrote before the test ended (e.g. a cancelled fan-out's
    last AssumeRole, still in a socket buffer) instead of counting them in the next test."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open: dict[Any, bool] = {}  # the handler's socket -> it is inside a request

    def busy(self, connection: Any, busy: bool) -> None:
        with self.lock:
            if connection in self.open:
                self.open[connection] = busy

    def quiet(self, listener: Any) -> bool:
        with self.lock:
            if any(self.open.values()):
                return False
            sockets = [listener, *self.open]
        try:  # readable: a connection to accept, a request's bytes (or an EOF) to read
            return not select.select(sockets, [], [], 0)[0]
        except (OSError, ValueError):  # a socket closed meanwhile: look again
            return False


class _MarkingReader:
    """A handler's ``rfile`` that marks its connection busy once a request's first line
    has been read (the rest delegated)."""

    def __init__(self, inner: Any, requests: _Requests, connection: Any) -> None:
        self._inner, self._requests, self._connection = inner, requests, connection

    def readline(self, *args: Any) -> bytes:
        line: bytes = self._inner.readline(*args)
        if line:
            self._requests.busy(self._connection, True)
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _TrackedHandler(MotoRequestHandler):
    def setup(self) -> None:
        super().setup()
        requests: _Requests = self.server.requests_in_flight  # type: ignore[attr-defined]
        self.rfile = _MarkingReader(self.rfile, requests, self.connection)  # type: ignore[assignment]

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        finally:
            self.server.requests_in_flight.busy(self.connection, False)  # type: ignore[attr-defined]


@dataclass
class StsServer:
    """The running server: ``endpoint``, recorded ``requests``, ``fail_next()``."""

    endpoint: str = ""
    requests: list[dict[str, str]] = field(default_factory=list)
    signers: list[tuple[str, str]] = field(default_factory=list)
    _faults: list[_Fault] = field(default_factory=list)
    # access key id -> the error code requests signed with it get (a service rejecting
    # those credentials), for the actions named.
    _rejected: dict[str, tuple[str, frozenset[str]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: BaseWSGIServer | None = None

    def count(self, action: str = "AssumeRole") -> int:
        """How many requests for ``action`` reached the server (faulted ones included)."""
        with self._lock:
            return sum(1 for request in self.requests if request.get("Action") == action)

    def calls(self, action: str = "AssumeRole") -> list[dict[str, str]]:
        """The parameters of each request for ``action``, in arrival order."""
        with self._lock:
            return [dict(r) for r in self.requests if r.get("Action") == action]

    def signing_keys(self, action: str = "AssumeRole") -> list[str]:
        """The access key id that signed each request for ``action``, in arrival order."""
        with self._lock:
            return [key for name, key in self.signers if name == action]

    def settle(self, timeout: float = 5.0) -> bool:
        """Wait until no request is on its way in or being answered (at most ``timeout``
        seconds); whether it got there."""
        assert self._server is not None
        requests: _Requests = self._server.requests_in_flight  # type: ignore[attr-defined]
        deadline = time.monotonic() + timeout
        while not requests.quiet(self._server.socket):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.002)
        return True

    def reset(self) -> None:
        self.clear_faults()  # held requests are answered, then the server settles
        assert self.settle(), "a request to the test STS server was still going after 5 s"
        with self._lock:
            self.requests.clear()
            self.signers.clear()
            for fault in self._faults:
                if fault.hold is not None:
                    fault.hold.release()
            self._faults.clear()
            self._rejected.clear()

    def reject_key(
        self,
        access_key: str,
        code: str = "ExpiredToken",
        actions: tuple[str, ...] = ("GetCallerIdentity",),
    ) -> None:
        """From now on, answer requests for ``actions`` signed with ``access_key`` with
        ``code`` (403, "The security token included in the request is expired")."""
        with self._lock:
            self._rejected[access_key] = (code, frozenset(actions))

    def _rejection(self, action: str, authorization: str) -> _Fault | None:
        match = re.search(r"Credential=([^/]+)/", authorization)
        with self._lock:
            rejected = self._rejected.get(match.group(1)) if match else None
        if rejected is None or action not in rejected[1]:
            return None
        message = "The security token included in the request is expired"
        return _Fault(action, 403, rejected[0], message, 1)

    def fail_next(
        self,
        action: str = "AssumeRole",
        *,
        status: int = 400,
        code: str = "Throttling",
        message: str = "Rate exceeded",
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests for ``action`` with this STS error."""
        with self._lock:
            self._faults.append(_Fault(action, status, code, message, times))

    def clear_faults(self) -> None:
        """Forget the faults not yet used: requests reach moto as they are again."""
        with self._lock:
            for fault in self._faults:
                if fault.hold is not None:
                    fault.hold.release()
            self._faults.clear()

    def truncate_next(self, action: str = "AssumeRole", *, times: int = 1) -> None:
        """Answer the next ``times`` requests with moto's real 200 body cut in half."""
        with self._lock:
            self._faults.append(_Fault(action, 200, "", "", times, kind="truncate"))

    def respond_next(
        self, body: str, action: str = "AssumeRole", *, status: int = 200, times: int = 1
    ) -> None:
        """Answer the next ``times`` requests with ``body`` (e.g. a partial or hostile one)."""
        with self._lock:
            self._faults.append(_Fault(action, status, "", "", times, "body", body.encode()))

    def delay_next(self, seconds: float, action: str = "AssumeRole", *, times: int = 1) -> None:
        """Answer the next ``times`` requests normally, ``seconds`` late (a slow endpoint)."""
        with self._lock:
            self._faults.append(_Fault(action, 200, "", "", times, "delay", delay=seconds))

    def hold_next(self, action: str = "AssumeRole", *, after: int = 0, times: int = 1) -> Hold:
        """Let ``after`` requests for ``action`` through, then keep the next ``times``
        unanswered until the returned ``Hold`` is released: a program caught mid-run."""
        hold = Hold()
        with self._lock:
            self._faults.append(_Fault(action, 200, "", "", times, "hold", hold=hold, after=after))
        return hold

    def _take_fault(self, action: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.action == action and fault.times > 0:
                    if fault.after > 0:
                        fault.after -= 1
                        return None
                    fault.times -= 1
                    return fault
        return None

    def _record(self, params: dict[str, str], authorization: str) -> None:
        match = re.search(r"Credential=([^/]+)/", authorization)
        with self._lock:
            self.requests.append(params)
            self.signers.append((params["Action"], match.group(1) if match else ""))

    def wrap(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        def middleware(environ: dict[str, Any], start_response: Callable[..., Any]):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            params = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
            authorization = environ.get("HTTP_AUTHORIZATION", "")
            if "Action" in params and "/sts/" in authorization:
                self._record(params, authorization)
                fault = self._rejection(params["Action"], authorization) or self._take_fault(
                    params["Action"]
                )
                if fault is not None:
                    return self._answer(fault, app, environ, start_response)
            return app(environ, start_response)

        return middleware

    @staticmethod
    def _answer(
        fault: _Fault,
        app: Callable[..., Iterable[bytes]],
        environ: dict[str, Any],
        start_response: Callable[..., Any],
    ) -> Iterable[bytes]:
        if fault.kind == "delay":
            time.sleep(fault.delay)
            return app(environ, start_response)
        if fault.kind == "hold":
            assert fault.hold is not None
            fault.hold._hold()
            return app(environ, start_response)
        if fault.kind == "truncate":
            real = b"".join(app(environ, lambda *args, **kwargs: None))
            payload = real[: len(real) // 2]
        elif fault.kind == "body":
            payload = fault.body
        else:
            kind = "Receiver" if fault.status >= 500 else "Sender"
            payload = _ERROR_BODY.format(
                kind=kind, code=fault.code, message=fault.message
            ).encode()
        start_response(
            f"{fault.status} Injected",
            [("Content-Type", "text/xml"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    def start(self) -> StsServer:
        app = self.wrap(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            "127.0.0.1", 0, app, threaded=True, request_handler=_TrackedHandler
        )
        requests = _Requests()
        self._server.requests_in_flight = requests  # type: ignore[attr-defined]
        # A connection counts from the moment it is accepted, on the serving thread,
        # not from its handler thread's setup(): between the two the listener is no
        # longer readable and the handler not yet registered, and settle() took that
        # for quiet (a cancelled test's last AssumeRole then landed in the next test).
        accept, shut = self._server.process_request, self._server.shutdown_request

        def process_request(request: Any, client_address: Any) -> None:
            with requests.lock:
                requests.open[request] = False
            accept(request, client_address)

        def shutdown_request(request: Any) -> None:
            try:
                shut(request)
            finally:
                with requests.lock:
                    requests.open.pop(request, None)

        self._server.process_request = process_request  # type: ignore[method-assign]
        self._server.shutdown_request = shutdown_request  # type: ignore[method-assign]
        self.endpoint = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
