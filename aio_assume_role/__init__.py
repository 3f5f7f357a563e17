"""Self-refreshing assumed-role sessions for aiobotocore (and boto3).

``assume_role(session, RoleArn, ...)`` returns an ``AioSession`` whose credentials
call AssumeRole through ``session`` on first use and again before they expire.

The public API, by task:

- one role: ``assume_role``, ``AssumedRoleSession``, ``patch_aiobotocore``;
  the boto3 counterpart is ``aio_assume_role.sync`` (a drop-in for aws-assume-role-lib);
- caching: ``AioJSONFileCache`` (shared safely by processes), ``AsyncCredentialCache``;
- many accounts: ``fan_out``, ``fan_out_summary``, ``summarize``, ``FanOutResult``,
  ``FanOutSummary``, ``FanOutProgress``; targets: ``Account``, ``from_organization``,
  ``OrganizationAccounts``, ``list_organization_accounts``; ``assume_role_in_accounts``,
  ``AccountResult``; ``SharedStsClients``; ``SharedClients`` (one client per service and
  region for many assumed sessions, each call signed as its own session);
- a service acting as many tenants: ``TenantSessions`` (a bounded registry of their
  sessions and long-lived clients), ``TenantKey``, ``TenantStats``;
- observing refreshes: ``add_refresh_listener``, ``RefreshEvent``, ``RefreshListener``;
- names: ``get_role_arn``, ``get_assumed_role_session_arn``, ``is_role_arn``,
  ``generate_lambda_session_name``, ``AUTOMATIC_ROLE_SESSION_NAME``;
- errors (all ``AssumeRoleError``): ``InvalidParameterError``, ``ParentCredentialsError``,
  ``NoRegionError``, ``MFARefreshError``, ``ExpiredCredentialsError``, ``MalformedResponseError``,
  ``RefreshError``, ``RefreshTimeoutError``, ``UnboundCredentialsError``;
- testing your own code: ``aio_assume_role.testing`` (move the library's clock, pin its
  jitter, await its background refreshes).

Commands: ``aio-assume-role ROLE_ARN`` (credentials for a shell or a credential_process),
``aio-assume-role accounts`` (can a role be assumed in every account?),
``aio-assume-role demo`` (the whole story against an embedded endpoint).

The names are imported on first access (PEP 562), so that
``import aio_assume_role.sync`` does not load aiobotocore and aiohttp.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._core.parameters import AUTOMATIC_ROLE_SESSION_NAME
    from ._core.refresh import RefreshEvent, RefreshListener, add_refresh_listener
    from .arns import (
        generate_lambda_session_name,
        get_assumed_role_session_arn,
        get_role_arn,
        is_role_arn,
    )
    from .cache import AioJSONFileCache, AsyncCredentialCache
    from .errors import (
        AssumeRoleError,
        ExpiredCredentialsError,
        InvalidParameterError,
        MalformedResponseError,
        MFARefreshError,
        NoRegionError,
        ParentCredentialsError,
        RefreshError,
        RefreshTimeoutError,
        UnboundCredentialsError,
    )
    from .fanout import (
        AccountResult,
        FanOutProgress,
        FanOutResult,
        FanOutSummary,
        assume_role_in_accounts,
        fan_out,
        fan_out_summary,
        summarize,
    )
    from .session import AssumedRoleSession, assume_role, patch_aiobotocore
    from .shared_clients import SharedClients
    from .sts_clients import SharedStsClients
    from .targets import (
        Account,
        OrganizationAccounts,
        from_organization,
        list_organization_accounts,
    )
    from .tenants import TenantKey, TenantSessions, TenantStats

__version__ = "0.1.0"

# Each exported name, and the submodule that defines it.
_EXPORTS = {
    "AUTOMATIC_ROLE_SESSION_NAME": "._core.parameters",
    "Account": ".targets",
    "AccountResult": ".fanout",
    "AioJSONFileCache": ".cache",
    "AssumeRoleError": ".errors",
    "AssumedRoleSession": ".session",
    "AsyncCredentialCache": ".cache",
    "ExpiredCredentialsError": ".errors",
    "FanOutProgress": ".fanout",
    "FanOutResult": ".fanout",
    "FanOutSummary": ".fanout",
    "InvalidParameterError": ".errors",
    "MFARefreshError": ".errors",
    "MalformedResponseError": ".errors",
    "NoRegionError": ".errors",
    "OrganizationAccounts": ".targets",
    "ParentCredentialsError": ".errors",
    "RefreshError": ".errors",
    "RefreshEvent": "._core.refresh",
    "RefreshTimeoutError": ".errors",
    "RefreshListener": "._core.refresh",
    "SharedClients": ".shared_clients",
    "SharedStsClients": ".sts_clients",
    "TenantKey": ".tenants",
    "TenantSessions": ".tenants",
    "TenantStats": ".tenants",
    "UnboundCredentialsError": ".errors",
    "add_refresh_listener": "._core.refresh",
    "assume_role": ".session",
    "assume_role_in_accounts": ".fanout",
    "fan_out": ".fanout",
    "fan_out_summary": ".fanout",
    "from_organization": ".targets",
    "generate_lambda_session_name": ".arns",
    "get_assumed_role_session_arn": ".arns",
    "get_role_arn": ".arns",
    "is_role_arn": ".arns",
    "list_organization_accounts": ".targets",
    "patch_aiobotocore": ".session",
    "summarize": ".fanout",
}

__all__ = [
    "AUTOMATIC_ROLE_SESSION_NAME",
    "Account",
    "AccountResult",
    "AioJSONFileCache",
    "AssumeRoleError",
    "AssumedRoleSession",
    "AsyncCredentialCache",
    "ExpiredCredentialsError",
    "FanOutProgress",
    "FanOutResult",
    "FanOutSummary",
    "InvalidParameterError",
    "MFARefreshError",
    "MalformedResponseError",
    "NoRegionError",
    "OrganizationAccounts",
    "ParentCredentialsError",
    "RefreshError",
    "RefreshEvent",
    "RefreshListener",
    "RefreshTimeoutError",
    "SharedClients",
    "SharedStsClients",
    "TenantKey",
    "TenantSessions",
    "TenantStats",
    "UnboundCredentialsError",
    "add_refresh_listener",
    "assume_role",
    "assume_role_in_accounts",
    "fan_out",
    "fan_out_summary",
    "from_organization",
    "generate_lambda_session_name",
    "get_assumed_role_session_arn",
    "get_role_arn",
    "is_role_arn",
    "list_organization_accounts",
    "patch_aiobotocore",
    "summarize",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
