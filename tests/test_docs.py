"""The README's quickstart runs, and its set-up commands are the ones CI runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from moto_sts import StsServer

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def code_block_after(marker: str) -> str:
    match = re.search(re.escape(marker) + r"\s*```python\n(.*?)```", README, re.DOTALL)
    assert match, f"no python block after {marker!r} in README.md"
    return match.group(1)


def test_quickstart_runs_against_moto(sts_server: StsServer, tmp_path: Path) -> None:
    script = tmp_path / "quickstart.py"
    script.write_text(code_block_after("<!-- quickstart.py -->"))
    env = {**os.environ, "AWS_ENDPOINT_URL": sts_server.endpoint}
    result = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(
        r"arn:aws:sts::123456789012:assumed-role/MyRole/botocore-session-\d+", lines[0]
    )
    assert lines[1] == "arn:aws:sts::123456789012:assumed-role/Other/qs"
    assert sts_server.count() == 2


def test_readme_setup_commands_are_what_ci_runs() -> None:
    setup = re.search(r"## Development set-up.*?```bash\n(.*?)```", README, re.DOTALL)
    assert setup
    install, test = setup.group(1).strip().splitlines()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 -m venv .venv" in install
    assert ".venv/bin/python -m pip install" in install
    assert "-e '.[dev]'" in install and "-e '.[dev]'" in ci
    assert test in ci.splitlines()
