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


def run_example(
    script: str | Path, *, env: dict[str, str] | None = None, stdin: str = ""
) -> list[str]:
    """Run examples/<script> (or a script by its absolute path) with this process's
    environment, made by the fixtures; assert it succeeds; its stdout lines."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
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
    accounts = [str(n) for n in range(100000000001, 100000000011)]
    env = {"ACCOUNT_IDS": ",".join(accounts), "REGIONS": "us-east-1,eu-west-1"}
    lines = run_example("fan_out.py", env=env)
    assert sorted(lines[:-1]) == [
        f"{a} {region}: arn:aws:sts::{a}:assumed-role/Auditor/inventory"
        for a in accounts
        for region in ("eu-west-1", "us-east-1")
    ]
    assert lines[-1] == "20 done, 20 ok, failed: {}"
    assert sts_server.count("AssumeRole") == 10  # once per account, for both regions
    assert sts_server.count("GetCallerIdentity") == 20


def test_fan_out_reports_a_failed_account_and_goes_on(sts_server: StsServer) -> None:
    sts_server.fail_next(status=403, code="AccessDenied", message="not allowed")
    lines = run_example("fan_out.py")
    failed = [line for line in lines if "failed: AccessDenied" in line]
    assert len(failed) == 2  # both regions of the account whose AssumeRole was refused
    account = failed[0].split()[0]
    assert sorted(failed) == [
        f"{account} {region}: assume failed: AccessDenied" for region in ("eu-west-1", "us-east-1")
    ]
    assert lines[-1] == "6 done, 4 ok, failed: {'assume': {'AccessDenied': 2}}"
    assert len(lines) == 7
    assert sts_server.count("AssumeRole") == 3
    assert sts_server.count("GetCallerIdentity") == 4


@covers("sync_drop_in.py")
@pytest.mark.parametrize("library", ["aio_assume_role.sync", "aws_assume_role_lib"])
def test_sync_drop_in(library: str, sts_server: StsServer, tmp_path: Path) -> None:
    """The file runs, and runs the same with aws-assume-role-lib's own import line."""
    pytest.importorskip("boto3")
    pytest.importorskip(library)
    script = EXAMPLES / "sync_drop_in.py"
    if library == "aws_assume_role_lib":
        ours = "import aio_assume_role.sync as aws_assume_role_lib"
        source = script.read_text()
        assert source.count(ours) == 1
        script = tmp_path / "original.py"
        script.write_text(source.replace(ours, "import aws_assume_role_lib"))
    lines = run_example(script)
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
    # Each SDK ran the command once: the first run's AssumeRole, signed by the default (env)
    # keys, was the only one (the second run was served by the command's cache); each SDK
    # signed its call with the role's keys from the command, not with those.
    env_key = os.environ["AWS_ACCESS_KEY_ID"]
    assert sts_server.signing_keys("AssumeRole") == [env_key]
    assert env_key not in sts_server.signing_keys("GetCallerIdentity")
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


@covers("quickstart.py")
def test_quickstart(sts_server: StsServer) -> None:
    lines = run_example("quickstart.py")
    assert re.fullmatch(
        r"arn:aws:sts::123456789012:assumed-role/Example/botocore-session-\d+", lines[0]
    )
    assert lines[1:] == ["arn:aws:sts::123456789012:assumed-role/Other/quickstart"]
    # The chained role was assumed with the first role's credentials.
    first, chained = sts_server.calls("AssumeRole")
    assert (first["RoleArn"], chained["RoleArn"]) == (
        "arn:aws:iam::123456789012:role/Example",
        "arn:aws:iam::123456789012:role/Other",
    )
    keys = sts_server.signing_keys("AssumeRole")
    assert keys[0] == os.environ["AWS_ACCESS_KEY_ID"] != keys[1]


@covers("patch.py")
def test_patch(sts_server: StsServer) -> None:
    pytest.importorskip("boto3")
    lines = run_example("patch.py")
    assert lines == [
        f"arn:aws:sts::123456789012:assumed-role/Example/{name}"
        for name in ("default-session", "boto3-session", "aiobotocore-session")
    ]
    assert sts_server.count("AssumeRole") == 3


