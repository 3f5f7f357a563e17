"""Every file in examples/ runs, as a real subprocess, against the moto STS server.

The examples read the endpoint and credentials the standard way (AWS_ENDPOINT_URL,
AWS_* variables), which the fixtures set, so each runs here unchanged. Each test
names the files it covers; a file in examples/ that no test covers fails
``test_every_example_is_run_by_a_test``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from moto_sts import StsServer

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
COVERED: set[str] = set()
F = TypeVar("F", bound=Callable[..., Any])


def covers(*names: str) -> Callable[[F], F]:
    """Mark a test as the one that runs these files of examples/."""
    COVERED.update(names)
    return lambda test: test


def run_example(name: str, *, env: dict[str, str] | None = None, stdin: str = "") -> list[str]:
    """Run examples/<name> with this process's (fixture-made) environment; its stdout lines."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        env={**os.environ, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_every_example_is_run_by_a_test() -> None:
    files = {p.name for p in EXAMPLES.iterdir() if p.is_file() and p.suffix != ".pyc"}
    assert files, "no examples found"
    assert files - COVERED == set(), "examples that no test runs"
    assert COVERED - files == set(), "tests naming examples that do not exist"


def test_examples_say_what_they_show_and_how_to_run() -> None:
    for path in EXAMPLES.glob("*.py"):
        source = path.read_text()
        assert source.startswith('"""'), f"{path.name}: no module docstring"
        assert f"python examples/{path.name}" in source, f"{path.name}: no run command"


@covers("web_service.py")
def test_web_service(sts_server: StsServer) -> None:
    lines = run_example("web_service.py")
    assert lines[0] == "lifespan.startup.complete"
    assert lines[-1] == "lifespan.shutdown.complete"
    responses = lines[1:-1]
    expected = {
        "acme": "arn:aws:sts::111111111111:assumed-role/Tenant/web-acme",
        "globex": "arn:aws:sts::222222222222:assumed-role/Tenant/web-globex",
    }
    assert responses == [
        *(f"GET /{t} -> 200 {json.dumps({'arn': arn})}" for t, arn in expected.items()),
        *(f"GET /{t} -> 200 {json.dumps({'arn': arn})}" for t, arn in expected.items()),
        'GET /nobody -> 404 {"error": "no such tenant"}',
    ]
    # One AssumeRole per tenant at start-up; the four requests reuse the sessions.
    assert sorted(call["RoleArn"] for call in sts_server.calls()) == [
        "arn:aws:iam::111111111111:role/Tenant",
        "arn:aws:iam::222222222222:role/Tenant",
    ]
    assert sts_server.count("GetCallerIdentity") == 4


def test_web_service_start_up_fails_on_a_role_it_cannot_assume(sts_server: StsServer) -> None:
    sts_server.fail_next(status=403, code="AccessDenied", message="not allowed")
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "web_service.py")],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stdout.splitlines() == ["lifespan.startup.failed"]
    assert "AccessDenied" in result.stderr
    assert sts_server.count("GetCallerIdentity") == 0


@covers("fan_out.py")
def test_fan_out(sts_server: StsServer) -> None:
    accounts = [f"{n:012d}" for n in range(100000000001, 100000000011)]
    lines = run_example("fan_out.py", env={"ACCOUNT_IDS": ",".join(accounts)})
    assert lines == [
        *(f"{a}: arn:aws:sts::{a}:assumed-role/Auditor/inventory" for a in accounts),
        "10 accounts, 0 failed",
    ]
    assert sts_server.count("AssumeRole") == 10
    assert sts_server.count("GetCallerIdentity") == 10


