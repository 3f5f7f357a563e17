"""``aio-assume-role demo``: run as a real process against its embedded moto endpoint.

The demo is run once (40 accounts) with HOME pointing at a poisoned ``~/.aws`` and
poisoned AWS_* variables, and every step's numbers are read back from its output.
Real-AWS mode is tested for its argument handling only (it never calls AWS here).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from moto_sts import StsServer
from support import DUMMY_ACCESS_KEY, DUMMY_SECRET_KEY

from aio_assume_role.programs import cli, demo

ACCOUNTS = 40
MISSING = max(2, ACCOUNTS // 60)  # accounts left without the Audit role (see step0_setup)
REGIONS = 2  # the default: us-east-1, eu-west-1
ROOT = Path(__file__).resolve().parent.parent

# Installed in every Python process of the run (the demo and its step-3 children), it
# records each file opened and each directory listed under $HOME/.aws.
SITECUSTOMIZE = """\
import os, sys

_aws = os.path.join(os.path.expanduser("~"), ".aws")
_log = os.environ["DEMO_TEST_AWS_ACCESS_LOG"]


def _hook(event, args):
    if event in ("open", "os.listdir", "os.scandir") and args and args[0] is not None:
        path = args[0]
        if isinstance(path, (str, bytes, os.PathLike)) and not isinstance(path, int):
            path = os.fsdecode(path)
            if path.startswith(_aws):
                with open(_log, "a") as file:
                    file.write(f"{os.getpid()} {event} {path}\\n")


