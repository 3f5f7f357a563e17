"""``aio-assume-role accounts`` against the moto server: targets, outcomes, exit codes, shards.

The organization is built once per module in the moto server (root -> A, 30 accounts, 10
of them under A). Moto's Organizations state is global in the server process, so the
module resets moto (``/moto-api/reset``) before building it and after its last test.
``main`` runs in-process (stdout and stderr captured), and once as a real subprocess.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from moto_sts import StsServer
from support import DUMMY_SECRET_KEY, new_organization, reset_moto

from aio_assume_role import fanout
from aio_assume_role.fanout import FanOutProgress
from aio_assume_role.programs import accounts as accounts_cli
from aio_assume_role.programs.accounts import main
from aio_assume_role.programs.cli import main as cli_main
from aio_assume_role.targets import parse_shard, shard_of

ROLE = "Audit"
PROG = "aio-assume-role accounts"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "array-jobs"
ACCOUNTS = ["111111111111", "222222222222", "333333333333"]


@dataclass
class Org:
    management_id: str
    root_id: str
    ou_a: str
    members: list[str]  # every account but the management one, sorted
    under_a: list[str]


@pytest.fixture(scope="module")
def org(_moto_server: StsServer) -> Iterator[Org]:
    client, management_id, root_id = new_organization(_moto_server.endpoint)
    ou_a = client.create_organizational_unit(ParentId=root_id, Name="A")["OrganizationalUnit"][
        "Id"
    ]
    members, under_a = [], []
    for number in range(30):
        status = client.create_account(
            AccountName=f"account-{number}", Email=f"account-{number}@example.com"
        )
        account_id = status["CreateAccountStatus"]["AccountId"]
        members.append(account_id)
        if number < 10:
            client.move_account(
                AccountId=account_id, SourceParentId=root_id, DestinationParentId=ou_a
            )
            under_a.append(account_id)
    yield Org(management_id, root_id, ou_a, sorted(members), sorted(under_a))
    reset_moto(_moto_server.endpoint)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], list[str]]:
    """``main(args)``: the exit code, stdout lines, stderr lines."""
    code = main(["--role-name", ROLE, *args], prog=PROG)
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err.splitlines()


def json_lines(lines: list[str]) -> list[dict[str, Any]]:
    """The JSON Lines, sorted by account and region (they come in completion order)."""
    parsed = [json.loads(line) for line in lines]
    return sorted(parsed, key=lambda line: (line["account_id"], line.get("region") or ""))


def table_rows(lines: list[str]) -> dict[str, list[str]]:
    """The table's rows by account id (the header and the summary left out)."""
    return {line.split()[0]: line.split() for line in lines[1:-1]}


# --- explicit accounts ------------------------------------------------------------------


def test_accounts_all_ok_is_a_table_and_exit_0(
    sts_server: StsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, *(f"--account={a}" for a in ACCOUNTS), "--no-progress")

    assert code == 0
    assert out[0].split() == ["account", "name", "outcome", "error", "code"]
    rows = table_rows(out)
    assert sorted(rows) == ACCOUNTS
    assert all(row[1:] == ["-", "ok", "-"] for row in rows.values())
    assert out[-1] == "3 accounts: 3 ok, 0 failed"
    assert err == []
    # One AssumeRole per account, and the check itself: GetCallerIdentity through it.
    assert sts_server.count("AssumeRole") == 3
    assert sts_server.count("GetCallerIdentity") == 3
    assert {call["RoleSessionName"] for call in sts_server.calls()} == {
        accounts_cli.ROLE_SESSION_NAME
    }


