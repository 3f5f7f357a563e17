"""A credential_process that leads back to the profile it is configured in stops.

Real config files whose credential_process runs ``python -m aio_assume_role``, real
nested processes. Without the guard each level starts the next without end: every
test has a timeout that kills the whole process group, and fails.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from moto_sts import StsServer
from programs_support import assert_one_line_error, run_module
from support import ACCOUNT_ID, role_arn

from aio_assume_role.programs import cli

TIMEOUT = 60  # seconds; a guarded recursion stops within three short processes

BOTH_COMMANDS = pytest.mark.parametrize("module", ["aio_assume_role", "aio_assume_role.sync"])


def credential_process(module: str, *argv: str) -> str:
    return " ".join([sys.executable, "-m", module, role_arn("Inner"), "--json", *argv])


@pytest.fixture
def env(sts_server: StsServer) -> dict[str, str]:
    """The test environment (dummy keys, temp config, moto), for a child process."""
    return dict(os.environ)


@BOTH_COMMANDS
def test_profile_whose_process_runs_the_command_for_itself(
    aws_env: Path, env: dict[str, str], sts_server: StsServer, module: str
) -> None:
    (aws_env / "aws_config").write_text(
        f"[profile loop]\ncredential_process = {credential_process(module, '--profile', 'loop')}\n"
    )
    result = run_module(module, role_arn(), "--profile", "loop", env=env, timeout=TIMEOUT)
    # The run for "loop" cannot get its parent credentials (exit 3): its credential
    # process, asked for "loop" again, refused (exit 2) and said why.
    line = assert_one_line_error(result, 3)
    assert "credential_process recursion: profile 'loop'" in line
    assert "(cycle: loop -> loop)" in line
    assert sts_server.count() == 0


def test_cycle_through_source_profile(
    aws_env: Path, env: dict[str, str], sts_server: StsServer
) -> None:
    (aws_env / "aws_config").write_text(
        f"[profile assumer]\nrole_arn = {role_arn('Middle')}\nsource_profile = base\n\n"
        "[profile base]\n"
        f"credential_process = {credential_process('aio_assume_role', '--profile', 'assumer')}\n"
    )
    result = run_module(
        "aio_assume_role", role_arn(), "--profile", "assumer", env=env, timeout=TIMEOUT
    )
    line = assert_one_line_error(result, 3)
    assert "profile 'assumer'" in line
    assert "(cycle: assumer -> base -> assumer)" in line
    assert sts_server.count() == 0


def test_profile_from_aws_profile(aws_env: Path, env: dict[str, str]) -> None:
    """Without --profile, the profile is AWS_PROFILE's, which the process inherits."""
    (aws_env / "aws_config").write_text(
        f"[profile implicit]\ncredential_process = {credential_process('aio_assume_role')}\n"
    )
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    env["AWS_PROFILE"] = "implicit"
    result = run_module("aio_assume_role", role_arn(), env=env, timeout=TIMEOUT)
    line = assert_one_line_error(result, 3)
    assert "(cycle: implicit -> implicit)" in line


def test_a_chain_without_a_cycle_still_works(
    aws_env: Path, env: dict[str, str], sts_server: StsServer
) -> None:
    """Profile "outer" gets its credentials from the command run for another profile."""
    (aws_env / "aws_credentials").write_text(
        "[base]\naws_access_key_id = AKIABASEPROFILEKEY01\naws_secret_access_key = base-secret\n"
    )
    (aws_env / "aws_config").write_text(
        "[profile outer]\n"
        f"credential_process = {credential_process('aio_assume_role', '--profile', 'base')}\n"
    )
    result = run_module(
        "aio_assume_role", role_arn(), "--json", "--profile", "outer", env=env, timeout=TIMEOUT
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["AccessKeyId"].startswith("ASIA")
    inner, outer = sts_server.calls()
    assert inner["RoleArn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/Inner"
    assert outer["RoleArn"] == role_arn()


def test_credential_processes_inherit_the_chain_and_only_they(
    aws_env: Path, sts_server: StsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    seen = aws_env / "seen.json"
    script = aws_env / "process.py"
    script.write_text(
        "import json, os, sys\n"
        f"open(sys.argv[1], 'w').write(os.environ[{cli.CREDENTIAL_PROCESS_MARKER!r}])\n"
        "print(json.dumps({'Version': 1, 'AccessKeyId': 'AKIAFROMAPROCESS0001',"
        " 'SecretAccessKey': 'from-a-process'}))\n"
    )
    (aws_env / "aws_config").write_text(
        f"[profile watched]\ncredential_process = {sys.executable} {script} {seen}\n"
    )
    os.environ.pop(cli.CREDENTIAL_PROCESS_MARKER, None)
    code = cli.main([role_arn(), "--profile", "watched", "--json"])
    assert code == 0, capsys.readouterr().err
    assert json.loads(seen.read_text()) == [
        {
            "profile": "watched",
            "config_file": str(aws_env / "aws_config"),
            "credentials_file": str(aws_env / "aws_credentials"),
        }
    ]
    assert cli.CREDENTIAL_PROCESS_MARKER not in os.environ
    assert sts_server.signing_keys() == ["AKIAFROMAPROCESS0001"]


def test_a_config_file_of_its_own_is_another_profile(
    aws_env: Path, env: dict[str, str], sts_server: StsServer
) -> None:
    """The same profile name, read from other config files, is not a cycle."""
    (aws_env / "other_config").write_text("[profile same]\n")
    (aws_env / "other_credentials").write_text(
        "[same]\naws_access_key_id = AKIASAMEPROFILEKEY01\naws_secret_access_key = s\n"
    )
    files = (
        f"AWS_CONFIG_FILE={aws_env / 'other_config'} "
        f"AWS_SHARED_CREDENTIALS_FILE={aws_env / 'other_credentials'}"
    )
    command = credential_process("aio_assume_role", "--profile", "same")
    (aws_env / "aws_config").write_text(
        f"[profile same]\ncredential_process = env {files} {command}\n"
    )
    result = run_module(
        "aio_assume_role", role_arn(), "--profile", "same", env=env, timeout=TIMEOUT
    )
    assert result.returncode == 0, result.stderr
    assert sts_server.signing_keys()[0] == "AKIASAMEPROFILEKEY01"
    assert sts_server.count() == 2