sys.addaudithook(_hook)
"""


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    home: Path
    access_log: Path


def _poisoned_home(home: Path) -> None:
    """A ~/.aws whose use would show: a credential_process leaving a marker, wrong keys,
    a bogus region, and an STS model that is not JSON."""
    aws = home / ".aws"
    (aws / "models" / "sts" / "2011-06-15").mkdir(parents=True)
    (aws / "models" / "sts" / "2011-06-15" / "service-2.json").write_text("{not json")
    marker = home / "CREDENTIAL_PROCESS_RAN"
    (aws / "config").write_text(
        "[default]\n"
        f"credential_process = /bin/sh -c 'touch {marker}; exit 1'\n"
        "region = xx-poison-1\n"
        "[profile poisoned]\n"
        f"credential_process = /bin/sh -c 'touch {marker}; exit 1'\n"
    )
    (aws / "credentials").write_text(
        "[default]\naws_access_key_id = AKIAPOISONEDPOISONED\naws_secret_access_key = poison\n"
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    home = tmp_path_factory.mktemp("home")
    _poisoned_home(home)
    site = tmp_path_factory.mktemp("site")
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    access_log = home.parent / "aws-access.log"
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "PYTHON"))
    }
    env.update(
        HOME=str(home),
        PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]),
        DEMO_TEST_AWS_ACCESS_LOG=str(access_log),
        AWS_PROFILE="poisoned",
        AWS_ACCESS_KEY_ID="AKIAPOISONEDPOISONED",
        AWS_SECRET_ACCESS_KEY="poison",
        AWS_CONFIG_FILE=str(home / ".aws" / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / ".aws" / "credentials"),
        AWS_ENDPOINT_URL="http://127.0.0.1:9",  # discard: nothing listens
        AWS_DEFAULT_REGION="xx-poison-1",
    )
    completed = subprocess.run(
        [sys.executable, "-m", "aio_assume_role", "demo", "--accounts", str(ACCOUNTS)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=home,
    )
    return Run(completed.returncode, completed.stdout, completed.stderr, home, access_log)


def _section(output: str, number: str) -> str:
    """The text of step ``number`` (``"0"`` to ``"4"``), up to the next blank line."""
    match = re.search(rf"^{number}\. .*?(?=\n\n|\Z)", output, re.M | re.S)
    assert match, f"no section {number} in:\n{output}"
    return match.group(0)


def _number(pattern: str, text: str) -> int:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in:\n{text}"
    return int(match.group(1))


def test_the_demo_exits_0_with_every_section(run: Run) -> None:
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    for number in "01234":
        _section(run.stdout, number)
    assert re.search(r"^Done in [\d.]+ s: \d+ AssumeRole calls in all", run.stdout, re.M)
    assert len(run.stdout.splitlines()) < 60


def test_it_never_reads_the_users_aws_files(run: Run) -> None:
    assert run.returncode == 0, run.stderr
    assert not (run.home / "CREDENTIAL_PROCESS_RAN").exists()
    accessed = run.access_log.read_text() if run.access_log.exists() else ""
    assert accessed == ""
    assert "POISON" not in run.stdout.upper()
    assert "embedded AWS endpoint" in run.stdout


def test_set_up_creates_the_organization_with_the_library(run: Run) -> None:
    setup = _section(run.stdout, "0")
    assert f"{ACCOUNTS} accounts in 4 OUs" in setup
    assert _number(r"\((\d+) AssumeRole calls through one STS client", setup) == ACCOUNTS
    assert _number(r"role 'Audit' in (\d+) of them", setup) == ACCOUNTS - MISSING
    assert _number(r"leaving (\d+) without it", setup) == MISSING


def test_assume_and_chain_shows_each_hop(run: Run) -> None:
    chain = _section(run.stdout, "1")
    assert re.search(r"parent  arn:aws:sts::123456789012:", chain)
    hop1 = re.search(
        r"hop 1   arn:aws:sts::(\d{12}):assumed-role/OrganizationAccountAccess", chain
    )
    hop2 = re.search(r"hop 2   arn:aws:sts::(\d{12}):assumed-role/Audit/demo-hop2", chain)
    assert hop1 and hop2 and hop1.group(1) != hop2.group(1)
    assert _number(r"AssumeRole calls: (\d+), one per hop", chain) == 2
    assert _number(r"used again: (\d+) more", chain) == 0


def test_refresh_timeline_goes_through_every_window_and_rides_out_an_outage(run: Run) -> None:
    timeline = _section(run.stdout, "2")
    rows = re.findall(r"^   (t\+\d\d:\d\d)  ([a-z-]+(?:, STS down)?)\s+(.*)$", timeline, re.M)
    assert [(time, phase) for time, phase, _ in rows] == [
        ("t+00:00", "first-use"),
        ("t+05:00", "fresh"),
        ("t+11:00", "advisory, STS down"),
        ("t+12:30", "advisory, STS down"),
        ("t+14:30", "mandatory"),
        ("t+40:00", "expired"),
    ]
    served = [text for _, _, text in rows]
    assert served[0].startswith("callers waited")
    assert "all got #1: from sts, expire t+15:00" in served[0]
    # The outage: served at once, the background refresh failed, then a backoff up to
    # the last minute with no AssumeRole at all, and nobody failed.
    assert served[2].startswith("served at once") and "credentials #1" in served[2]
    assert re.search(
        r"in the background: EndpointConnectionError \(1 WARNING logged\); credentials #1 "
        r"served on, next attempt t\+14:00 \(the last minute\)",
        timeline,
    )
    assert served[3].startswith("served at once") and "credentials #1" in served[3]
    assert "backing off: no AssumeRole, nobody waits" in timeline
    assert "all got #2: from sts, expire t+29:30" in served[4]
    assert "all got #3: from sts" in served[5]
    assert _number(r"AssumeRole calls: (\d+) for 600 uses", timeline) == 4
    assert _number(r"failed uses: (\d+)", timeline) == 0
    assert "Refreshing credentials" not in run.stderr  # counted, not printed raw


def test_two_processes_share_the_file_cache_with_one_assume_role_call(run: Run) -> None:
    cache = _section(run.stdout, "3")
    first = re.search(
        r"process 1 \(pid (\d+)\): credentials from sts,\s+1 AssumeRole call,", cache
    )
    second = re.search(
        r"process 2 \(pid (\d+)\): credentials from cache, 0 AssumeRole calls", cache
    )
    assert first and second and first.group(1) != second.group(1)
    assert _number(r"AssumeRole calls across both processes: (\d+)", cache) == 1


def test_fan_out_summary_adds_up(run: Run) -> None:
    fan_out = _section(run.stdout, "4")
    match = re.search(
        r"accounts (\d+) x regions (\d+) \(us-east-1, eu-west-1\) = (\d+) units: "
        r"(\d+) ok, (\d+) failed",
        fan_out,
    )
    assert match, fan_out
    accounts, regions, units, ok, failed = map(int, match.groups())
    assert (accounts, regions) == (ACCOUNTS, REGIONS)
    assert accounts * regions == units == ok + failed
    assert failed == MISSING * REGIONS
    assert f"[{'#' * 30}] {units}/{units} units, {ok} ok, {failed} failed" in fan_out
    assert _number(r"AssumeRole calls: (\d+) \(one per account\)", fan_out) == ACCOUNTS
    failures = re.findall(r"^     (\w+) (\w+): (\d+) units in (\d+) accounts", fan_out, re.M)
    assert failures == [("work", "NoSuchEntity", str(failed), str(MISSING))]


def test_the_fan_out_says_why_accounts_without_the_role_fail_at_work_on_moto(run: Run) -> None:
    fan_out = _section(run.stdout, "4")
    note = " ".join(line.strip() for line in fan_out.splitlines() if line.startswith("   "))
    assert "moto's AssumeRole does not check that the role exists" in note
    assert "fail at IAM GetRole" in note
    assert "on AWS they fail at the assume stage (AccessDenied)" in note


def test_the_total_counts_every_assume_role_call(run: Run) -> None:
    # set-up + chain + refresh + the two processes + fan-out
    expected = ACCOUNTS + 2 + 4 + 1 + ACCOUNTS
    assert _number(r"Done in [\d.]+ s: (\d+) AssumeRole calls in all", run.stdout) == expected


# --- the command line ---------------------------------------------------------------------


def test_help_through_the_main_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["demo", "--help"], prog="aio-assume-role")
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: aio-assume-role demo ")
    for option in ("--accounts", "--profile", "--role-name", "--account", "--accounts-from-org"):
        assert option in out
    assert "--_cache-child" not in out


def test_help_as_a_process() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "aio_assume_role", "demo", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("usage: python -m aio_assume_role demo ")


def test_the_main_command_still_takes_a_role_arn(capsys: pytest.CaptureFixture[str]) -> None:
    # Not a subcommand: the usual parser, with its own error for a missing region etc.
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"], prog="aio-assume-role")
    assert exit_info.value.code == 0
    assert "Subcommands (see their --help): accounts, demo." in capsys.readouterr().out


BLOCK_MOTO = """\
import sys


