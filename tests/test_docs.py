"""The README's two set-up commands are the ones CI runs, and its example runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from moto_sts import StsServer

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def setup_commands() -> list[str]:
    section = README.split("## Try it: two commands", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 1, "the set-up section has one bash block"
    return blocks[0].strip().splitlines()


def test_the_setup_is_two_commands_install_and_demo_then_tests() -> None:
    install, test = setup_commands()
    assert install.startswith(
        "python3 -m venv .venv && .venv/bin/python -m pip install -e '.[dev]'"
    )
    assert install.endswith("&& .venv/bin/aio-assume-role demo")
    assert test == ".venv/bin/python -m pytest"


def test_ci_runs_exactly_the_readme_setup_commands() -> None:
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    for command in setup_commands():
        assert command in ci_lines, f"CI does not run the README's {command!r}"


def test_the_readme_example_runs_against_moto(sts_server: StsServer, tmp_path: Path) -> None:
    block = re.search(r"```python\n(.*?)```", README, re.DOTALL)
    assert block, "the README has a python example"
    script = tmp_path / "example.py"
    script.write_text(block.group(1))
    env = {**os.environ, "AWS_ENDPOINT_URL": sts_server.endpoint}
    result = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "arn:aws:sts::123456789012:assumed-role/MyRole/" + result.stdout.strip().rsplit("/", 1)[1]
    )
    assert sts_server.count("AssumeRole") == 1
