"""The boto3 path stays light: importing it loads neither aiobotocore nor aiohttp, and a
child session starts from shared templates, as the async path's does."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import boto3
import pytest
from moto_sts import StsServer

from aio_assume_role.sync import assume_role


def test_importing_the_sync_path_loads_no_aiobotocore_or_aiohttp() -> None:
    code = (
        "import sys, aio_assume_role.sync; "
        "print([m for m in ('aiobotocore', 'aiohttp', 'aiofiles', 'asyncio') if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_package_loads_its_exports_on_first_use() -> None:
    code = (
        "import sys, aio_assume_role; before = 'aiobotocore' in sys.modules; "
        "aio_assume_role.assume_role; print(before, 'aiobotocore' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "True"]


HEAVY = ("aiobotocore", "aiohttp", "aiofiles")


def _imported(*argv: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``python -X importtime -m aio_assume_role.sync ARGV``; the top-level packages
    of every module it imported (importtime's lines on stderr)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "aio_assume_role.sync", *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )
    modules = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s+(\S+)", result.stderr, re.M)
    assert modules, result.stderr
    return result, {name.split(".")[0] for name in modules}


def test_the_sync_command_line_loads_no_aiobotocore_for_help() -> None:
    result, packages = _imported("--help")
    assert result.returncode == 0
    assert "boto3" in packages  # the check sees what is imported
    assert packages.isdisjoint(HEAVY), packages & set(HEAVY)


def test_the_sync_command_line_loads_no_aiobotocore_when_it_assumes_a_role(
    sts_server: StsServer,
) -> None:
    result, packages = _imported("arn:aws:iam::123456789012:role/Light", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["AccessKeyId"]
    assert packages.isdisjoint(HEAVY), packages & set(HEAVY)


# --- what makes a sync child session cheap (test_assume_role_in_accounts: the async path) ---

ROLE_ARN = "arn:aws:iam::123456789012:role/Light"


def _child(parent: boto3.Session | None = None) -> boto3.Session:
    return assume_role(parent or boto3.Session(region_name="us-east-1"), ROLE_ARN)


def _events() -> list[str]:
    from botocore.handlers import BUILTIN_HANDLERS

    boto3_events = [
        "creating-client-class.s3",
        "creating-resource-class.s3.Bucket",
        "creating-resource-class.dynamodb.Table",
        "creating-resource-class.ec2.Instance",
    ]
    return [*sorted({spec[0] for spec in BUILTIN_HANDLERS}), *boto3_events]


def _handlers(session: boto3.Session, event: str) -> list[str]:
    handlers = session._session._original_handler._handlers.prefix_search(event)
    # boto3's lazy_call handlers are new objects per session: compare what they call.
    return [getattr(h, "__qualname__", None) or repr(getattr(h, "args", h)) for h in handlers]


def test_a_sync_child_has_the_same_handlers_as_a_fresh_boto3_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x" * 40)
    child, fresh = _child(), boto3.Session()
    ours = ("note_signer", "retry_rejected")  # the handlers replacing rejected credentials
    for event in [*_events(), "before-call.s3.PutObject", "needs-retry.sts.AssumeRole"]:
        mine = [name for name in _handlers(child, event) if name not in ours]
        assert mine == _handlers(fresh, event), event
    assert "retry_rejected" in _handlers(child, "needs-retry.s3.GetObject")
    assert _handlers(child, "creating-resource-class.ec2.Instance")  # boto3's own


def test_handlers_registered_on_a_sync_child_stay_on_that_child(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x" * 40)
    parent = boto3.Session(region_name="us-east-1")
    one, two = _child(parent), _child(parent)
    calls: list[str] = []
    one.events.register("light-test.sts", lambda **_: calls.append("1"))
    for session in (one, two, boto3.Session(region_name="us-east-1")):
        session._session.emit("light-test.sts")
    assert calls == ["1"]
    assert one._session._original_handler._handlers is not two._session._original_handler._handlers


def test_sync_children_share_the_parents_loader_without_growing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x" * 40)
    parent = boto3.Session(region_name="us-east-1")
    loader = parent._session.get_component("data_loader")
    search_paths = list(loader.search_paths)
    child = _child(parent)
    grandchild = assume_role(child, ROLE_ARN)
    for session in (child, grandchild):
        assert session._session.get_component("data_loader") is loader
        assert session._loader is loader
    assert loader.search_paths == search_paths  # boto3 would append its data path per child
    assert "s3" in child.get_available_resources()  # boto3's resource models still found


def test_a_sync_childs_config_store_is_built_only_when_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x" * 40)
    parent = boto3.Session(region_name="us-east-1")
    child = _child(parent)
    assert "config_store" in child._session._components._deferred
    assert child.region_name == "us-east-1"
    parent._session.set_config_variable("region", "eu-west-1")
    assert child.region_name == "eu-west-1"
    assert isinstance(child, boto3.Session)
    assert repr(child) == "Session(region_name='eu-west-1')"