def test_throttled_checks_are_paced_and_retried_not_failed(
    sts_server: StsServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # botocore itself retries nothing
    sts_server.fail_next("AssumeRole", code="Throttling", message="Rate exceeded", times=4)
    code, out, _ = run(capsys, *(f"--account={a}" for a in ACCOUNTS), "--no-progress")

    assert code == 0
    assert out[-1] == "3 accounts: 3 ok, 0 failed"
    assert sts_server.count("AssumeRole") == 3 + 4


def test_rate_none_leaves_the_checks_unpaced(
    sts_server: StsServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    sts_server.fail_next("AssumeRole", code="Throttling", message="Rate exceeded", times=1)
    code, out, _ = run(
        capsys, *(f"--account={a}" for a in ACCOUNTS), "--rate", "none", "--no-progress"
    )

    assert code == 1
    assert out[-1] == "3 accounts: 2 ok, 1 failed (assume Throttling 1)"
    assert sts_server.count("AssumeRole") == 3


def test_one_account_denied_shows_its_code_and_exits_1(
    sts_server: StsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    sts_server.fail_next(
        "AssumeRole", status=403, code="AccessDenied", message="not authorized", times=1
    )
    code, out, _ = run(capsys, *(f"--account={a}" for a in ACCOUNTS), "--no-progress")

    assert code == 1
    rows = table_rows(out)
    denied = [row for row in rows.values() if row[-1] == "AccessDenied"]
    assert len(denied) == 1
    assert denied[0][1:] == ["-", "assume", "failed", "AccessDenied"]
    assert [row[2] for row in rows.values()].count("ok") == 2
    assert out[-1] == "3 accounts: 2 ok, 1 failed (assume AccessDenied 1)"
    assert sts_server.count("AssumeRole") == 3  # AccessDenied is not retried
    assert sts_server.count("GetCallerIdentity") == 2  # no check where the role failed


def test_regions_give_one_row_per_account_and_region(
    sts_server: StsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys,
        "--account",
        ACCOUNTS[0],
        "--account",
        ACCOUNTS[1],
        "--regions",
        "us-east-1",
        "eu-west-1,us-west-2",
        "--no-progress",
    )

    assert code == 0
    assert out[0].split() == ["account", "name", "region", "outcome", "error", "code"]
    pairs = [tuple(line.split()[:3:2]) for line in out[1:-1]]
    assert pairs == [
        (account, region)
        for account in ACCOUNTS[:2]
        for region in ("eu-west-1", "us-east-1", "us-west-2")
    ]
    assert out[-1] == "2 accounts x 3 regions = 6 checks: 6 ok, 0 failed"
    assert sts_server.count("AssumeRole") == 2  # once per account, whatever the regions


def test_accounts_file_skips_comments_and_blank_lines(
    sts_server: StsServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    listing = tmp_path / "accounts.txt"
    listing.write_text(
        "# production\n"
        f"{ACCOUNTS[0]}\n"
        "\n"
        f"  {ACCOUNTS[1]}   # staging\n"
        f"{ACCOUNTS[0]}\n"  # listed twice: checked once
        "   \n"
    )
    code, out, _ = run(capsys, "--accounts-file", str(listing), "--json", "--no-progress")

    assert code == 0
    assert [line["account_id"] for line in json_lines(out)] == ACCOUNTS[:2]


def test_short_account_ids_are_zero_padded_as_the_library_pads_them(
    sts_server: StsServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # get_role_arn's rule (aws-assume-role-lib's): 123 is account 000000000123.
    listing = tmp_path / "accounts.txt"
    listing.write_text("123\n000000000123\n45\n")
    code, out, err = run(capsys, "--accounts-file", str(listing), "--json", "--no-progress")
    assert (code, err) == (0, [])
    assert [line["account_id"] for line in json_lines(out)] == ["000000000045", "000000000123"]

    sts_server.reset()
    code, out, err = run(
        capsys, "--account", "123", "--account", "45", "--ignore-account", "45", "--no-progress"
    )
    assert (code, err) == (0, [])
    assert sorted(table_rows(out)) == ["000000000123"]
    assert [call["RoleArn"] for call in sts_server.calls("AssumeRole")] == [
        f"arn:aws:iam::000000000123:role/{ROLE}"
    ]


def test_accounts_file_from_stdin(
    sts_server: StsServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{ACCOUNTS[2]}\n# done\n"))
    code, out, _ = run(capsys, "--accounts-file", "-", "--json", "--no-progress")

    assert code == 0
    assert [line["account_id"] for line in json_lines(out)] == [ACCOUNTS[2]]


def test_json_lines_hold_the_result_and_the_caller_arn(
    sts_server: StsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    sts_server.fail_next(
        "AssumeRole", status=403, code="AccessDenied", message="not authorized", times=1
    )
    code, out, err = run(capsys, *(f"--account={a}" for a in reversed(ACCOUNTS)), "--json")

    assert code == 1
    lines = json_lines(out)
    assert [line["account_id"] for line in lines] == ACCOUNTS
    failed = [line for line in lines if not line["ok"]]
    assert len(failed) == 1
    assert failed[0]["stage"] == "assume"
    assert failed[0]["error_code"] == "AccessDenied"
    assert failed[0]["error"] == "not authorized"
    for line in lines:
        if line["ok"]:
            assert line["value"] == (
                f"arn:aws:sts::{line['account_id']}:assumed-role/{ROLE}/"
                f"{accounts_cli.ROLE_SESSION_NAME}"
            )
    # Progress and summary on stderr only: stdout is nothing but JSON Lines.
    assert any("3/3 checks done, 2 ok, 1 failed" in line for line in err)
    assert err[-1].endswith("3 accounts: 2 ok, 1 failed (assume AccessDenied 1)")


def test_progress_lines_go_to_stderr_never_stdout(
    sts_server: StsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, *(f"--account={a}" for a in ACCOUNTS))

    assert code == 0
    assert err == [f"{PROG}: 3/3 checks done, 3 ok, 0 failed"]
    assert out[-1] == "3 accounts: 3 ok, 0 failed"
    assert not any("checks done" in line for line in out)


def test_progress_is_a_line_per_interval_and_one_at_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = io.StringIO()
    now = [0.0]
    monkeypatch.setattr(fanout.time, "monotonic", lambda: now[0])
    progress = accounts_cli._progress(stream, "prog")
    for done in range(1, 5):
        now[0] = 6.0 * done  # 6 s apart: a line at 12 s and at 24 s (interval 10 s)
        progress(FanOutProgress(done, 4, done, 0, 0))
    progress.close()

    assert stream.getvalue().splitlines() == [
        "prog: 2/4 checks done, 2 ok, 0 failed",
        "prog: 4/4 checks done, 4 ok, 0 failed",
    ]


def test_a_terminal_gets_a_tqdm_bar_when_tqdm_is_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bars: list[dict[str, Any]] = []

    class Bar:  # what the command uses of tqdm.tqdm
        def __init__(self, **kwargs: Any) -> None:
            self.state: dict[str, Any] = {"kwargs": kwargs, "updates": 0, "closed": False}
            bars.append(self.state)

        def set_postfix(self, counts: dict[str, int], refresh: bool) -> None:
            self.state["postfix"] = counts

        def update(self, n: int) -> None:
            self.state["updates"] += n

        def close(self) -> None:
            self.state["closed"] = True

    monkeypatch.setitem(sys.modules, "tqdm", types.SimpleNamespace(tqdm=Bar))

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    progress = accounts_cli._progress(stream, "prog")
    for done in range(1, 4):
        progress(FanOutProgress(done, 3, done - 1, 1, 0))
    progress.close()

    assert len(bars) == 1
    assert bars[0]["kwargs"] == {"total": 3, "file": stream, "desc": "prog", "unit": "check"}
    assert bars[0]["updates"] == 3
    assert bars[0]["postfix"] == {"ok": 2, "failed": 1}
    assert bars[0]["closed"]
    assert stream.getvalue() == ""  # no text lines besides the bar


def test_without_a_terminal_there_is_no_bar_even_with_tqdm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", types.SimpleNamespace(tqdm=None))
    assert accounts_cli._progress(io.StringIO(), "prog").tqdm is None


# --- an organization ----------------------------------------------------------------------


def test_org_checks_every_member_but_the_management_account(
    org: Org, sts_server: StsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "--org", "--json", "--no-progress")

    assert code == 0
    assert err == []  # --json --no-progress: stdout is the whole output
    lines = json_lines(out)
    assert [line["account_id"] for line in lines] == org.members
    assert all(line["ok"] and line["account_name"].startswith("account-") for line in lines)


def test_org_table_has_the_names(
    org: Org, sts_server: StsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys,
        "--org",
        "--ignore-account",
        org.members[0],
        "--include-management-account",
        "--no-progress",
    )

    assert code == 0
    rows = table_rows(out)
    assert sorted(rows) == sorted([*org.members[1:], org.management_id])
    assert rows[org.members[1]][1].startswith("account-")
    assert out[-1] == f"{len(org.members)} accounts: {len(org.members)} ok, 0 failed"


def test_ou_checks_the_accounts_under_it(
    org: Org, sts_server: StsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "--ou", org.ou_a, "--json", "--no-progress")

    assert code == 0
    assert [line["account_id"] for line in json_lines(out)] == org.under_a

    code, out, _ = run(
        capsys, "--ou", org.root_id, "--ignore-ou", org.ou_a, "--json", "--no-progress"
    )
    assert code == 0
    assert [line["account_id"] for line in json_lines(out)] == sorted(
        set(org.members) - set(org.under_a)
    )


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_shards_partition_the_accounts_and_concatenate_into_the_whole_run(
    org: Org, sts_server: StsServer, capsys: pytest.CaptureFixture[str], count: int
) -> None:
    arguments = ["--org", "--regions", "us-east-1", "eu-west-1", "--json", "--no-progress"]
    code, whole, _ = run(capsys, *arguments)
    assert code == 0
    assert len(whole) == 2 * len(org.members)

    shards: list[list[str]] = []
    for index in range(count):
        code, lines, _ = run(capsys, *arguments, "--shard", f"{index}/{count}")
        assert code == 0
        shards.append(lines)

    assert sorted(line for lines in shards for line in lines) == sorted(whole)
    accounts_by_shard = [{json.loads(line)["account_id"] for line in lines} for lines in shards]
    for index, accounts in enumerate(accounts_by_shard):
        assert all(shard_of(account, count) == index for account in accounts)
        for other in accounts_by_shard[index + 1 :]:
            assert accounts.isdisjoint(other)
    if count > 1:  # 30 accounts: every shard has some (the hash spreads them)
        assert all(accounts_by_shard)


def test_shard_index_from_the_indexed_job_environment(
    org: Org,
    sts_server: StsServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JOB_COMPLETION_INDEX", "3")
    code, out, err = run(capsys, "--org", "--json", "--shard", "/4")

    assert code == 0
    expected = [account for account in org.members if shard_of(account, 4) == 3]
    assert [line["account_id"] for line in json_lines(out)] == expected
    assert "(shard 3/4)" in err[-1]


def test_shard_from_aio_assume_role_shard_when_no_option(
    sts_server: StsServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIO_ASSUME_ROLE_SHARD", "/2")
    monkeypatch.setenv("AWS_BATCH_JOB_ARRAY_INDEX", "1")
    ids = [f"{number:012d}" for number in range(1, 21)]
    code, out, _ = run(capsys, *(f"--account={a}" for a in ids), "--json", "--no-progress")

    assert code == 0
    assert [line["account_id"] for line in json_lines(out)] == [
        account for account in ids if shard_of(account, 2) == 1
    ]


# --- failures: exit codes, one line ----------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--org", "--account", ACCOUNTS[0]], "--account"),
        (["--ou", "ou-ab12-cdefgh34", "--org"], "--org"),
        ([], "--org --ou --accounts-file --account"),
        (["--account", ACCOUNTS[0], "--shard", "5/3"], "--shard"),
        (["--account", ACCOUNTS[0], "--shard", "x/3"], "--shard"),
        (["--account", ACCOUNTS[0], "--shard", "/3"], "--shard"),  # no index in the environment
        (["--account", "1234567890123"], "--account"),  # 13 digits: no account id
        (["--account", "12a45"], "--account"),
        (["--account", ACCOUNTS[0], "--ignore-account", "x"], "--ignore-account"),
        (["--account", ACCOUNTS[0], "--region", "eu-wst-1"], "--region"),
        (["--account", ACCOUNTS[0], "--region", "us east"], "--region"),
        (["--account", ACCOUNTS[0], "--region", "us-east-1\n"], "--region"),
        (["--account", ACCOUNTS[0], "--regions", "eu-wst-1"], "--regions"),
        (["--account", ACCOUNTS[0], "--regions", "us-east-1\n"], "--regions"),
        (["--account", ACCOUNTS[0], "--regions", "us-east-1,eu-wst-1"], "--regions"),
        (["--account", ACCOUNTS[0], "--ignore-ou", "ou-ab12-cdefgh34"], "--ignore-ou"),
        (["--ou", "not-an-ou"], "--ou"),
        (["--account", ACCOUNTS[0], "--concurrency", "0"], "--concurrency"),
        (["--account", ACCOUNTS[0], "--rate", "0"], "--rate"),
        (["--account", ACCOUNTS[0], "--rate", "-5"], "--rate"),
        (["--account", ACCOUNTS[0], "--rate", "fast"], "--rate"),
        (["--account", ACCOUNTS[0], "--rate", "nan"], "--rate"),
        (["--account", ACCOUNTS[0], "--regions", "not a region"], "--regions"),
        (["--account", ACCOUNTS[0], "--partition", "aws cn"], "--partition"),
    ],
)
def test_bad_arguments_exit_2_with_one_line_naming_the_option(
    sts_server: StsServer, capsys: pytest.CaptureFixture[str], args: list[str], named: str
) -> None:
    try:
        code = main(["--role-name", ROLE, *args])
    except SystemExit as exit:  # argparse's own errors
        code = int(exit.code or 0)
    err = capsys.readouterr().err.splitlines()

    assert code == 2
    error_lines = [line for line in err if ": error: " in line]
    assert len(error_lines) == 1
    assert named in error_lines[0]
    assert "Traceback" not in "\n".join(err)
    assert sts_server.count("AssumeRole") == 0


def test_accounts_file_errors_name_the_file_and_line(
    sts_server: StsServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    listing = tmp_path / "accounts.txt"
    listing.write_text(f"{ACCOUNTS[0]}\n# fine\n1234567890123\n")
    code, _, err = run(capsys, "--accounts-file", str(listing))
    assert code == 2
    assert err[-1].startswith(f"{PROG}: error: --accounts-file '{listing}' line 3: ")
    assert "at most 12 digits" in err[-1]

    code, _, err = run(capsys, "--accounts-file", str(tmp_path / "missing.txt"))
    assert code == 2
    assert "--accounts-file: cannot read" in err[-1]
    assert "No such file or directory" in err[-1]


def test_organizations_not_in_use_exits_4_with_one_line(
    sts_server: StsServer, capsys: pytest.CaptureFixture[str], aws_env: Path
) -> None:
    # A parent in an account with no organization: a profile that assumes a role there.
    (aws_env / "aws_config").write_text(
        "[default]\n"
        "[profile outside]\n"
        "role_arn = arn:aws:iam::999999999999:role/Outside\n"
        "credential_source = Environment\n"
    )
    code, out, err = run(capsys, "--org", "--profile", "outside")

    assert code == 4
    assert out == []
    assert len(err) == 1
    assert "AWSOrganizationsNotInUseException" in err[0]
    assert DUMMY_SECRET_KEY not in err[0]
    assert sts_server.count("AssumeRole") == 1  # the profile's own, none for the targets


def test_no_parent_credentials_exit_3(
    sts_server: StsServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code, out, err = run(capsys, "--account", ACCOUNTS[0])

    assert code == 3
    assert out == []
    assert len(err) == 1
    assert "no parent credentials" in err[0]


def test_unknown_profile_exit_3(sts_server: StsServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--account", ACCOUNTS[0], "--profile", "nope")

    assert code == 3
    assert len(err) == 1
    assert "nope" in err[0]


def test_no_accounts_to_check_is_exit_0(
    sts_server: StsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "--account", ACCOUNTS[0], "--ignore-account", ACCOUNTS[0], "--no-progress"
    )
    assert code == 0
    assert out[-1] == "0 accounts: 0 ok, 0 failed"


# --- the console wiring -------------------------------------------------------------------------


def test_the_main_command_dispatches_to_accounts(
    sts_server: StsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli_main(["accounts", "--role-name", ROLE, "--account", ACCOUNTS[0], "--json"])
    captured = capsys.readouterr()
    assert code == 0
    assert json.loads(captured.out)["account_id"] == ACCOUNTS[0]


def test_runs_as_a_real_subprocess(sts_server: StsServer) -> None:
    sts_server.fail_next(
        "AssumeRole", status=403, code="AccessDenied", message="not authorized", times=1
    )
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "aio_assume_role",
            "accounts",
            "--role-name",
            ROLE,
            *(f"--account={a}" for a in ACCOUNTS),
            "--json",
        ],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert completed.returncode == 1, completed.stderr
    lines = json_lines(completed.stdout.splitlines())  # stdout: JSON Lines only
    assert [line["account_id"] for line in lines] == ACCOUNTS
    assert [line["error_code"] for line in lines].count("AccessDenied") == 1
    err = completed.stderr.splitlines()
    assert err == [
        "python -m aio_assume_role accounts: 3/3 checks done, 2 ok, 1 failed",
        "python -m aio_assume_role accounts: 3 accounts: 2 ok, 1 failed (assume AccessDenied 1)",
    ]


# --- the array-job examples -------------------------------------------------------------------


def _accepted(command: list[str]) -> Any:
    """The options of an example's command line, parsed by the command's own parser."""
    assert command[:2] == ["aio-assume-role", "accounts"]
    return accounts_cli.build_parser().parse_args(command[2:])


def test_the_indexed_job_example_runs_one_shard_per_completion_index() -> None:
    yaml = pytest.importorskip("yaml")
    documents = list(yaml.safe_load_all((EXAMPLES / "k8s-indexed-job.yaml").read_text()))
    job = next(document for document in documents if document["kind"] == "Job")
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"] == 8
    container = spec["template"]["spec"]["containers"][0]
    options = _accepted([*container["command"], *container["args"]])
    assert options.org and options.json and options.no_progress
    # Each completion index gets its own shard of 8.
    for index in range(8):
        environ = {"JOB_COMPLETION_INDEX": str(index)}
        assert parse_shard(options.shard, environ) == (index, 8)
    # The failure policy's exit code is the command's "some checks failed".
    rule = spec["podFailurePolicy"]["rules"][0]
    assert rule["onExitCodes"]["values"] == [accounts_cli.EXIT_SOME_FAILED]
    assert rule["onExitCodes"]["containerName"] == container["name"]
    service_account = next(d for d in documents if d["kind"] == "ServiceAccount")
    assert spec["template"]["spec"]["serviceAccountName"] == service_account["metadata"]["name"]


def test_the_batch_example_runs_one_shard_per_array_index() -> None:
    definition = json.loads((EXAMPLES / "aws-batch-job-definition.json").read_text())
    submit = json.loads((EXAMPLES / "aws-batch-submit-job.json").read_text())
    options = _accepted(definition["containerProperties"]["command"])
    size = submit["arrayProperties"]["size"]
    assert size == 8
    assert submit["jobDefinition"] == definition["jobDefinitionName"]
    for index in range(size):
        environ = {"AWS_BATCH_JOB_ARRAY_INDEX": str(index)}
        assert parse_shard(options.shard, environ) == (index, size)
    exits = definition["retryStrategy"]["evaluateOnExit"]
    assert exits[0] == {"onExitCode": str(accounts_cli.EXIT_SOME_FAILED), "action": "EXIT"}


def test_the_examples_readme_names_every_file() -> None:
    readme = (EXAMPLES / "README.md").read_text()
    for path in EXAMPLES.iterdir():
        if path.name != "README.md":
            assert f"`{path.name}`" in readme
