"""MFA token codes: a fixed code serves one AssumeRole call; a provider, one per call (pure)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeAlias

from ..errors import MFARefreshError

__all__ = ["TokenCodeProvider", "TokenCodes", "split_token_code"]

#: A callable that returns a fresh MFA code, sync or async; allows MFA sessions to refresh.
TokenCodeProvider: TypeAlias = Callable[[], "str | Awaitable[str]"]


def split_token_code(
    args: Mapping[str, Any],
) -> tuple[dict[str, Any], str | TokenCodeProvider | None]:
    """Return the request without TokenCode, and the TokenCode.

    TokenCode stays out of the request that the cache key is computed from (as in
    botocore, which adds it at call time), so a cached session survives a new code.
    """
    return {name: value for name, value in args.items() if name != "TokenCode"}, args.get(
        "TokenCode"
    )


class TokenCodes:
    """A fixed TokenCode serves one AssumeRole call; a provider gives a fresh code each call."""

    def __init__(self, token_code: str | TokenCodeProvider | None, *, role_arn: str) -> None:
        self._token_code = token_code
        self._role_arn = role_arn
        self._fixed_code_used = False

    def next(self) -> str | Awaitable[str] | None:
        """The code for the next call: None without MFA, possibly awaitable from a provider.

        Raises ``MFARefreshError`` when a fixed code has already been used.
        """
        token_code = self._token_code
        if token_code is None:
            return None
        if callable(token_code):
            return token_code()
        if self._fixed_code_used:
            raise MFARefreshError(role_arn=self._role_arn)
        return token_code

    def succeeded(self) -> None:
        """Record that a call succeeded with the current code (uses up a fixed one)."""
        if self._token_code is not None and not callable(self._token_code):
            self._fixed_code_used = True
