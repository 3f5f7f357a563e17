"""Self-refreshing assumed-role sessions for aiobotocore.

``assume_role(session, RoleArn, ...)`` returns an ``AioSession`` whose credentials
call AssumeRole through ``session`` on first use and again before they expire.
The boto3 counterpart lives in ``aio_assume_role.sync``.
"""

from ._params import AUTOMATIC_ROLE_SESSION_NAME
from ._refresh import RefreshEvent, RefreshListener, add_refresh_listener
from .arns import get_assumed_role_session_arn, get_role_arn, is_role_arn
from .cache import AsyncCredentialCache
from .errors import (
    AssumeRoleError,
    ExpiredCredentialsError,
    InvalidParameterError,
    MalformedResponseError,
    MFARefreshError,
    ParentCredentialsError,
    RefreshError,
)
from .fanout import AccountResult, assume_role_in_accounts
from .file_cache import AioJSONFileCache
from .naming import generate_lambda_session_name
from .patch import patch_aiobotocore
from .session import AssumedRoleSession, assume_role
from .sts_clients import SharedStsClients

__version__ = "0.1.0"

__all__ = [
    "AUTOMATIC_ROLE_SESSION_NAME",
    "AccountResult",
    "AioJSONFileCache",
    "AssumeRoleError",
    "AssumedRoleSession",
    "AsyncCredentialCache",
    "ExpiredCredentialsError",
    "InvalidParameterError",
    "MFARefreshError",
    "MalformedResponseError",
    "ParentCredentialsError",
    "RefreshError",
    "RefreshEvent",
    "RefreshListener",
    "SharedStsClients",
    "add_refresh_listener",
    "assume_role",
    "assume_role_in_accounts",
    "generate_lambda_session_name",
    "get_assumed_role_session_arn",
    "get_role_arn",
    "is_role_arn",
    "patch_aiobotocore",
]
