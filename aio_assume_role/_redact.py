"""Keep AssumeRole responses, which hold the secret key, out of logs and exceptions.

botocore logs every raw response body at DEBUG (logger ``botocore.parsers``); for
AssumeRole that body contains the new SecretAccessKey and SessionToken. While one
of our fetches runs (a context variable, so only that task is affected), such a
body is replaced by a placeholder. Nothing else in botocore's logging changes.

``safe_error`` is the one point every exception leaving a fetch passes through:
one whose text may carry a credential (botocore's ``ResponseParserError`` embeds
the raw body of a truncated response) is replaced by ``MalformedResponseError``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from .errors import AssumeRoleError, MalformedResponseError

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


# What a credential looks like in a body or a message: the XML or JSON field names.
_SECRET_MARKERS = ("SecretAccessKey", "SessionToken", "secret_key")


def _text_of(error: BaseException) -> str:
    parts = [str(error), *(repr(arg) for arg in error.args)]
    parts.extend(repr(value) for value in vars(error).values() if isinstance(value, (str, bytes)))
    return "\n".join(parts)


def safe_error(error: BaseException, role_arn: str) -> BaseException:
    """``error``, or a ``MalformedResponseError`` in its place if its text may hold a secret.

    The replacement has no cause and no context: the original (and the body it
    quotes) is dropped, not chained. The library's own errors pass unchanged.
    """
    if isinstance(error, AssumeRoleError):
        return error
    chain: BaseException | None = error
    while chain is not None:
        text = _text_of(chain)
        if any(marker in text for marker in _SECRET_MARKERS):
            replacement = MalformedResponseError(
                role_arn=role_arn,
                field="the response",
                problem=(
                    f"could not be read ({type(error).__name__}; its text is withheld "
                    "because it quotes the response, which may hold credentials)"
                ),
            )
            replacement.__suppress_context__ = True
            return replacement
        chain = chain.__cause__ or chain.__context__
    return error
