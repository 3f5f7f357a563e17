"""The command's credential_process cache (``--json``): a second run is served from the
cache, in a process that imports no botocore; only fresh entries for the requested role
and session are served; botocore's cache key; the directory and its opt-outs.
Against moto's server; the cache directory is the test's own (conftest)."""

from __future__ import annotations

import datetime
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiobotocore.session import AioSession
from moto_sts import StsServer
from support import ACCOUNT_ID, role_arn

from aio_assume_role import assume_role
from aio_assume_role._core.parameters import normalize_assume_role_args, request_cache_key
from aio_assume_role.programs import cli
from aio_assume_role.programs._credential_cache import CACHE_DIR_VARIABLE, MIN_SECONDS_LEFT

HEAVY = ("botocore", "aiobotocore", "aiohttp", "boto3", "aiofiles", "filelock", "dateutil")


def cache_dir() -> Path:
    return Path(os.environ[CACHE_DIR_VARIABLE])


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert err == ""
    return code, (json.loads(out) if out.startswith("{") else out)


def entries() -> list[Path]:
    return sorted(cache_dir().glob("*.json"))


def rewrite_entry(change: Any) -> None:
    (path,) = entries()
    entry = json.loads(path.read_text())
    change(entry)
    path.write_text(json.dumps(entry))


def run_process(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aio_assume_role", *argv],
        env=dict(os.environ) if env is None else env,
        capture_output=True,
        text=True,
        timeout=60,
    )


class TestHits:
    def test_a_second_process_is_served_from_the_cache(self, sts_server: StsServer) -> None:
        first = run_process(role_arn(), "--json")
        second = run_process(role_arn(), "--json")
        assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
        assert first.stdout == second.stdout
        assert json.loads(second.stdout)["Version"] == 1
        assert sts_server.count() == 1
        assert len(entries()) == 1

    def test_a_hit_imports_neither_botocore_nor_aiobotocore(self, sts_server: StsServer) -> None:
        assert run_process(role_arn(), "--json").returncode == 0
        script = (
            "import json, sys\n"
            "from aio_assume_role.programs.cli import main\n"
            "code = main(sys.argv[1:])\n"
            f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
            "print(json.dumps([code, heavy]), file=sys.stderr)\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", script, role_arn(), "--json"],
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert json.loads(result.stderr) == [0, []]
        assert json.loads(result.stdout)["Version"] == 1
        # The same, as the SDKs run it: `python -m aio_assume_role`, import by import.
        timed = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "aio_assume_role", role_arn(), "--json"],
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert timed.returncode == 0, timed.stderr
        imported = [line.rsplit("|", 1)[-1].strip() for line in timed.stderr.splitlines()]
        assert imported, timed.stderr
        assert not [name for name in imported if name.split(".")[0] in HEAVY]
        assert sts_server.count() == 1

    def test_help_imports_no_aiobotocore_either(self) -> None:
        script = (
            "import sys\n"
            "from aio_assume_role.programs.cli import main\n"
            "try:\n"
            "    main(['--help'])\n"
            "except SystemExit:\n"
            "    pass\n"
            "print('aiobotocore' in sys.modules, 'botocore' in sys.modules, file=sys.stderr)\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
        )
        assert result.stderr == "False False\n"
        assert "--no-cache" in result.stdout

    @pytest.mark.parametrize(
        "argv",
        [
            pytest.param([], id="generated session name"),
            pytest.param(["--RoleSessionName", "me"], id="session name"),
            pytest.param(["--SourceIdentity", "alice"], id="source identity as the name"),
            pytest.param(["--Policy", '{"Version": "2012-10-17", "Statement": []}'], id="policy"),
            pytest.param(["--Tags", "b=2,a=1", "--DurationSeconds", "1800"], id="tags"),
            pytest.param(["--additional-kwargs", '{"RoleSessionName": "kw"}'], id="kwargs"),
        ],
    )
    def test_hits_for_every_kind_of_request(
        self, sts_server: StsServer, capsys: pytest.CaptureFixture[str], argv: list[str]
    ) -> None:
        first = run_main(capsys, role_arn(), "--json", *argv)
        second = run_main(capsys, role_arn(), "--json", *argv)
        assert first == second
        assert first[0] == 0
        assert sts_server.count() == 1

    @pytest.mark.parametrize(
        "kwargs",
        [
            {},
            {"RoleSessionName": "me"},
            {"SourceIdentity": "alice"},
            {"Policy": {"Version": "2012-10-17", "Statement": []}, "DurationSeconds": 900},
            {"Tags": {"b": "2", "a": "1"}, "TransitiveTagKeys": ["a"]},
            {"additional_kwargs": {"ExternalId": "ext-id"}},
        ],
        ids=["generated name", "name", "source identity", "policy", "tags", "kwargs"],
    )
    async def test_the_key_is_the_library_fetchers(
        self, parent: AioSession, kwargs: dict[str, Any]
    ) -> None:
        """The key a hit looks for is the file the library's fetcher writes on a miss."""
        cache: dict[str, Any] = {}
        session = assume_role(parent, role_arn(), cache=cache, **kwargs)
        await session.prefetch_credentials()
        assert list(cache) == [request_cache_key(role_arn(), normalize_assume_role_args(**kwargs))]