def test_fan_out_reports_a_failed_account_and_goes_on(sts_server: StsServer) -> None:
    sts_server.fail_next(status=403, code="AccessDenied", message="not allowed")
    lines = run_example("fan_out.py")
    failed = re.fullmatch(r"(\d{12}): failed: .*\(AccessDenied\).*", lines[0])
    assert failed, lines
    others = sorted({"111111111111", "222222222222", "333333333333"} - {failed.group(1)})
    assert lines[1:] == [
        *(f"{a}: arn:aws:sts::{a}:assumed-role/Auditor/inventory" for a in others),
        "2 accounts, 1 failed",
    ]
    assert sts_server.count("AssumeRole") == 3


@covers("sync_drop_in.py")
def test_sync_drop_in(sts_server: StsServer) -> None:
    pytest.importorskip("boto3")
    lines = run_example("sync_drop_in.py")
    assert re.fullmatch(
        r"arn:aws:sts::123456789012:assumed-role/Example/botocore-session-\d+", lines[0]
    )
    assert lines[1:] == [
        "True",
        "arn:aws:sts::123456789012:assumed-role/Example/drop-in",
        "arn:aws:sts::123456789012:assumed-role/Example/drop-in",
        "arn:aws:sts::123456789012:assumed-role/Example/patched",
    ]
    assert sts_server.count("AssumeRole") == 3


def test_sync_drop_in_is_aws_assume_role_lib_code(sts_server: StsServer, tmp_path: Path) -> None:
    """The same file, with the import aws-assume-role-lib's users have, prints the same."""
    pytest.importorskip("aws_assume_role_lib")
    source = (EXAMPLES / "sync_drop_in.py").read_text()
    ours = "import aio_assume_role.sync as aws_assume_role_lib"
    assert source.count(ours) == 1
    original = tmp_path / "original.py"
    original.write_text(source.replace(ours, "import aws_assume_role_lib"))
    result = subprocess.run(
        [sys.executable, str(original)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("arn:aws:sts::123456789012:assumed-role/Example/botocore-session-")
    assert lines[1:] == run_example("sync_drop_in.py")[1:]


@covers("credential_process.py", "credential_process.ini")
def test_credential_process(sts_server: StsServer) -> None:
    pytest.importorskip("boto3")
    snippet = (EXAMPLES / "credential_process.ini").read_text()
    assert snippet.count("/path/to/venv/bin/python") == 1
    config = Path(os.environ["AWS_CONFIG_FILE"])
    config.write_text(
        config.read_text() + snippet.replace("/path/to/venv/bin/python", sys.executable)
    )
    lines = run_example("credential_process.py")
    arn = "arn:aws:sts::123456789012:assumed-role/Example/"
    assert [line.split(arn)[0] for line in lines] == ["boto3: ", "aiobotocore: "]
    # Each SDK ran the command once: one AssumeRole each, signed by the default (env) keys.
    assert sts_server.count("AssumeRole") == 2
    assert sts_server.count("GetCallerIdentity") == 2


@covers("mfa.py")
def test_mfa(sts_server: StsServer) -> None:
    lines = run_example("mfa.py", stdin="123456\n")
    assert lines == [
        "first: arn:aws:sts::123456789012:assumed-role/Example/mfa-example",
        "second: arn:aws:sts::123456789012:assumed-role/Example/mfa-example",
        "codes asked for: 1",
    ]
    [call] = sts_server.calls("AssumeRole")  # the second session was served by the cache
    assert call["SerialNumber"] == "arn:aws:iam::123456789012:mfa/alice"
    assert call["TokenCode"] == "123456"


def trio_mode_available() -> bool:
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("trio", "httpx2", "aiobotocore.httpxsession")
    )


@covers("trio_example.py")
@pytest.mark.skipif(not trio_mode_available(), reason="needs the trio extra (aiobotocore>=3.9)")
def test_trio_example(sts_server: StsServer) -> None:
    lines = run_example("trio_example.py")
    assert sorted(lines) == [
        f"{n}: arn:aws:sts::123456789012:assumed-role/Example/trio-example" for n in range(3)
    ]
    assert sts_server.count("AssumeRole") == 1
