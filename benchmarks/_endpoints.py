"""Local AWS endpoints for the benchmarks: a fast canned STS stub, and moto.

Each runs in its own process, so its CPU never counts against the client under test.

The stub (``start_stub``) answers, on 127.0.0.1 at a free port:

- STS ``AssumeRole`` (query protocol): a valid canned response, Expiration one hour
  ahead, a unique AccessKeyId per call that encodes the role's account
  (``ASIA`` + 12-digit account + 8-digit counter);
- STS ``GetCallerIdentity``: the account encoded in the signing access key (so a
  caller can check it signed with the right account's credentials);
- anything in a JSON protocol (``X-Amz-Target``, e.g. Organizations ListAccounts):
  400 ``AccessDeniedException``; any other query action: 400 ``InvalidAction``;
- ``GET /__stats``: its own CPU seconds and request count, as JSON (to check the
  stub is not the bottleneck: CPU% over a run), and its AssumeRole requests and how
  many of them it throttled.

``start_stub(throttle=(rate, burst))`` makes it throttle AssumeRole as STS does: a
token bucket of ``burst`` tokens refilled at ``rate`` a second (full at start); a
request finding it empty gets HTTP 400 ``Throttling: Rate exceeded``.

It uses aiohttp's low-level server (aiohttp comes with aiobotocore), and builds
each answer from a preformatted template: a few tens of microseconds a request.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ASSUME_ROLE_XML = """<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <SourceIdentity/>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::{account}:assumed-role/{role}/{session}</Arn>
      <AssumedRoleId>AROA{account}EXAMPLE:{session}</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>{key}</AccessKeyId>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <SessionToken>{token}</SessionToken>
      <Expiration>{expiration}</Expiration>
    </Credentials>
    <PackedPolicySize>6</PackedPolicySize>
  </AssumeRoleResult>
  <ResponseMetadata>
    <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
  </ResponseMetadata>
</AssumeRoleResponse>
"""

CALLER_IDENTITY_XML = """<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:sts::{account}:assumed-role/role/session</Arn>
    <UserId>AROA{account}EXAMPLE:session</UserId>
    <Account>{account}</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata>
    <RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId>
  </ResponseMetadata>
</GetCallerIdentityResponse>
"""

ERROR_XML = """<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>
  <RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId>
