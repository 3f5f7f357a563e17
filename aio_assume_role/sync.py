"""``assume_role()`` for boto3: a drop-in for aws-assume-role-lib 2.10.

Needs the ``boto3`` extra (``pip install 'aio-assume-role[boto3]'``). Code written
for ``aws_assume_role_lib`` works with ``import aio_assume_role.sync as
aws_assume_role_lib``: same names, same signature, same semantics. The arguments go
through the same normalization and validation as the async path's.
"""

from __future__ import annotations

import datetime
import inspect
import os
from collections.abc import Mapping, Sequence
from typing import Any

try:
    import boto3
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "aio_assume_role.sync needs boto3: pip install 'aio-assume-role[boto3]'"
    ) from error
import botocore.credentials

from ._cache_adapters import is_mapping_like
from ._child_session import LightChildSession
from ._compat import boto3_child_session_class, botocore_session
from ._emitter import sync_builtin_event_hooks
from ._params import (
    AUTOMATIC_ROLE_SESSION_NAME,
    TokenCodeProvider,
    check_session,
    is_chained,
    normalize_assume_role_args,
    request_parameters,
    validate_assume_role_args,
    validate_options,
)
from ._region import apply_region_mode
from ._sync_credentials import (
    SyncAssumedRoleCredentials,
    SyncAssumeRoleFetcher,
    SyncAssumeRoleProvider,
)
from .arns import get_assumed_role_session_arn, get_role_arn
from .errors import InvalidParameterError, ParentCredentialsError
from .naming import generate_lambda_session_name

__all__ = [
    "AUTOMATIC_ROLE_SESSION_NAME",
    "JSONFileCache",
    "assume_role",
    "generate_lambda_session_name",
    "get_assumed_role_session_arn",
    "get_role_arn",
    "patch_boto3",
]


class JSONFileCache(botocore.credentials.JSONFileCache):
    """botocore's JSON file cache, with the directory required (as in aws-assume-role-lib).

    Files are ``<cache key>.json``, shared with boto3 and the AWS CLI; the directory
    is created on first write.
    """

    def __init__(self, dir_path: str | os.PathLike[str]) -> None:
        super().__init__(working_dir=os.fspath(dir_path))


def assume_role(
    session: boto3.Session,
    RoleArn: str,
    *,
    RoleSessionName: str | None = None,
    PolicyArns: Sequence[str | Mapping[str, str]] | None = None,
    Policy: str | Mapping[str, Any] | None = None,
    DurationSeconds: int | datetime.timedelta | None = None,
    Tags: Sequence[Mapping[str, str]] | Mapping[str, str] | None = None,
    TransitiveTagKeys: Sequence[str] | None = None,
    ExternalId: str | None = None,
    SerialNumber: str | None = None,
    TokenCode: str | TokenCodeProvider | None = None,
    SourceIdentity: str | None = None,
    region_name: str | bool | None = None,
    validate: bool = True,
    cache: Any = None,
    additional_kwargs: Mapping[str, Any] | None = None,
) -> boto3.Session:
    """Return a boto3 session that acts as ``RoleArn``, assumed through ``session``.

    The parameters and their meaning are those of the async ``assume_role``, except
    that ``cache`` must be dict-like (a dict, ``JSONFileCache``) and ``TokenCode``, if
    a callable, must return the code (not an awaitable). The parent's credentials are
    resolved now (``ParentCredentialsError`` if it has none); AssumeRole is called on
    first use and again before expiry, with the parent's credentials as they are then.
    The parent is available as ``assume_role_parent_session`` on the returned session.

    Raises ``InvalidParameterError`` (also a botocore ``ParamValidationError``) or
    ``ParentCredentialsError`` (also a ``NoCredentialsError``) here. At first use and
    at each refresh, the credentials raise what the async path's do (botocore's
    ``ClientError`` and ``EndpointConnectionError``, ``MFARefreshError``,
    ``ExpiredCredentialsError``, ``MalformedResponseError``, ``RefreshError``: the
    README's "Refresh, retries and failures").
    """
    check_session(
        session,
        boto3.Session,
        "a boto3 Session (boto3.Session())",
        {
            "aiobotocore.session.AioSession": "for aiobotocore, use aio_assume_role.assume_role",
            "botocore.session.Session": "wrap it as boto3.Session(botocore_session=session)",
        },
    )
    validate_options(
        region_name=region_name,
        cache=cache,
        additional_kwargs=additional_kwargs,
        cache_example="JSONFileCache(path)",
    )
    if cache is not None and not is_mapping_like(cache):
        raise InvalidParameterError(
            [
                (
                    "cache",
                    "is an async cache; the sync path needs a dict-like one "
                    "(a dict, or aio_assume_role.sync.JSONFileCache)",
                )
            ]
        )
    if inspect.iscoroutinefunction(TokenCode):
        raise InvalidParameterError(
            [("TokenCode", "is an async function; on the sync path it must return a str")]
        )
    args = normalize_assume_role_args(
        **request_parameters(locals()), additional_kwargs=additional_kwargs
    )
    parent = botocore_session(session)
    credentials = parent.get_credentials()
    if validate:
        validate_assume_role_args(RoleArn, args, chained=is_chained(session, credentials))
    if credentials is None:
        raise ParentCredentialsError(role_arn=RoleArn)

    fetcher = SyncAssumeRoleFetcher(parent, RoleArn, args, cache=cache)
    hooks = sync_builtin_event_hooks(boto3_defaults=True)
    shares_boto3_defaults = hooks is not None
    if hooks is None:  # no boto3 template here: botocore's, and boto3 registers its own
        hooks = sync_builtin_event_hooks()
    child_botocore = LightChildSession(parent, hooks)
    child_botocore.register_component(
        "credential_provider",
        botocore.credentials.CredentialResolver(
            [SyncAssumeRoleProvider(SyncAssumedRoleCredentials(fetcher))]
        ),
    )
    apply_region_mode(parent, child_botocore, region_name)
    child = boto3_child_session_class()(
        botocore_session=child_botocore, shares_boto3_defaults=shares_boto3_defaults
    )
    child.assume_role_parent_session = session
    return child


def patch_boto3() -> None:
    """Add ``boto3.Session.assume_role(RoleArn, ...)`` and ``boto3.assume_role(RoleArn, ...)``.

    Both take ``assume_role``'s arguments without the session; ``boto3.assume_role``
    uses boto3's default session (the one ``boto3.client()`` uses).
    """
    boto3.Session.assume_role = assume_role

    def default_session_assume_role(RoleArn: str, **kwargs: Any) -> boto3.Session:
        if boto3.DEFAULT_SESSION is None:  # as boto3.client() does
            boto3.setup_default_session()
        return assume_role(boto3.DEFAULT_SESSION, RoleArn, **kwargs)

    default_session_assume_role.__name__ = assume_role.__name__
    signature = inspect.signature(assume_role)
    without_session = list(signature.parameters.values())[1:]
    default_session_assume_role.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=without_session
    )
    default_session_assume_role.__doc__ = (
        "``assume_role`` through boto3's default session (see aio_assume_role.sync)."
    )
    boto3.assume_role = default_session_assume_role


if __name__ == "__main__":
    # ``python -m aio_assume_role.sync ROLE_ARN``, as ``python -m aws_assume_role_lib``.
    from ._sync_cli import main

    raise SystemExit(main())
