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


def run_readme_block(marker: str, sts_server: StsServer, tmp_path: Path) -> list[str]:
    script = tmp_path / "example.py"
    script.write_text(code_block_after(marker))
    env = {**os.environ, "AWS_ENDPOINT_URL": sts_server.endpoint}
    result = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_quickstart_runs_against_moto(sts_server: StsServer, tmp_path: Path) -> None:
    lines = run_readme_block("<!-- quickstart.py -->", sts_server, tmp_path)
    assert re.fullmatch(
        r"arn:aws:sts::123456789012:assumed-role/MyRole/botocore-session-\d+", lines[0]
    )
    assert lines[1] == "arn:aws:sts::123456789012:assumed-role/Other/qs"
    assert sts_server.count() == 2


def test_sync_example_runs_against_moto(sts_server: StsServer, tmp_path: Path) -> None:
    lines = run_readme_block("<!-- sync_example.py -->", sts_server, tmp_path)
    assert re.fullmatch(
        r"arn:aws:sts::123456789012:assumed-role/MyRole/botocore-session-\d+", lines[0]
    )
    assert lines[1:] == ["True", "arn:aws:sts::123456789012:assumed-role/MyRole/alice"]
    assert sts_server.count() == 2


def test_patch_example_runs_against_moto(sts_server: StsServer, tmp_path: Path) -> None:
    lines = run_readme_block("<!-- patch_example.py -->", sts_server, tmp_path)
    assert len(lines) == 2
    assert all(line.startswith("arn:aws:sts::123456789012:assumed-role/MyRole/") for line in lines)
    assert sts_server.count() == 2


def test_fanout_example_runs_against_moto(sts_server: StsServer, tmp_path: Path) -> None:
    lines = run_readme_block("<!-- fanout_example.py -->", sts_server, tmp_path)
    assert lines == [
        f"arn:aws:sts::{account}:assumed-role/Auditor/inventory"
        for account in ("111111111111", "222222222222", "333333333333")
    ]
    assert sts_server.count() == 3


def test_readme_setup_commands_are_what_ci_runs() -> None:
    setup = re.search(r"## Development set-up.*?```bash\n(.*?)```", README, re.DOTALL)
    assert setup
    install, test = setup.group(1).strip().splitlines()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 -m venv .venv" in install
    assert ".venv/bin/python -m pip install" in install
    assert "-e '.[dev]'" in install and "-e '.[dev]'" in ci
    assert test in ci.splitlines()
