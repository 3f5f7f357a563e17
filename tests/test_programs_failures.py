"""However the AssumeRole step fails, the command line exits 4 with one line on stderr:
no traceback, no secret, never exit 1. Real processes against moto's server, whose
faults (truncated or odd bodies) are injected by tests/moto_sts.py.
"""

from __future__ import annotations

import os

import pytest
from moto_sts import StsServer
from programs_support import (
    Issued,
    assert_no_secret,
    assert_one_line_error,
    closed_port,
    run_module,
    run_python,
)
from support import role_arn

from aio_assume_role import session
from aio_assume_role.programs import cli

BOTH_COMMANDS = pytest.mark.parametrize("module", ["aio_assume_role", "aio_assume_role.sync"])

_RESULT = (
    '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
    "<AssumeRoleResult>{}</AssumeRoleResult></AssumeRoleResponse>"
)
_CREDENTIALS = (
    "<Credentials><AccessKeyId>ASIAEXAMPLEEXAMPLE12</AccessKeyId>"
    "<SecretAccessKey>cannedSecretKeyThatMustNotBePrinted00000</SecretAccessKey>"
    "<SessionToken>canned-session-token</SessionToken>{expiration}</Credentials>"
)


@pytest.fixture
def env(sts_server: StsServer) -> dict[str, str]:
    """The test environment (dummy keys, temp config, moto), for a child process."""
    return dict(os.environ)


@BOTH_COMMANDS
def test_truncated_response_exits_4_without_the_secret_it_holds(
    sts_server: StsServer, env: dict[str, str], module: str
) -> None:
    issued = Issued()
    sts_server.truncate_next()
    result = run_module(module, role_arn(), "--json", env=env)
    assert len(issued.secrets()) == 2  # moto did issue credentials; half the body holds them
    line = assert_one_line_error(result, 4)
    assert "AssumeRole" in line or "assuming role" in line
    assert_no_secret(result.stderr + result.stdout, issued)


@BOTH_COMMANDS
@pytest.mark.parametrize(
    "result_xml",
    [
        pytest.param("", id="no Credentials"),
        pytest.param(_CREDENTIALS.format(expiration=""), id="no Expiration"),
        pytest.param(
            _CREDENTIALS.format(expiration="<Expiration>not-a-date</Expiration>"),
            id="unparsable Expiration",
        ),
        pytest.param(
            _CREDENTIALS.format(expiration="<Expiration>2001-01-01T00:00:00Z</Expiration>"),
            id="already expired",
        ),
    ],
)
def test_malformed_response_exits_4_in_one_line(
    sts_server: StsServer, env: dict[str, str], module: str, result_xml: str
) -> None:
    sts_server.respond_next(_RESULT.format(result_xml))
    result = run_module(module, role_arn(), env=env)
    assert_one_line_error(result, 4)
    assert "cannedSecretKey" not in result.stderr


@BOTH_COMMANDS
def test_configured_logging_prints_no_traceback_and_no_secret(
    sts_server: StsServer, env: dict[str, str], module: str
) -> None:
    """A process whose logging is configured (here at DEBUG, as by a sitecustomize)
    still gets only the one line: botocore logs the failed fetch with its traceback."""
    main = (
        "aio_assume_role.programs.cli"
        if module == "aio_assume_role"
        else "aio_assume_role.programs.sync_cli"
    )
    script = (
        "import logging, sys\n"
        "logging.basicConfig(level=logging.DEBUG)\n"
        f"from {main} import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    issued = Issued()
    sts_server.truncate_next()
    result = run_python(["-c", script, role_arn(), "--json"], env=env)
    assert_one_line_error(result, 4)
    assert_no_secret(result.stderr, issued)


PREFIX = {
    "aio_assume_role": "python -m aio_assume_role: ",
    "aio_assume_role.sync": "Error when assuming role: ",  # aws-assume-role-lib's wording
}


@BOTH_COMMANDS
class TestEndpointAndRegion:
    def test_unreachable_endpoint_names_it(self, env: dict[str, str], module: str) -> None:
        endpoint = f"http://127.0.0.1:{closed_port()}"
        env.update(AWS_ENDPOINT_URL=endpoint, AWS_MAX_ATTEMPTS="1")
        result = run_module(module, role_arn(), env=env)
        line = assert_one_line_error(result, 4)
        assert line == (
            f"{PREFIX[module]}cannot reach the STS endpoint {endpoint}: connection refused"
        )

    def test_missing_region_says_how_to_set_one(
        self, env: dict[str, str], sts_server: StsServer, module: str
    ) -> None:
        del env["AWS_DEFAULT_REGION"]
        result = run_module(module, role_arn(), env=env)
        line = assert_one_line_error(result, 4)
        assert line == (
            f"{PREFIX[module]}no region configured: "
            "pass --region or set AWS_DEFAULT_REGION (or region in the profile)"
        )
        assert sts_server.count() == 0

    def test_region_option_supplies_it(
        self, env: dict[str, str], sts_server: StsServer, module: str
    ) -> None:
        del env["AWS_DEFAULT_REGION"]
        result = run_module(module, role_arn(), "--region", "eu-west-1", env=env)
        assert result.returncode == 0, result.stderr
        assert sts_server.count() == 1


class TestUnexpectedErrors:
    """An exception of a type nobody expected: its text is not printed (it may hold
    anything), its type is."""

    class Surprise(Exception):
        pass

    def test_exits_4_with_the_type_and_not_the_text(
        self,
        sts_server: StsServer,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        def explode(*args: object, **kwargs: object) -> None:
            raise self.Surprise("<SecretAccessKey>leak</SecretAccessKey>")

        monkeypatch.setattr(session, "assume_role", explode)  # cli imports it when it runs
        code = cli.main([role_arn()])
        out, err = capsys.readouterr()
        assert (code, out) == (4, "")
        assert err.count("\n") == 1
        assert "Surprise" in err
        assert "leak" not in err and "SecretAccessKey" not in err
