"""Drift guards: the public surface, and the botocore behaviour this package builds on."""

from __future__ import annotations

import datetime
import inspect

import botocore.credentials
import botocore.validate
from aiobotocore.session import get_session
from support import role_arn

import aio_assume_role
from aio_assume_role import assume_role
from aio_assume_role._core.parameters import normalize_assume_role_args


def test_all_is_sorted_and_importable() -> None:
    assert aio_assume_role.__all__ == sorted(aio_assume_role.__all__)
    for name in aio_assume_role.__all__:
        assert getattr(aio_assume_role, name) is not None


def test_package_ships_py_typed() -> None:
    from pathlib import Path

    assert (Path(aio_assume_role.__file__).parent / "py.typed").is_file()


def _parameters(function: object) -> list[tuple[str, object, object]]:
    return [
        (p.name, p.kind, p.default)
        for p in inspect.signature(function).parameters.values()  # type: ignore[arg-type]
    ]


def test_async_and_sync_assume_role_take_the_same_parameters() -> None:
    import aws_assume_role_lib

    import aio_assume_role.sync

    reference = _parameters(aws_assume_role_lib.assume_role)
    assert _parameters(aio_assume_role.assume_role) == reference
    assert _parameters(aio_assume_role.sync.assume_role) == reference


def _botocore_cache_key(role: str, extra_args: dict[str, object]) -> str:
    fetcher = botocore.credentials.AssumeRoleCredentialFetcher(
        client_creator=None,
        source_credentials=None,
        role_arn=role,
        extra_args=extra_args,
    )
    return str(fetcher._cache_key)


def test_cache_key_is_the_one_botocore_and_the_aws_cli_use() -> None:
    named = {
        "RoleSessionName": "s1",
        "Policy": {"Statement": [], "Version": "2012-10-17"},
        "PolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
        "DurationSeconds": datetime.timedelta(hours=1),
        "ExternalId": "e1",
    }
    child = assume_role(get_session(), role_arn(), **named)  # type: ignore[arg-type]
    ours = child._assumed_role_credentials.fetcher.cache_key
    assert ours == _botocore_cache_key(role_arn(), normalize_assume_role_args(**named))  # type: ignore[arg-type]


def test_generated_session_name_is_left_out_of_the_cache_key_like_botocore() -> None:
    child = assume_role(get_session(), role_arn())
    fetcher = child._assumed_role_credentials.fetcher
    assert fetcher.role_session_name.startswith("botocore-session-")
    assert fetcher.cache_key == _botocore_cache_key(role_arn(), {})


def test_token_code_is_left_out_of_the_cache_key() -> None:
    serial = "arn:aws:iam::123456789012:mfa/alice"
    one = assume_role(get_session(), role_arn(), SerialNumber=serial, TokenCode="111111")
    two = assume_role(get_session(), role_arn(), SerialNumber=serial, TokenCode="222222")
    key = one._assumed_role_credentials.fetcher.cache_key
    assert key == two._assumed_role_credentials.fetcher.cache_key
    assert key == _botocore_cache_key(role_arn(), {"SerialNumber": serial})


def test_botocore_validation_report_shape() -> None:
    # _core.request._describe reads ValidationErrors._errors as (kind, name, details) tuples.
    report = botocore.validate.ValidationErrors()
    report.report("Name", "invalid length", param="x", min_allowed=2)
    assert report._errors == [("invalid length", "Name", {"param": "x", "min_allowed": 2})]
