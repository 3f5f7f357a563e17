"""The CLI guide's (docs/how-to/cli.md) credential_process line works where the SDKs run
it: from a process whose
PATH does not hold the virtualenv's ``bin/`` (an IDE, cron, a service), with the
virtualenv's Python named by its absolute path.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from moto_sts import StsServer
from support import ACCOUNT_ID

SECTION = (Path(__file__).resolve().parent.parent / "docs" / "how-to" / "cli.md").read_text()
PLACEHOLDER = "/path/to/venv/bin/python"
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"

# What an SDK does with the profile: resolve its credentials, then call STS with them.
RESOLVE = (
    "import botocore.session\n"
    "session = botocore.session.Session(profile='my-role')\n"
    "print(session.create_client('sts').get_caller_identity()['Arn'])\n"
    "print(session.get_credentials().method)\n"
)


def documented_credential_process() -> str:
    match = re.search(r"^credential_process = (.+)$", SECTION, re.MULTILINE)
    assert match, "no credential_process line in docs/how-to/cli.md"
    return match.group(1)


@pytest.fixture
def sdk_env(aws_env: Path, sts_server: StsServer) -> dict[str, str]:
    """A profile "my-role" with the given credential_process, parent profile "dev" with
    static keys, and an environment without the virtualenv: no activation, system PATH."""
    (aws_env / "aws_credentials").write_text(
        "[dev]\naws_access_key_id = AKIADEVPROFILEKEY001\naws_secret_access_key = dev-secret\n"
    )
    env = dict(os.environ)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "VIRTUAL_ENV"):
        env.pop(name, None)
    env["PATH"] = SYSTEM_PATH
    return env


def resolve(
    aws_env: Path, env: dict[str, str], credential_process: str
) -> subprocess.CompletedProcess[str]:
    (aws_env / "aws_config").write_text(
        f"[profile my-role]\ncredential_process = {credential_process}\n"
    )
    return subprocess.run(
        [sys.executable, "-c", RESOLVE], env=env, capture_output=True, text=True, timeout=60
    )


def test_the_documented_form_works_without_the_virtualenv_on_path(
    aws_env: Path, sdk_env: dict[str, str], sts_server: StsServer
) -> None:
    line = documented_credential_process()
    assert line.startswith(f"{PLACEHOLDER} -m aio_assume_role ")
    assert os.path.dirname(sys.executable) not in sdk_env["PATH"].split(os.pathsep)
    result = resolve(aws_env, sdk_env, line.replace(PLACEHOLDER, sys.executable))
    assert result.returncode == 0, result.stderr
    arn, method = result.stdout.splitlines()
    assert arn.startswith(f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/MyRole/")
    assert method == "custom-process"
    assert sts_server.signing_keys() == ["AKIADEVPROFILEKEY001"]  # --profile dev


@pytest.mark.skipif(
    shutil.which("aio-assume-role", path=SYSTEM_PATH) is not None,
    reason="aio-assume-role is installed on the system PATH",
)
def test_the_bare_command_is_not_found_there(
    aws_env: Path, sdk_env: dict[str, str], sts_server: StsServer
) -> None:
    """Why the guide names the interpreter: the console script lives in the venv's bin/."""
    line = documented_credential_process().replace(
        f"{PLACEHOLDER} -m aio_assume_role", "aio-assume-role"
    )
    result = resolve(aws_env, sdk_env, line)
    assert result.returncode != 0
    assert "aio-assume-role" in result.stderr
    assert sts_server.count() == 0