</ErrorResponse>
"""

# The size of a real session token (~800 characters), so parsing costs what it does.
TOKEN = "FwoGZXIvYXdzEBYaD" + "x" * 780
DEFAULT_ACCOUNT = "123456789012"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stub_key(account_id: str, serial: int) -> str:
    """The access key id the stub issues (and decodes in GetCallerIdentity)."""
    return f"ASIA{account_id}{serial % 10**8:08d}"


def _form_value(body: str, name: str) -> str | None:
    prefix = name + "="
    for part in body.split("&"):
        if part.startswith(prefix):
            from urllib.parse import unquote_plus

            return unquote_plus(part[len(prefix) :])
    return None


def _signing_account(authorization: str) -> str:
    # "AWS4-HMAC-SHA256 Credential=ASIA<account><serial>/20260101/us-east-1/sts/..."
    marker = "Credential="
    at = authorization.find(marker)
    key = authorization[at + len(marker) :].split("/", 1)[0] if at >= 0 else ""
    if key.startswith("ASIA") and len(key) == 24 and key[4:16].isdigit():
        return key[4:16]
    return DEFAULT_ACCOUNT


def serve_stub(  # its own process
    port: int, rate: float = 0.0, burst: float = 0.0, tls: tuple[str, str] | None = None
) -> None:
    import asyncio

    from aiohttp import web

    serial = 0
    requests = 0
    assume_role = throttled = 0
    tokens, refilled = burst, time.monotonic()

    def throttle() -> bool:
        """Whether the token bucket (if any) refuses this AssumeRole."""
        nonlocal tokens, refilled
        if rate <= 0:
            return False
        now = time.monotonic()
        tokens = min(burst, tokens + (now - refilled) * rate)
        refilled = now
        if tokens >= 1:
            tokens -= 1
            return False
        return True

    expiration = ""
    expiration_at = 0.0

    def current_expiration() -> str:
        nonlocal expiration, expiration_at
        now = time.time()
        if now - expiration_at >= 1.0:  # once a second is plenty
            expiration_at = now
            stamp = datetime.datetime.fromtimestamp(now + 3600, datetime.timezone.utc)
            expiration = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
        return expiration

    def xml(text: str, status: int = 200) -> web.Response:
        return web.Response(text=text, status=status, content_type="text/xml")

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        nonlocal serial, requests, assume_role, throttled
        if request.method == "GET" and request.path == "/__stats":
            cpu = time.process_time()
            stats = {
                "cpu": cpu,
                "requests": requests,
                "assume_role": assume_role,
                "throttled": throttled,
            }
            return web.Response(text=json.dumps(stats))
        requests += 1
        body = await request.text()
        if "X-Amz-Target" in request.headers:  # a JSON-protocol service
            return web.Response(
                status=400,
                content_type="application/x-amz-json-1.1",
                text='{"__type":"AccessDeniedException","Message":"not on the stub"}',
            )
        action = _form_value(body, "Action")
        if action == "AssumeRole":
            assume_role += 1
            if throttle():
                throttled += 1
                return xml(ERROR_XML.format(code="Throttling", message="Rate exceeded"), 400)
            arn = _form_value(body, "RoleArn") or ""
            session = _form_value(body, "RoleSessionName") or "session"
            parts = arn.split(":")
            account = parts[4] if len(parts) > 5 else DEFAULT_ACCOUNT
            role = parts[5].rsplit("/", 1)[-1] if len(parts) > 5 else "role"
            serial += 1
            return xml(
                ASSUME_ROLE_XML.format(
                    account=account,
                    role=role,
                    session=session,
                    key=stub_key(account, serial),
                    token=TOKEN,
                    expiration=current_expiration(),
                )
            )
        if action == "GetCallerIdentity":
            account = _signing_account(request.headers.get("Authorization", ""))
            return xml(CALLER_IDENTITY_XML.format(account=account))
        return xml(ERROR_XML.format(code="InvalidAction", message=f"{action}"), status=400)

    async def main() -> None:
        server = web.Server(handler, access_log=None)
        runner = web.ServerRunner(server, access_log=None)
        await runner.setup()
        context = None
        if tls is not None:  # (certificate, key) files: serve https
            import ssl

            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*tls)
        site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024, ssl_context=context)
        await site.start()
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await runner.cleanup()

    try:
        import uvloop  # type: ignore[import-not-found]

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())


class Endpoint:
    """A server process on 127.0.0.1; ``close()`` ends it (closing its stdin)."""

    def __init__(self, kind: str, process: subprocess.Popen[str], url: str) -> None:
        self.kind = kind
        self.process = process
        self.url = url

    def stats(self) -> dict[str, Any] | None:
        """The stub's CPU seconds and request count (None for moto)."""
        if self.kind != "stub":
            return None
        with urllib.request.urlopen(self.url + "/__stats", timeout=5) as answer:
            return json.loads(answer.read())  # type: ignore[no-any-return]

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Endpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_stub(
    throttle: tuple[float, float] | None = None, tls: tuple[str, str] | None = None
) -> Endpoint:
    """The canned STS stub, in its own process; ``throttle``: (rate, burst) of its
    AssumeRole token bucket (None: never throttles); ``tls``: (certificate, key) files
    to serve https with (``stats()`` is then unavailable)."""
    port = free_port()
    rate, burst = throttle or (0.0, 0.0)
    code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); " + (
        f"import _endpoints; _endpoints.serve_stub({port}, {rate!r}, {burst!r}, {tls!r})"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    if process.stdout.readline().strip() != "ready":
        raise RuntimeError("the STS stub did not start")
    return Endpoint("stub", process, f"{'https' if tls else 'http'}://127.0.0.1:{port}")


def start_moto() -> Endpoint:
    """A fresh moto server (``ThreadedMotoServer``) in its own process."""
    code = (
        "import logging, sys\n"
        "logging.getLogger('werkzeug').setLevel(logging.ERROR)\n"
        "from moto.server import ThreadedMotoServer\n"
        "server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)\n"
        "server.start()\n"
        "print(server.get_host_and_port()[1], flush=True)\n"
        "sys.stdin.read()\n"  # until the benchmark closes our stdin
        "server.stop()\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    port = int(process.stdout.readline())
    return Endpoint("moto", process, f"http://127.0.0.1:{port}")


def start_endpoint(kind: str) -> Endpoint:
    return start_stub() if kind == "stub" else start_moto()


def isolated_env(endpoint: str, home: Path) -> dict[str, str]:
    """This environment without AWS_*, plus dummy keys, an empty config, the endpoint."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    config = home / "config"
    config.write_text("[default]\n")
    env.update(
        AWS_CONFIG_FILE=str(config),
        AWS_SHARED_CREDENTIALS_FILE=str(config),
        AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_ENDPOINT_URL=endpoint,
    )
    return env
