"""Ctrl-C, SIGTERM and a closed stdout, for every program, as real processes.

Each program is caught mid-run deterministically: moto's server holds a request
(``StsServer.hold_next``) until the test has seen it arrive (and, for ``accounts
--json``, read the line already printed), then the signal is sent. The claims: exit
130 (SIGINT) or 143 (SIGTERM), one line on stderr, no traceback; ``accounts``
keeps what it had done. A closed stdout (``| head -c0``): exit 141, one line.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto_sts import Hold, StsServer
from support import role_arn

SIGNALS = pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"]
)
ACCOUNT_A, ACCOUNT_B = "111111111111", "222222222222"


@pytest.fixture
def env(sts_server: StsServer) -> dict[str, str]:
    """The test environment (dummy keys, temp config and cache, moto), for a child."""
    return dict(os.environ)


@pytest.fixture
def held(sts_server: StsServer) -> Iterator[list[Hold]]:
    """Holds made by the test, released at its end whatever happened."""
    holds: list[Hold] = []
    yield holds
    for hold in holds:
        hold.release()


def start(
    args: list[str], env: dict[str, str], stdout: int = subprocess.PIPE
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # signals go to this process only, never to pytest's group
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        stdout, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    return process.returncode, stdout or "", stderr


def assert_interrupted(code: int, expected: int, stderr: str) -> list[str]:
    assert code == expected, stderr
    assert "Traceback" not in stderr
    assert "KeyboardInterrupt" not in stderr
    return stderr.splitlines()


@SIGNALS
@pytest.mark.parametrize("module", ["aio_assume_role", "aio_assume_role.sync"])
def test_the_command_interrupted_mid_assume_role_prints_one_line(
    sts_server: StsServer,
    env: dict[str, str],
    held: list[Hold],
    signum: int,
    code: int,
    module: str,
) -> None:
    hold = sts_server.hold_next("AssumeRole")
    held.append(hold)
    process = start(["-m", module, role_arn(), "--json"], env)
    hold.wait_arrived()  # mid-run: its AssumeRole is at the server, unanswered
    process.send_signal(signum)
    returncode, stdout, stderr = finish(process)
    lines = assert_interrupted(returncode, code, stderr)
    assert stdout == ""
    assert lines == [f"python -m {module}: interrupted"]


def accounts(*argv: str) -> list[str]:
    return [
        "-m",
        "aio_assume_role",
        "accounts",
        "--role-name",
        "Audit",
        "--account",
        ACCOUNT_A,
        "--account",
        ACCOUNT_B,
        *argv,
    ]


@SIGNALS
def test_accounts_json_interrupted_keeps_the_lines_done_and_says_so(
    sts_server: StsServer,
    env: dict[str, str],
    held: list[Hold],
    signum: int,
    code: int,
) -> None:
    hold = sts_server.hold_next("AssumeRole", after=1)  # one account through, one held
    held.append(hold)
    process = start(accounts("--json", "--no-progress"), env)
    assert process.stdout is not None
    first = process.stdout.readline()  # printed as soon as its check completed
    hold.wait_arrived()
    process.send_signal(signum)
    returncode, rest, stderr = finish(process)
    lines = assert_interrupted(returncode, code, stderr)
    assert rest == ""
    result = json.loads(first)
    assert result["ok"] is True
    assert result["account_id"] in (ACCOUNT_A, ACCOUNT_B)
    assert lines == [
        "python -m aio_assume_role accounts: interrupted after 1 of 2 checks; "
        "done: 1 account: 1 ok, 0 failed"
    ]


@SIGNALS
def test_accounts_table_interrupted_prints_what_is_done_and_says_so(
    sts_server: StsServer,
    env: dict[str, str],
    held: list[Hold],
    signum: int,
    code: int,
) -> None:
    hold = sts_server.hold_next("AssumeRole", after=1)
    held.append(hold)
    process = start(accounts("--no-progress"), env)
    hold.wait_arrived()
    process.send_signal(signum)
    returncode, stdout, stderr = finish(process)
    assert_interrupted(returncode, code, stderr)
    assert stderr == ""
    *table, summary = stdout.splitlines()
    # The other account's check may or may not have finished when the signal came.
    assert summary.startswith("interrupted after ")
    done = int(summary.split()[2])
    assert done in (0, 1)
    assert summary.endswith(f"done: {done} account{'' if done == 1 else 's'}: {done} ok, 0 failed")
    assert table[0].split() == ["account", "name", "outcome", "error", "code"]
    assert len(table) == 1 + done


@SIGNALS
def test_the_demo_interrupted_mid_step_prints_one_line(
    sts_server: StsServer,
    env: dict[str, str],
    aws_env: Path,
    held: list[Hold],
    signum: int,
    code: int,
) -> None:
    (aws_env / "aws_credentials").write_text(
        "[dev]\naws_access_key_id = AKIADEVPROFILEKEY001\naws_secret_access_key = dev-secret\n"
    )
    hold = sts_server.hold_next("AssumeRole")
    held.append(hold)
    argv = ["--profile", "dev", "--role-name", "Audit", "--account", ACCOUNT_A]
    process = start(["-m", "aio_assume_role", "demo", *argv], env)
    assert process.stdout is not None
    while not process.stdout.readline().startswith("1. Assume a role"):
        pass  # each line is flushed as printed; EOF ("") would fail the wait below
    hold.wait_arrived()
    process.send_signal(signum)
    returncode, _, stderr = finish(process)
    lines = assert_interrupted(returncode, code, stderr)
    assert lines == ["python -m aio_assume_role demo: interrupted"]


# --- a closed stdout -------------------------------------------------------------------


def run_with_closed_stdout(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """``python ARGS | head -c0``: the pipe's read end is closed before the child writes."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        process = start(args, env, stdout=write_end)
    finally:
        os.close(write_end)
    returncode, _, stderr = finish(process)
    return returncode, stderr


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["-m", "aio_assume_role", role_arn(), "--json"], id="credential_process"),
        pytest.param(["-m", "aio_assume_role.sync", role_arn()], id="sync"),
        pytest.param(accounts("--json", "--no-progress"), id="accounts --json"),
        pytest.param(accounts("--no-progress"), id="accounts table"),
        pytest.param(
            [
                *("-m", "aio_assume_role", "demo", "--profile", "none", "--role-name", "R"),
                *("--account", ACCOUNT_A),
            ],
            id="demo",  # its first line is written before the profile is looked at
        ),
    ],
)
def test_a_closed_stdout_is_one_line_and_exit_141(
    sts_server: StsServer, env: dict[str, str], args: list[str]
) -> None:
    returncode, stderr = run_with_closed_stdout(args, env)
    assert returncode == 141, stderr
    assert "Traceback" not in stderr
    (line,) = stderr.splitlines()
    assert line.endswith(": stdout was closed before the output was written")


def test_a_closed_stdout_on_a_cache_hit_too(sts_server: StsServer, env: dict[str, str]) -> None:
    args = ["-m", "aio_assume_role", role_arn(), "--json"]
    warm = subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert warm.returncode == 0, warm.stderr
    returncode, stderr = run_with_closed_stdout(args, env)
    assert (returncode, stderr) == (
        141,
        "python -m aio_assume_role: stdout was closed before the output was written\n",
    )
    assert sts_server.count() == 1  # the second run was the cache's
