"""Keep AssumeRole responses, which hold the secret key, out of botocore's DEBUG log.

botocore logs every raw response body at DEBUG (logger ``botocore.parsers``); for
AssumeRole that body contains the new SecretAccessKey and SessionToken. While one
of our fetches runs (a context variable, so only that task is affected), such a
body is replaced by a placeholder. Nothing else in botocore's logging changes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

PLACEHOLDER = "<AssumeRole response with credentials, redacted by aio_assume_role>"

_FETCHING: ContextVar[bool] = ContextVar("aio_assume_role_fetching", default=False)
_PARSER_LOGGER = "botocore.parsers"  # aiobotocore's parsers log through it too


class _RedactCredentialResponses(logging.Filter):
    """Replaces a response body that carries credentials, during our fetches only."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _FETCHING.get() and record.args and _carries_secret(record.args):
            record.args = (PLACEHOLDER,)
        return True


def _carries_secret(args: object) -> bool:
    for value in args if isinstance(args, tuple) else (args,):
        if isinstance(value, str) and "SecretAccessKey" in value:
            return True
        if isinstance(value, bytes) and b"SecretAccessKey" in value:
            return True
    return False


_FILTER = _RedactCredentialResponses()


@contextmanager
def credential_responses_redacted() -> Iterator[None]:
    """Within this block (this task or thread only), AssumeRole bodies are not logged."""
    # Added on each use (a no-op once present) so a logging reconfiguration cannot drop it.
    logging.getLogger(_PARSER_LOGGER).addFilter(_FILTER)
    token = _FETCHING.set(True)
    try:
        yield
    finally:
        _FETCHING.reset(token)
