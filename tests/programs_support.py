"""Helpers for the command-line tests that run real processes against moto's server."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from typing import Any

import moto.sts.models
from support import ACCOUNT_ID

# A secret access key's shape (40 base64 characters), and the tags of a response body.
_SECRET_SHAPE = re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_CREDENTIAL_TAGS = ("SecretAccessKey", "SessionToken")


class Issued:
    """The credentials moto issues from now on, read from its backend (it runs in-process)."""

    def __init__(self) -> None:
        self._start = len(self._roles())

    @staticmethod
    def _roles() -> list[Any]:
        return moto.sts.models.sts_backends[ACCOUNT_ID]["aws"].assumed_roles

    def secrets(self) -> list[str]:
        """Every secret key and session token issued since this object was made."""
        roles = self._roles()[self._start :]
        return [value for role in roles for value in (role.secret_access_key, role.session_token)]


def assert_no_secret(text: str, issued: Issued) -> None:
    """No secret moto issued, no credential tag and nothing shaped like a secret key."""
    for secret in issued.secrets():
        assert secret not in text
    for tag in _CREDENTIAL_TAGS:
        assert tag not in text
    assert not _SECRET_SHAPE.search(text), text


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int) -> str:
    """Exit ``code``, nothing on stdout, one line on stderr and no traceback; return it."""
    assert (result.returncode, result.stdout) == (code, ""), result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def run_python(
    args: list[str], *, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` in a new process group; on timeout, the whole group is killed
    (a runaway credential_process recursion included) and TimeoutExpired raised."""
    process = subprocess.Popen(
        [sys.executable, *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def run_module(
    module: str, *argv: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python -m MODULE ARGV``."""
    return run_python(["-m", module, *argv], env=env, timeout=timeout)


def closed_port() -> int:
    """A local port nothing listens on (connections to it are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
