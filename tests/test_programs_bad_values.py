"""Option values no request could carry, refused as bad arguments (exit 2, the option
named, no traceback) before anything is sent: JSON nested 5,000 deep, bytes that are not
UTF-8 (which Python decodes from ``argv`` to lone surrogates)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from moto_sts import StsServer
from support import role_arn

DEEP = "[" * 5000 + "]" * 5000
DEEP_OBJECT = '{"a": ' * 5000 + "1" + "}" * 5000
# Parses (under the C parser's recursion limit) but is deeper than any policy or tag list.
FAIRLY_DEEP = '{"a": ' * 200 + "1" + "}" * 200

BOTH_COMMANDS = pytest.mark.parametrize("module", ["aio_assume_role", "aio_assume_role.sync"])


def run(module: str, *argv: str | bytes) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *argv],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        errors="replace",
        timeout=60,
    )


def assert_bad_argument(result: subprocess.CompletedProcess[str], option: str) -> str:
    """Exit 2, nothing on stdout, no traceback, one error line (after argparse's usage)
    that names the option; return that line."""
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 1, result.stderr
    assert result.stderr.startswith("usage: ")
    assert f"argument {option}:" in errors[0]
    return errors[0]


@BOTH_COMMANDS
@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--Policy", DEEP_OBJECT),
        ("--Tags", DEEP),
        ("--additional-kwargs", DEEP_OBJECT),
        ("--PolicyArns", DEEP),
        ("--TransitiveTagKeys", DEEP),
        ("--Policy", FAIRLY_DEEP),
        ("--additional-kwargs", FAIRLY_DEEP),
    ],
    ids=[
        *("Policy", "Tags", "additional-kwargs", "PolicyArns", "TransitiveTagKeys"),
        *("Policy-200", "additional-kwargs-200"),
    ],
)
def test_deeply_nested_json_is_a_bad_argument(
    sts_server: StsServer, module: str, option: str, value: str
) -> None:
    line = assert_bad_argument(run(module, role_arn(), option, value), option)
    assert "nested more than 32 levels deep" in line
    assert sts_server.count() == 0


@BOTH_COMMANDS
@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--Tags", b"team=\xff"),
        ("--Tags", b'{"team": "\xff"}'),
        ("--PolicyArns", b"arn:aws:iam::aws:policy/\xff"),
        ("--TransitiveTagKeys", b"\xfeteam"),
        ("--RoleSessionName", b"me\xff"),
        ("--ExternalId", b"\xff"),
        ("--Tags", b'{"team": "\\udcff"}'),  # a lone surrogate escaped in the JSON itself
    ],
    ids=[
        *("Tags K=V", "Tags JSON", "PolicyArns", "TransitiveTagKeys", "RoleSessionName"),
        *("ExternalId", "Tags escaped surrogate"),
    ],
)
def test_a_value_that_is_not_utf8_is_a_bad_argument(
    sts_server: StsServer, module: str, option: str, value: bytes
) -> None:
    line = assert_bad_argument(run(module, role_arn(), option, value), option)
    assert "not UTF-8" in line
    assert "STS's response" not in line
    assert sts_server.count() == 0


@BOTH_COMMANDS
def test_a_role_arn_that_is_not_utf8_is_a_bad_argument(sts_server: StsServer, module: str) -> None:
    result = run(module, role_arn().encode() + b"\xff")
    assert_bad_argument(result, "RoleArn")
    assert sts_server.count() == 0


def test_ordinary_nesting_still_passes(sts_server: StsServer) -> None:
    policy = (
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", '
        '"Resource": "*", "Condition": {"StringEquals": {"aws:RequestedRegion": ["eu-west-1"]}}}]}'
    )
    result = run("aio_assume_role", role_arn(), "--json", "--Policy", policy)
    assert result.returncode == 0, result.stderr
    assert sts_server.count() == 1


NOT_REGIONS = pytest.mark.parametrize(
    "region", ["eu-wst-1", "us east", "us-east-1\n"], ids=["typo", "space", "newline"]
)


@BOTH_COMMANDS
@NOT_REGIONS
def test_a_region_that_is_not_one_is_a_bad_argument(
    sts_server: StsServer, module: str, region: str
) -> None:
    # The library's rule (region_name_problem), not exit 4 once STS cannot be reached.
    line = assert_bad_argument(run(module, role_arn(), "--region", region), "--region")
    assert "region" in line.split("--region:", 1)[1]
    assert sts_server.count() == 0


@NOT_REGIONS
def test_a_region_that_is_not_one_is_refused_on_a_cache_hit_too(
    sts_server: StsServer, region: str
) -> None:
    first = run("aio_assume_role", role_arn(), "--json", "--region", "us-east-1")
    assert first.returncode == 0, first.stderr
    assert run("aio_assume_role", role_arn(), "--json").returncode == 0  # a hit
    assert_bad_argument(
        run("aio_assume_role", role_arn(), "--json", "--region", region), "--region"
    )
    assert sts_server.count() == 1


def test_a_region_newer_than_botocore_still_passes(sts_server: StsServer) -> None:
    # Of a region's shape, with words known regions have: taken (STS may know it).
    result = run("aio_assume_role", role_arn(), "--json", "--region", "eu-south-9")
    assert result.returncode == 0, result.stderr
