"""The command line against moto's server: output formats, argument loaders, exit codes,
and use as a credential_process. Subprocess tests run ``python -m aio_assume_role``
(what the ``aio-assume-role`` console script calls); the rest call ``cli.main`` in-process.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto_sts import StsServer
from support import ACCOUNT_ID, DUMMY_SECRET_KEY, role_arn

from aio_assume_role.programs import cli

EXPIRATION = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as exit:  # argparse's own errors
        code = int(exit.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def run_module(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aio_assume_role", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def env(sts_server: StsServer) -> dict[str, str]:
    """The isolated test environment (dummy keys, temp config), for a child process,
    reaching moto through the STS-specific endpoint variable only."""
    environment = dict(os.environ)
    environment.pop("AWS_ENDPOINT_URL")
    environment["AWS_ENDPOINT_URL_STS"] = sts_server.endpoint
    return environment


class TestOutput:
    def test_json_is_credential_process_format(
        self, sts_server: StsServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, err = run_main(capsys, role_arn(), "--json")
        assert (code, err) == (0, "")
        data = json.loads(out)
        assert set(data) == {
            "Version",
            "AccessKeyId",
            "SecretAccessKey",
            "SessionToken",
            "Expiration",
        }
        assert data["Version"] == 1
        assert EXPIRATION.fullmatch(data["Expiration"])
        expiration = datetime.datetime.strptime(data["Expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc
        )
        remaining = expiration - datetime.datetime.now(datetime.timezone.utc)
        assert datetime.timedelta(minutes=58) < remaining <= datetime.timedelta(hours=1)
        assert sts_server.count() == 1

    @pytest.mark.parametrize(
        ("flags", "prefix"),
        [((), "export "), (("--env",), "export "), (("--dotenv",), "")],
        ids=["default", "--env", "--dotenv"],
    )
    def test_env_lines(
        self,
        sts_server: StsServer,
        capsys: pytest.CaptureFixture[str],
        flags: tuple[str, ...],
        prefix: str,
    ) -> None:
        code, out, err = run_main(capsys, role_arn(), *flags)
        assert (code, err) == (0, "")
        assert all(line.startswith(prefix) for line in out.splitlines())
        lines = dict(line[len(prefix) :].split("=", 1) for line in out.splitlines())
        assert list(lines) == [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_CREDENTIALS_EXPIRATION",
        ]
        assert EXPIRATION.fullmatch(lines["AWS_CREDENTIALS_EXPIRATION"])

    def test_printed_keys_act_as_the_role(
        self, sts_server: StsServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _, out, _ = run_main(capsys, role_arn("MyRole"), "--json", "--RoleSessionName", "cli")
        data = json.loads(out)
        session = boto3.Session(
            aws_access_key_id=data["AccessKeyId"],
            aws_secret_access_key=data["SecretAccessKey"],
            aws_session_token=data["SessionToken"],
        )
        arn = session.client("sts").get_caller_identity()["Arn"]
        assert arn == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/MyRole/cli"


class TestArguments:
    def call(self, sts_server: StsServer, capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
        code, _, err = run_main(capsys, role_arn(), "--json", *argv)
        assert (code, err) == (0, "")
        (call,) = sts_server.calls()
        return call

    @pytest.mark.parametrize(
        "value",
        [
            "arn:aws:iam::aws:policy/A,arn:aws:iam::aws:policy/B",
            '["arn:aws:iam::aws:policy/A", {"arn": "arn:aws:iam::aws:policy/B"}]',
        ],
        ids=["comma-separated", "json"],
    )
    def test_policy_arns(
        self, sts_server: StsServer, capsys: pytest.CaptureFixture[str], value: str
    ) -> None:
        call = self.call(sts_server, capsys, "--PolicyArns", value)
        assert call["PolicyArns.member.1.arn"] == "arn:aws:iam::aws:policy/A"
        assert call["PolicyArns.member.2.arn"] == "arn:aws:iam::aws:policy/B"

    @pytest.mark.parametrize(
        "value",
        ["team=core,env=test", '{"team": "core", "env": "test"}'],
        ids=["K=V", "json"],
    )
    def test_tags_and_transitive_keys(
        self, sts_server: StsServer, capsys: pytest.CaptureFixture[str], value: str
    ) -> None:
        call = self.call(sts_server, capsys, "--Tags", value, "--TransitiveTagKeys", "team,env")
        assert (call["Tags.member.1.Key"], call["Tags.member.1.Value"]) == ("team", "core")
        assert (call["Tags.member.2.Key"], call["Tags.member.2.Value"]) == ("env", "test")
        assert (call["TransitiveTagKeys.member.1"], call["TransitiveTagKeys.member.2"]) == (
            "team",
            "env",
        )

    def test_every_other_parameter(
        self, sts_server: StsServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "sns:*"}]}
        call = self.call(
            sts_server,
            capsys,
            "--Policy",
            json.dumps(policy),
            "--DurationSeconds",
            "900",
            "--ExternalId",
            "ext",
            "--SourceIdentity",
            "alice",
            "--SerialNumber",
            f"arn:aws:iam::{ACCOUNT_ID}:mfa/alice",
            "--TokenCode",
            "654321",
            "--TransitiveTagKeys",
            '["team"]',
            "--additional-kwargs",
            '{"ExternalId": "loses", "RoleSessionName": "loses-too"}',
        )
        assert json.loads(call["Policy"]) == policy
        assert call["DurationSeconds"] == "900"
        assert call["ExternalId"] == "ext"
        assert call["SourceIdentity"] == call["RoleSessionName"] == "alice"
        assert (call["SerialNumber"], call["TokenCode"]) == (
            f"arn:aws:iam::{ACCOUNT_ID}:mfa/alice",
            "654321",
        )
        assert call["TransitiveTagKeys.member.1"] == "team"

    def test_profile_is_the_parent(
        self, sts_server: StsServer, capsys: pytest.CaptureFixture[str], aws_env: Path
    ) -> None:
        (aws_env / "aws_credentials").write_text(
            "[other]\naws_access_key_id = AKIAOTHERPROFILEKEY1\n"
            "aws_secret_access_key = other-secret\n"
        )
        self.call(sts_server, capsys, "--profile", "other")
        assert sts_server.signing_keys() == ["AKIAOTHERPROFILEKEY1"]


class TestBadArguments:
    @pytest.mark.parametrize(
        "argv",
        [
            pytest.param([], id="no role"),
            pytest.param([role_arn(), "--DurationSeconds", "xxx"], id="duration not int"),
            pytest.param([role_arn(), "--Policy", json.dumps("{}")], id="double-encoded policy"),
            pytest.param([role_arn(), "--Tags", '["a", "b"]'], id="tags as a list of strings"),
            pytest.param([role_arn(), "--Tags", "novalue"], id="tag without ="),
            pytest.param([role_arn(), "--TransitiveTagKeys", '{"a": 1}'], id="keys as object"),
            pytest.param([role_arn(), "--additional-kwargs", "[1]"], id="kwargs not object"),
            pytest.param([role_arn(), "--env", "--json"], id="two formats"),
            pytest.param([role_arn(), "--json", "--dotenv"], id="json and dotenv"),
            pytest.param([role_arn(), "--json", "--shell", "fish"], id="shell for json"),
            pytest.param([role_arn(), "--dotenv", "--shell", "sh"], id="shell for dotenv"),
            pytest.param([role_arn(), "--shell", "tcsh"], id="unknown shell"),
        ],
    )
    def test_argparse_errors_exit_2(
        self, sts_server: StsServer, capsys: pytest.CaptureFixture[str], argv: list[str]
    ) -> None:
        code, out, err = run_main(capsys, *argv)
        assert (code, out) == (2, "")
        assert "usage:" in err
        assert sts_server.count() == 0

    @pytest.mark.parametrize(
        ("argv", "parameter"),
        [
            pytest.param(["arn:aws:iam::123456789012:user/bob"], "RoleArn", id="not a role"),
            pytest.param([role_arn(), "--DurationSeconds", "5"], "DurationSeconds", id="short"),
            pytest.param([role_arn(), "--additional-kwargs", '{"foo": "bar"}'], "foo", id="extra"),
            pytest.param([role_arn(), "--RoleSessionName", "has space"], "RoleSessionName"),
        ],
    )
    def test_invalid_parameters_exit_2_naming_the_parameter(
        self,
        sts_server: StsServer,
        capsys: pytest.CaptureFixture[str],
        argv: list[str],
        parameter: str,
    ) -> None:
        code, out, err = run_main(capsys, *argv)
        assert (code, out) == (2, "")
        assert parameter in err
        assert sts_server.count() == 0

    def test_unknown_profile_exits_3(
        self, sts_server: StsServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, err = run_main(capsys, role_arn(), "--profile", "missing")
        assert (code, out) == (3, "")
        assert "missing" in err


class TestSubprocess:
    def test_module_prints_credentials(self, env: dict[str, str], sts_server: StsServer) -> None:
        result = run_module(role_arn(), "--json", env=env)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["Version"] == 1
        assert sts_server.count() == 1  # reached moto through AWS_ENDPOINT_URL_STS

    def test_no_parent_credentials_exits_3(
        self, env: dict[str, str], sts_server: StsServer
    ) -> None:
        del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
        result = run_module(role_arn(), env=env)
        assert (result.returncode, result.stdout) == (3, "")
        assert "credentials" in result.stderr.lower()
        assert "Traceback" not in result.stderr
        assert sts_server.count() == 0

    def test_assume_role_failure_exits_4_with_the_aws_error_code_and_no_secret(
        self, env: dict[str, str], sts_server: StsServer
    ) -> None:
        sts_server.fail_next(
            "AssumeRole", status=403, code="AccessDenied", message="not authorized to assume"
        )
        result = run_module(role_arn(), "--json", env=env)
        assert (result.returncode, result.stdout) == (4, "")
        assert "AccessDenied" in result.stderr
        assert "not authorized to assume" in result.stderr
        assert DUMMY_SECRET_KEY not in result.stderr
        assert "Traceback" not in result.stderr

    def test_bad_arguments_exit_2(self, env: dict[str, str]) -> None:
        result = run_module(role_arn(), "--DurationSeconds", "xxx", env=env)
        assert result.returncode == 2
        assert "python -m aio_assume_role" in result.stderr  # the usage line names the command

    def test_works_as_a_credential_process_for_boto3(
        self, sts_server: StsServer, aws_env: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        command = f"{sys.executable} -m aio_assume_role {role_arn('MyRole')} --json"
        (aws_env / "aws_config").write_text(
            f"[default]\n\n[profile assumed]\ncredential_process = {command} "
            "--RoleSessionName from-process\n"
        )
        # The child process inherits this environment: moto via AWS_ENDPOINT_URL, dummy keys.
        session = boto3.Session(profile_name="assumed")
        arn = session.client("sts").get_caller_identity()["Arn"]
        assert arn == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/MyRole/from-process"
        assert session.get_credentials().method == "custom-process"
        assert sts_server.count("AssumeRole") == 1