class BlockMoto:
    def find_spec(self, name, path=None, target=None):
        if name == "moto" or name.startswith("moto."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, BlockMoto())
from aio_assume_role.programs.cli import main

sys.exit(main(["demo", "--accounts", "5"], prog="aio-assume-role"))
"""


def test_without_moto_one_line_says_what_to_install() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", BLOCK_MOTO], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr.splitlines() == [
        "aio-assume-role demo: the embedded AWS endpoint needs moto: "
        "pip install 'aio-assume-role[demo]'"
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--profile", "p"], "real AWS needs both --profile and --role-name"),
        (["--role-name", "R"], "real AWS needs both --profile and --role-name"),
        (["--profile", "p", "--role-name", "R"], "real AWS needs the accounts"),
        (
            ["--profile", "p", "--role-name", "R", "--account", "1234567890123"],
            "--account '1234567890123': must have at most 12 digits",
        ),
        (
            ["--profile", "p", "--role-name", "R", "--accounts-from-org", "--accounts", "9"],
            "--accounts sizes the embedded organization",
        ),
        (
            ["--profile", "p", "--role-name", "R", "--accounts-from-org", "--account", "1" * 12],
            "not allowed with argument",
        ),
        (["--account", "1" * 12], "--account and --accounts-from-org are for real AWS"),
        (["--accounts-from-org"], "--account and --accounts-from-org are for real AWS"),
        (["--accounts", "4"], "--accounts must be between 5 and 5000"),
        (["--accounts", "many"], "invalid int value"),
        (["--regions", " , "], "--regions must name at least one region"),
    ],
)
def test_bad_arguments_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        demo.main(argv, prog="aio-assume-role demo")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.startswith("usage: aio-assume-role demo")


def test_real_aws_arguments() -> None:
    _, options = demo.parse_args(
        [
            "--profile",
            "prod",
            "--role-name",
            "Audit",
            "--account",
            "111111111111",
            "--account",
            "222222222222",
            "--regions",
            "eu-west-1, eu-central-1",
        ]
    )
    assert options.real
    assert (options.profile, options.role_name) == ("prod", "Audit")
    assert options.account == ["111111111111", "222222222222"]
    assert options.regions == ["eu-west-1", "eu-central-1"]
    assert options.accounts is None
    _, options = demo.parse_args(
        ["--profile", "prod", "--role-name", "Audit", "--accounts-from-org"]
    )
    assert options.accounts_from_org and options.regions is None  # the profile's region


def test_embedded_defaults() -> None:
    _, options = demo.parse_args([])
    assert not options.real
    assert options.accounts == 300
    assert options.regions == ["us-east-1", "eu-west-1"]


def test_real_aws_without_the_profile_exits_3_before_any_call(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # aws_env's config has no such profile; the endpoint is a closed local port anyway.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    code = demo.main(
        ["--profile", "absent", "--role-name", "Audit", "--account", "111111111111"],
        prog="aio-assume-role demo",
    )
    captured = capsys.readouterr()
    assert code == 3
    assert captured.err.splitlines() == [
        "aio-assume-role demo: no parent credentials: "
        "The config profile (absent) could not be found"
    ]
    assert "embedded" not in captured.out


def test_real_aws_mode_runs_steps_1_and_4_read_only(
    aws_env: Path, sts_server: StsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # "Real AWS" here is the tests' moto server (AWS_ENDPOINT_URL): the mode's code path,
    # with a profile of dummy keys, and no embedded endpoint or set-up of its own.
    (aws_env / "aws_config").write_text("[default]\n[profile demo]\nregion = us-east-1\n")
    (aws_env / "aws_credentials").write_text(
        f"[demo]\naws_access_key_id = {DUMMY_ACCESS_KEY}\n"
        f"aws_secret_access_key = {DUMMY_SECRET_KEY}\n"
    )
    accounts = ["111111111111", "222222222222", "333333333333"]
    argv = ["--profile", "demo", "--role-name", "Reader"]
    for account in accounts:
        argv += ["--account", account]
    assert demo.main(argv, prog="aio-assume-role demo") == 0
    out = capsys.readouterr().out
    assert "embedded" not in out and "0. Set-up" not in out
    assert "2. Refresh" not in out and "3. A file cache" not in out
    assert "hop 1   arn:aws:sts::111111111111:assumed-role/Reader/demo-hop1" in out
    assert "accounts 3 x regions 1 (the profile's region) = 3 units: 3 ok, 0 failed" in out
    assert "AssumeRole calls: 3 (one per account)" in out
    assert sts_server.count("AssumeRole") == 1 + len(accounts)
    assert {call["RoleArn"] for call in sts_server.calls()} == {
        f"arn:aws:iam::{account}:role/Reader" for account in accounts
    }
    assert sts_server.count("GetCallerIdentity") == 2 + 1 + len(accounts)  # parent, hop, work


def _demo_profile(aws_env: Path, region: str | None) -> None:
    region_line = f"region = {region}\n" if region else ""
    (aws_env / "aws_config").write_text(f"[default]\n[profile demo]\n{region_line}")
    (aws_env / "aws_credentials").write_text(
        f"[demo]\naws_access_key_id = {DUMMY_ACCESS_KEY}\n"
        f"aws_secret_access_key = {DUMMY_SECRET_KEY}\n"
    )


def test_real_aws_mode_with_no_region_anywhere_exits_2(
    aws_env: Path,
    sts_server: StsServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _demo_profile(aws_env, region=None)
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    argv = ["--profile", "demo", "--role-name", "Reader", "--account", "111111111111"]
    assert demo.main(argv, prog="aio-assume-role demo") == 2
    assert capsys.readouterr().err.splitlines() == [
        "aio-assume-role demo: no region: pass --regions, "
        "or set AWS_DEFAULT_REGION (or region in the profile)"
    ]
    assert sts_server.count("AssumeRole") == 0


def test_real_aws_mode_takes_its_region_from_regions_when_the_profile_has_none(
    aws_env: Path,
    sts_server: StsServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _demo_profile(aws_env, region=None)
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    argv = ["--profile", "demo", "--role-name", "Reader", "--account", "111111111111"]
    argv += ["--regions", "eu-west-1,us-east-1"]
    assert demo.main(argv, prog="aio-assume-role demo") == 0
    out = capsys.readouterr().out
    assert "role 'Reader' in 1 account; work: GetCallerIdentity" in out
    assert "accounts 1 x regions 2 (eu-west-1, us-east-1) = 2 units: 2 ok, 0 failed" in out


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--regions", "eu-wst-1"], "--regions 'eu-wst-1'"),
        (["--regions", "us-east-1,us east"], "--regions 'us east'"),
        (["--regions", "us-east-1\n"], "--regions 'us-east-1\\n'"),
        (["--profile", "p", "--role-name", "R", "--account", "1234567890123"], "--account"),
        (["--profile", "p", "--role-name", "R", "--account", "12a"], "--account"),
    ],
)
def test_bad_regions_and_account_ids_exit_2_naming_the_option(
    capsys: pytest.CaptureFixture[str], args: list[str], named: str
) -> None:
    from aio_assume_role.programs import demo

    with pytest.raises(SystemExit) as exited:
        demo.parse_args(args, prog="aio-assume-role demo")
    assert exited.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if ": error: " in line]
    assert len(errors) == 1
    assert named in errors[0]


def test_short_account_ids_are_zero_padded_as_the_library_pads_them() -> None:
    from aio_assume_role.programs import demo

    _, options = demo.parse_args(
        ["--profile", "p", "--role-name", "R", "--account", "123", "--account", "45"]
    )
    assert options.account == ["000000000123", "000000000045"]


# --- what the demo changes in its process is restored after its run -------------------------


@pytest.mark.parametrize("fails", [False, True])
def test_the_embedded_runs_changes_to_the_process_are_restored(
    monkeypatch: pytest.MonkeyPatch, fails: bool
) -> None:
    import logging

    from botocore.loaders import Loader

    monkeypatch.setenv("AWS_PROFILE", "mine")
    environment, models = dict(os.environ), Loader.CUSTOMER_DATA_PATH
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    with contextlib.suppress(RuntimeError), demo.isolated_run() as directory:
        assert "AWS_PROFILE" not in os.environ
        assert os.environ["AWS_ACCESS_KEY_ID"] == demo.DUMMY_ACCESS_KEY
        assert Loader.CUSTOMER_DATA_PATH.startswith(directory)
        assert werkzeug.level == logging.ERROR
        os.environ["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"  # as the run sets it
        if fails:
            raise RuntimeError
    assert dict(os.environ) == environment
    assert (Loader.CUSTOMER_DATA_PATH, werkzeug.level) == (models, level)
    assert not Path(directory).exists()


async def test_the_refresh_steps_changes_are_restored() -> None:
    import datetime
    import logging

    from aiobotocore.session import AioSession

    from aio_assume_role._core import clock, refresh

    parent = AioSession()
    library_logger = logging.getLogger("aio_assume_role")
    handlers, listeners = list(library_logger.handlers), list(refresh._LISTENERS)
    config = parent.get_default_client_config()
    with demo._refresh_watch(parent, "arn:aws:iam::123456789012:role/R") as watch:
        watch[-1].advance(3600)  # the moved clock
        assert clock.now() - datetime.datetime.now(datetime.timezone.utc) > datetime.timedelta(
            minutes=59
        )
        assert parent.get_default_client_config() is not config
    assert abs(clock.now() - datetime.datetime.now(datetime.timezone.utc)).total_seconds() < 60
    assert (list(library_logger.handlers), list(refresh._LISTENERS)) == (handlers, listeners)
    assert parent.get_default_client_config() is config


def test_a_step_that_fails_is_one_line_without_the_exceptions_text(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def explode(options: object) -> int:
        raise RuntimeError("SecretAccessKey=wJalrXUtnFEMI/K7MDENG")

    monkeypatch.setattr(demo, "run_real", explode)
    argv = ["--profile", "p", "--role-name", "R", "--account", "111111111111"]
    assert demo.main(argv, prog="aio-assume-role demo") == 4
    assert capsys.readouterr().err.splitlines() == [
        "aio-assume-role demo: a step failed: RuntimeError: unexpected error "
        "(details withheld, they may contain credentials)"
    ]
