"""``python -m aio_assume_role.sync`` against ``python -m aws_assume_role_lib`` (2.10, the
reference it is a drop-in for): both run as real processes against moto's server with
the same arguments; options, output shape and exit codes must match, error cases
included. The secret values differ; only ours must keep them out of error messages.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import aws_assume_role_lib.aws_assume_role_lib
import pytest
from moto_sts import StsServer
from programs_support import Issued, assert_no_secret, assert_one_line_error, closed_port
from support import ACCOUNT_ID, role_arn

from aio_assume_role.programs import sync_cli

OURS = "aio_assume_role.sync"
REFERENCE = "aws_assume_role_lib"

EXPIRATION = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
ENV_NAMES = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CREDENTIALS_EXPIRATION",
]


@pytest.fixture
def env(sts_server: StsServer) -> dict[str, str]:
    """The test environment (dummy keys, temp config, moto), for a child process."""
    return dict(os.environ)


def run_both(*argv: str, env: dict[str, str]) -> dict[str, subprocess.CompletedProcess[str]]:
    """Both commands with the same arguments, side by side (two cores, half the wait)."""
    processes = {
        module: subprocess.Popen(
            [sys.executable, "-m", module, *argv],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for module in (OURS, REFERENCE)
    }
    results = {}
    for module, process in processes.items():
        try:
            stdout, stderr = process.communicate(timeout=60)
        finally:
            process.kill()
        results[module] = subprocess.CompletedProcess(
            process.args, process.returncode, stdout, stderr
        )
    return results


def run_both_in_process(
    capsys: pytest.CaptureFixture[str], *argv: str
) -> dict[str, tuple[int, str, str]]:
    """Both ``main()`` functions, for what argparse decides before any AWS call."""
    mains = {OURS: sync_cli.main, REFERENCE: aws_assume_role_lib.aws_assume_role_lib.main}
    results = {}
    for module, main in mains.items():
        try:
            code = main(list(argv))
        except SystemExit as exit:
            code = exit.code
        out, err = capsys.readouterr()
        results[module] = (int(code or 0), out, err)
    return results


def env_shape(stdout: str) -> list[str]:
    lines = [line.split("=", 1) for line in stdout.splitlines()]
    assert all(len(line) == 2 for line in lines), stdout
    assert EXPIRATION.fullmatch(dict(lines)["AWS_CREDENTIALS_EXPIRATION"])
    assert dict(lines)["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    return [name for name, _ in lines]


def json_shape(stdout: str) -> list[str]:
    assert stdout.startswith('{\n  "Version": 1,\n')  # json.dumps(indent=2), as there
    data = json.loads(stdout)
    assert EXPIRATION.fullmatch(data["Expiration"])
    return list(data)


class TestSameOutput:
    @pytest.mark.parametrize("flags", [(), ("--env",)], ids=["default", "--env"])
    def test_env_lines(
        self, env: dict[str, str], sts_server: StsServer, flags: tuple[str, ...]
    ) -> None:
        results = run_both(role_arn(), *flags, env=env)
        for result in results.values():
            assert (result.returncode, result.stderr) == (0, "")
            assert env_shape(result.stdout) == ENV_NAMES
        assert sts_server.count() == 2

    def test_json(self, env: dict[str, str], sts_server: StsServer) -> None:
        results = run_both(role_arn(), "--json", env=env)
        shapes = {module: json_shape(result.stdout) for module, result in results.items()}
        assert (
            shapes[OURS]
            == shapes[REFERENCE]
            == [
                "Version",
                "AccessKeyId",
                "SecretAccessKey",
                "SessionToken",
                "Expiration",
            ]
        )
        assert [result.returncode for result in results.values()] == [0, 0]

    def test_same_assume_role_request(self, env: dict[str, str], sts_server: StsServer) -> None:
        """Every option both take alike. Not --Tags (aws-assume-role-lib passes a dict,
        which fails its own validation) nor --TokenCode (it prompts for the code instead):
        ours sends those (tests/test_programs_cli.py)."""
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "sns:*"}]}
        results = run_both(
            role_arn(),
            "--json",
            "--RoleSessionName",
            "parity",
            "--DurationSeconds",
            "1800",
            "--ExternalId",
            "ext",
            "--SourceIdentity",
            "alice",
            "--Policy",
            json.dumps(policy),
            "--PolicyArns",
            "arn:aws:iam::aws:policy/A,arn:aws:iam::aws:policy/B",
            "--TransitiveTagKeys",
            "team,env",
            "--additional-kwargs",
            '{"ExternalId": "from-kwargs"}',
            env=env,
        )
        assert [result.returncode for result in results.values()] == [0, 0], results
        first, second = sts_server.calls()
        assert first == second
        assert first["RoleSessionName"] == "parity"
        assert first["ExternalId"] == "ext"

    def test_same_options(self, capsys: pytest.CaptureFixture[str]) -> None:
        results = run_both_in_process(capsys, "--help")
        options = {
            module: set(re.findall(r"(?<![\w-])--[A-Za-z][\w-]*", out))
            for module, (_, out, _) in results.items()
        }
        assert [code for code, _, _ in results.values()] == [0, 0]
        assert options[OURS] - options[REFERENCE] == {"--region"}
        assert options[REFERENCE] <= options[OURS]
        assert results[OURS][1].startswith("usage: python -m aio_assume_role.sync ")

    def test_tags_and_token_code_are_sent(
        self, env: dict[str, str], sts_server: StsServer
    ) -> None:
        """Where aws-assume-role-lib fails (see above), ours sends what it was given."""
        mfa = f"arn:aws:iam::{ACCOUNT_ID}:mfa/alice"
        argv = ["--Tags", "team=core", "--SerialNumber", mfa, "--TokenCode", "654321"]
        result = subprocess.run(
            [sys.executable, "-m", OURS, role_arn(), *argv],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (result.returncode, result.stderr) == (0, "")
        (call,) = sts_server.calls()
        assert (call["Tags.member.1.Key"], call["Tags.member.1.Value"]) == ("team", "core")
        assert call["TokenCode"] == "654321"


class TestSameExitCodes:
    def test_access_denied_exits_4_with_the_same_message(
        self, env: dict[str, str], sts_server: StsServer
    ) -> None:
        sts_server.fail_next(status=403, code="AccessDenied", message="not allowed", times=2)
        results = run_both(role_arn(), env=env)
        for result in results.values():
            line = assert_one_line_error(result, 4)
            assert line == "Error when assuming role [AccessDenied]: not allowed"

    def test_no_parent_credentials_exits_3_with_the_same_message(
        self, env: dict[str, str], sts_server: StsServer
    ) -> None:
        del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
        for result in run_both(role_arn(), env=env).values():
            assert assert_one_line_error(result, 3) == "Unable to locate credentials"
        assert sts_server.count() == 0

    def test_unknown_profile_exits_3_with_the_same_message(self, env: dict[str, str]) -> None:
        for result in run_both(role_arn(), "--profile", "missing", env=env).values():
            line = assert_one_line_error(result, 3)
            assert line == (
                "Unable to locate credentials: The config profile (missing) could not be found"
            )

    @pytest.mark.parametrize(
        "argv",
        [
            pytest.param([], id="no role"),
            pytest.param([role_arn(), "--DurationSeconds", "xxx"], id="duration not int"),
            pytest.param([role_arn(), "--env", "--json"], id="two formats"),
            pytest.param([role_arn(), "--Policy", "[]"], id="policy not an object"),
            pytest.param([role_arn(), "--unknown"], id="unknown option"),
        ],
    )
    def test_bad_syntax_exits_2(self, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
        for code, out, err in run_both_in_process(capsys, *argv).values():
            assert (code, out) == (2, "")
            assert "usage: python -m " in err

    def test_invalid_parameter_value_exits_4_as_there(
        self, env: dict[str, str], sts_server: StsServer
    ) -> None:
        """aws-assume-role-lib validates the values inside its AssumeRole error handling."""
        argv = ["--DurationSeconds", "5", "--RoleSessionName", "has space"]
        results = run_both(role_arn(), *argv, env=env)
        assert results[REFERENCE].returncode == 4
        line = assert_one_line_error(results[OURS], 4)
        assert line.startswith(
            "Error when assuming role: Invalid assume_role parameter(s): DurationSeconds: "
        )
        assert "; RoleSessionName: " in line  # one line, each problem named
        assert sts_server.count() == 0

    def test_unreachable_endpoint_exits_4(self, env: dict[str, str]) -> None:
        env.update(AWS_ENDPOINT_URL=f"http://127.0.0.1:{closed_port()}", AWS_MAX_ATTEMPTS="1")
        results = run_both(role_arn(), env=env)
        assert results[REFERENCE].returncode == 4
        assert_one_line_error(results[OURS], 4)

    def test_truncated_response_exits_4_and_only_ours_keeps_the_secret(
        self, env: dict[str, str], sts_server: StsServer
    ) -> None:
        issued = Issued()
        sts_server.truncate_next(times=2)
        results = run_both(role_arn(), "--json", env=env)
        assert results[REFERENCE].returncode == 4
        assert "SecretAccessKey" in results[REFERENCE].stderr  # the leak this one fixes
        assert_one_line_error(results[OURS], 4)
        assert_no_secret(results[OURS].stderr, issued)
