"""``--env`` output is for ``eval`` (and fish's ``source``, PowerShell's
``Invoke-Expression``): the variables reach the shell's child processes, and any
value comes through unchanged. Real shells, skipped where not installed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from moto_sts import StsServer
from programs_support import Issued
from support import role_arn

from aio_assume_role.programs import cli

# What a child of the shell sees: the four variables, one per line.
SHOW = (
    "import os; print(*(os.environ.get(name, 'MISSING') for name in "
    "('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', "
    "'AWS_CREDENTIALS_EXPIRATION')), sep=chr(10))"
)


def needs(program: str) -> Any:
    return pytest.mark.skipif(shutil.which(program) is None, reason=f"{program} not installed")


def run_shell(argv: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def env(sts_server: StsServer) -> dict[str, str]:
    """The test environment (dummy keys, temp config, moto), for a child process."""
    return dict(os.environ)


PYTHON = shlex.quote(sys.executable)
COMMAND = f"{PYTHON} -m aio_assume_role {role_arn()}"


def readme_forms() -> dict[str, str]:
    """The CLI guide's table of shell forms (docs/how-to/cli.md): shell -> command."""
    section = (Path(__file__).resolve().parent.parent / "docs" / "how-to" / "cli.md").read_text()
    rows = re.findall(r"^\| ([^|`]+?) \| `(.*aio-assume-role ROLE_ARN.*)` \|$", section, re.M)
    return {shell: command.replace("\\|", "|") for shell, command in rows}


FORMS = readme_forms()


def script(shell: str, command: str = COMMAND) -> str:
    """The guide's form for ``shell``, then a child process that shows the variables."""
    form = FORMS[shell].replace("aio-assume-role ROLE_ARN", command)
    return f'{form}; {"& " if shell == "PowerShell" else ""}{PYTHON} -c "{SHOW}"'


SHELL_SCRIPTS = [
    pytest.param(["bash", "-c", script("bash, zsh, sh, ksh")], marks=needs("bash"), id="bash"),
    pytest.param(
        ["sh", "-c", script("bash, zsh, sh, ksh", f"{COMMAND} --env --shell sh")],
        marks=needs("sh"),
        id="sh",
    ),
    pytest.param(["zsh", "-c", script("bash, zsh, sh, ksh")], marks=needs("zsh"), id="zsh"),
    pytest.param(["ksh", "-c", script("bash, zsh, sh, ksh")], marks=needs("ksh"), id="ksh"),
    pytest.param(["fish", "-c", script("fish")], marks=needs("fish"), id="fish"),
    pytest.param(
        ["pwsh", "-NoProfile", "-Command", script("PowerShell", f"& {COMMAND}")],
        marks=needs("pwsh"),
        id="powershell",
    ),
]


def test_the_readme_documents_these_forms() -> None:
    assert FORMS == {
        "bash, zsh, sh, ksh": 'eval "$(aio-assume-role ROLE_ARN)"',
        "fish": "aio-assume-role ROLE_ARN --shell fish | source",
        "PowerShell": "aio-assume-role ROLE_ARN --shell powershell | Invoke-Expression",
    }


@pytest.mark.parametrize("argv", SHELL_SCRIPTS)
def test_shell_children_see_the_credentials(
    env: dict[str, str], sts_server: StsServer, argv: list[str]
) -> None:
    issued = Issued()
    for name in ("AWS_SESSION_TOKEN", "AWS_CREDENTIALS_EXPIRATION"):
        env.pop(name, None)
    key, secret, token, expiration = run_shell(argv, env).splitlines()
    assert key.startswith("ASIA")
    assert [secret, token] == issued.secrets()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", expiration)


# Values no credential has, each a trap for some shell's quoting.
NASTY = {
    "AccessKeyId": "it's a 'quoted' key",
    "SecretAccessKey": 'back\\slash "double" $HOME `date` $(date) %PATH% ;&|<> *',
    "SessionToken": "line one\nline two\ttab \u2019curly\u2018 #not a comment",
    "Expiration": "2026-01-31T12:00:00Z",
}

QUOTING = [
    pytest.param("sh", ["bash", "-c"], marks=needs("bash"), id="bash"),
    pytest.param("sh", ["sh", "-c"], marks=needs("sh"), id="sh"),
    pytest.param("sh", ["zsh", "-c"], marks=needs("zsh"), id="zsh"),
    pytest.param("fish", ["fish", "-c"], marks=needs("fish"), id="fish"),
    pytest.param("powershell", ["pwsh", "-NoProfile", "-Command"], marks=needs("pwsh"), id="pwsh"),
]


@pytest.mark.parametrize(("shell", "runner"), QUOTING)
def test_any_value_comes_through_unchanged(shell: str, runner: list[str]) -> None:
    show = (
        "import os, json; print(json.dumps([os.environ[name] for name in "
        "('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', "
        "'AWS_CREDENTIALS_EXPIRATION')]))"
    )
    script = cli.format_env(NASTY, shell)
    if shell == "powershell":
        call = f"& {PYTHON} -c '{show}'"
    else:
        call = f"{PYTHON} -c {shlex.quote(show)}"
    output = run_shell([*runner, f"{script}\n{call}"], env=dict(os.environ))

    assert json.loads(output) == list(NASTY.values())


def test_each_shell_gets_its_own_syntax() -> None:
    plain = {
        "AccessKeyId": "AK",
        "SecretAccessKey": "a/b+c=",
        "SessionToken": "t",
        "Expiration": "e",
    }
    assert cli.format_env(plain).splitlines() == [
        "export AWS_ACCESS_KEY_ID=AK",
        "export AWS_SECRET_ACCESS_KEY=a/b+c=",
        "export AWS_SESSION_TOKEN=t",
        "export AWS_CREDENTIALS_EXPIRATION=e",
    ]
    assert (
        cli.format_env(plain, "fish").splitlines()[1] == "set -gx AWS_SECRET_ACCESS_KEY 'a/b+c='"
    )
    assert cli.format_env(plain, "powershell").splitlines()[1] == (
        "$Env:AWS_SECRET_ACCESS_KEY = 'a/b+c='"
    )
    assert cli.format_dotenv(plain).splitlines()[1] == "AWS_SECRET_ACCESS_KEY=a/b+c="