@covers("file_cache.py")
def test_file_cache_is_shared_by_sessions_and_by_runs(
    sts_server: StsServer, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "new" / "cache"
    env = {"CACHE_DIR": str(cache_dir)}
    arn = "arn:aws:sts::123456789012:assumed-role/Example/cached"
    assert run_example("file_cache.py", env=env) == [arn, "from STS: 1, from the cache: 19"]
    assert run_example("file_cache.py", env=env) == [arn, "from STS: 0, from the cache: 20"]
    assert sts_server.count("AssumeRole") == 1
    [entry] = cache_dir.glob("*.json")  # beside it, the cross-process lock's file
    assert (cache_dir.stat().st_mode & 0o777, entry.stat().st_mode & 0o777) == (0o700, 0o600)


def test_file_cache_processes_started_together_make_one_assume_role_call(
    sts_server: StsServer, tmp_path: Path
) -> None:
    env = {**os.environ, "CACHE_DIR": str(tmp_path / "cache")}
    runs = [
        subprocess.Popen(
            [sys.executable, str(EXAMPLES / "file_cache.py")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], [err for _, err in outputs]
    summaries = sorted(out.splitlines()[-1] for out, _ in outputs)
    assert summaries == [
        "from STS: 0, from the cache: 20",
        "from STS: 0, from the cache: 20",
        "from STS: 1, from the cache: 19",
    ]
    assert sts_server.count("AssumeRole") == 1


@covers("retries.py")
def test_retries_ride_out_throttling(sts_server: StsServer) -> None:
    sts_server.fail_next(code="Throttling", times=2)
    lines = run_example("retries.py")
    assert lines[0] == (
        "refresh of arn:aws:iam::123456789012:role/Example (first-use): ok from sts"
    )
    assert lines[1].startswith("credentials valid until ")
    assert len(lines) == 2
    assert sts_server.count("AssumeRole") == 3  # two throttled attempts, then success


def test_retries_do_not_retry_access_denied(sts_server: StsServer) -> None:
    sts_server.fail_next(status=403, code="AccessDenied", message="not allowed")
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "retries.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "refresh of arn:aws:iam::123456789012:role/Example (first-use): failed: AccessDenied"
    ]
    warning, message = result.stderr.splitlines()  # the library's one WARNING line, then ours
    assert "failed (first-use, AccessDenied" in warning
    assert message == "cannot assume arn:aws:iam::123456789012:role/Example: AccessDenied"
    assert sts_server.count("AssumeRole") == 1


@covers("trio_file_cache.py")
@pytest.mark.skipif(not trio_mode_available(), reason="needs the trio extra (aiobotocore>=3.9)")
def test_trio_file_cache_is_shared_by_runs(sts_server: StsServer, tmp_path: Path) -> None:
    env = {"CACHE_DIR": str(tmp_path / "cache")}
    arn = "arn:aws:sts::123456789012:assumed-role/Example/trio-cached"
    assert run_example("trio_file_cache.py", env=env) == [arn]
    assert run_example("trio_file_cache.py", env=env) == [arn]
    assert sts_server.count("AssumeRole") == 1
    assert len(list((tmp_path / "cache").glob("*.json"))) == 1


@covers("tenants_service.py")
def test_tenants_service_under_two_uvicorn_workers(sts_server: StsServer, tmp_path: Path) -> None:
    """The Starlette service as it runs: a real uvicorn server with 2 worker processes
    sharing one cache directory, driven over HTTP. Every tenant's requests succeed, the
    workers assume each role once between them, and they shut down without a warning."""
    import signal
    import socket
    import time
    import urllib.error
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    accounts = {f"t{n}": f"{n:012d}" for n in range(100000000001, 100000000007)}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "PORT": str(port),
        "TENANTS": ",".join(f"{name}={account}" for name, account in accounts.items()),
        "TENANT_CACHE_DIR": str(tmp_path / "cache"),
        "PYTHONUNBUFFERED": "1",
    }
    server = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "tenants_service.py")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def get(path: str) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=60) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    try:
        deadline = time.monotonic() + 60  # a failure bound: the workers start in seconds
        while True:
            try:
                assert get("/-/stats")[0] == 200
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "no server"
                time.sleep(0.05)
        served_by: set[int] = set()
        with ThreadPoolExecutor(48) as pool:
            for _ in range(10):  # rounds, until both workers have served tenants
                answers = list(pool.map(get, [f"/{name}" for name in accounts for _ in range(8)]))
                assert [status for status, _ in answers] == [200] * len(answers)
                assert [body["account"] for _, body in answers] == [
                    account for account in accounts.values() for _ in range(8)
                ]
                served_by.update(body["worker"] for _, body in answers)
                if len(served_by) == 2:
                    break
        assert len(served_by) == 2
        assert get("/nobody")[0] == 404
        # One AssumeRole per tenant between the two workers, not one per worker.
        assert sorted(call["RoleArn"] for call in sts_server.calls()) == sorted(
            f"arn:aws:iam::{account}:role/Vendor" for account in accounts.values()
        )
        assert {call["ExternalId"] for call in sts_server.calls()} == {
            f"ext-{name}" for name in accounts
        }
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=60)
    assert server.returncode == 0, stderr
    assert stderr.count("Application shutdown complete") == 2, stderr
    assert "Unclosed" not in stderr and "Traceback" not in stderr, stderr
