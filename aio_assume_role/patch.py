"""``patch_aiobotocore()``: ``assume_role`` as a method of aiobotocore's ``AioSession``.

The boto3 counterpart, ``patch_boto3()``, lives in ``aio_assume_role.sync``.
"""

from __future__ import annotations

from aiobotocore.session import AioSession

from .session import assume_role

__all__ = ["patch_aiobotocore"]


def patch_aiobotocore() -> None:
    """Add ``AioSession.assume_role(RoleArn, ...)``: ``assume_role`` with that session as parent.

    It takes ``assume_role``'s arguments after the session and returns an
    ``AssumedRoleSession``. Calling it again is harmless.
    """
    AioSession.assume_role = assume_role