class TestMisses:
    def test_an_entry_within_the_refresh_window_is_not_served(
        self, sts_server: StsServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        first = run_main(capsys, role_arn(), "--json")[1]
        soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
            seconds=MIN_SECONDS_LEFT - 60
        )

        def expire_soon(entry: dict[str, Any]) -> None:
            entry["Credentials"]["Expiration"] = soon.strftime("%Y-%m-%dT%H:%M:%SUTC")

        rewrite_entry(expire_soon)
        second = run_main(capsys, role_arn(), "--json")[1]
        assert second["AccessKeyId"] != first["AccessKeyId"]
        assert sts_server.count() == 2
        third = run_main(capsys, role_arn(), "--json")[1]  # the new entry replaced it
        assert third == second
        assert sts_server.count() == 2

    @pytest.mark.parametrize(
        ("argv", "arn"),
        [
            pytest.param([], "assumed-role/OtherRole/botocore-session-1", id="another role"),
            pytest.param([], f"assumed-role/{'MyRole'}/someone-else", id="not a generated name"),
            pytest.param(["--RoleSessionName", "me"], "assumed-role/MyRole/you", id="name"),
        ],
    )
    def test_an_entry_for_another_role_or_session_is_not_served(
        self,
        sts_server: StsServer,
        capsys: pytest.CaptureFixture[str],
        argv: list[str],
        arn: str,
    ) -> None:
        run_main(capsys, role_arn("MyRole"), "--json", *argv)

        def other_role(entry: dict[str, Any]) -> None:
            entry["AssumedRoleUser"]["Arn"] = f"arn:aws:sts::{ACCOUNT_ID}:{arn}"

        rewrite_entry(other_role)
        assert run_main(capsys, role_arn("MyRole"), "--json", *argv)[0] == 0
        assert sts_server.count() == 2

    def test_a_corrupt_entry_is_a_miss(
        self, sts_server: StsServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        run_main(capsys, role_arn(), "--json")
        (path,) = entries()
        path.write_text("{not json")
        code, data = run_main(capsys, role_arn(), "--json")
        assert (code, data["Version"]) == (0, 1)
        assert sts_server.count() == 2

    def test_no_cache_neither_reads_nor_writes(
        self, sts_server: StsServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        run_main(capsys, role_arn(), "--json")
        run_main(capsys, role_arn(), "--json", "--no-cache")
        assert sts_server.count() == 2
        assert len(entries()) == 1

    @pytest.mark.parametrize("flag", ["--env", "--dotenv"])
    def test_exported_credentials_are_not_cached(
        self, sts_server: StsServer, capsys: pytest.CaptureFixture[str], flag: str
    ) -> None:
        """They never refresh: each run gets the full duration from STS."""
        run_main(capsys, role_arn(), flag)
        run_main(capsys, role_arn(), flag)
        assert sts_server.count() == 2
        assert not cache_dir().exists()

    @pytest.mark.parametrize("argv", [["--no-cache"], ["--cache-dir", "/tmp/x"]])
    def test_cache_options_with_exported_credentials_are_bad_arguments(
        self, sts_server: StsServer, capsys: pytest.CaptureFixture[str], argv: list[str]
    ) -> None:
        with pytest.raises(SystemExit) as exit_info:
            cli.main([role_arn(), "--env", *argv])
        assert exit_info.value.code == 2
        assert "apply to --json output only" in capsys.readouterr().err


class TestDirectory:
    def test_cache_dir_option(
        self, sts_server: StsServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        chosen = tmp_path / "chosen"
        run_main(capsys, role_arn(), "--json", "--cache-dir", str(chosen))
        run_main(capsys, role_arn(), "--json", "--cache-dir", str(chosen))
        assert sts_server.count() == 1
        assert len(list(chosen.glob("*.json"))) == 1
        assert not cache_dir().exists()

    @pytest.mark.parametrize("xdg", [True, False], ids=["XDG_CACHE_HOME", "~/.cache"])
    def test_the_default_is_private_under_the_xdg_cache_home(
        self, sts_server: StsServer, tmp_path: Path, xdg: bool
    ) -> None:
        env = dict(os.environ)
        del env[CACHE_DIR_VARIABLE]
        home = tmp_path / "home"
        home.mkdir()
        env["HOME"] = str(home)
        base = tmp_path / "xdg" if xdg else home / ".cache"
        if xdg:
            env["XDG_CACHE_HOME"] = str(base)
        else:
            env.pop("XDG_CACHE_HOME", None)
        for _ in range(2):
            result = run_process(role_arn(), "--json", env=env)
            assert result.returncode == 0, result.stderr
        assert sts_server.count() == 1
        directory = base / "aio-assume-role" / "credential-process"
        (entry,) = directory.glob("*.json")
        for private in (directory, directory.parent, *([base] if not xdg else [])):
            assert stat.S_IMODE(private.stat().st_mode) == 0o700, private
        assert stat.S_IMODE(entry.stat().st_mode) == 0o600
