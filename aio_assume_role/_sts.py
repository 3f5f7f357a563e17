"""Where the fetcher gets the STS client it calls AssumeRole with."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

from aiobotocore.session import AioSession


def sts_client(parent: AioSession) -> AbstractAsyncContextManager[Any]:
    """An STS client signed with the parent's credentials as they are at call time.

    The client is created without explicit keys, so it holds the parent's
    credentials object and signs each request with its current (refreshed) value:
    role chaining works however the parent's credentials refresh.
    """
    return parent.create_client("sts")  # type: ignore[no-any-return]
