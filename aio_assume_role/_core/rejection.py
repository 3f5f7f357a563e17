"""Credentials that a service rejects are replaced by themselves: invalidate, refresh, retry once.

Two handlers on every child session's events (in the shared template of builtin
handlers, so a child session costs nothing more), through botocore's public events:

- ``request-created``, after botocore's signer: if the request was signed with one of
  our credentials objects (``refresh.SERVED``, checked against the access key in the
  ``Authorization`` header), note which one in the request's context;
- ``needs-retry``: if the service answered with one of ``REJECTED_CREDENTIAL_CODES``,
  ask the credentials' state (``RefreshState.rejected``). The current key is then
  invalidated (one refresh, however many requests were rejected) and the request
  retried once, signed with the new credentials; an older key's rejection retries
  with the newer credentials and invalidates nothing; credentials fetched moments ago
  in place of rejected ones surface the error (no loop).
"""

from __future__ import annotations

import logging
from typing import Any

from . import clock as _clock
from .refresh import SERVED

__all__ = ["REJECTED_CREDENTIAL_CODES", "register_rejection_handlers"]

logger = logging.getLogger("aio_assume_role")

#: Error codes with which services reject the credentials themselves (expired, revoked,
#: unknown), not the request or a policy. Not here: ``AccessDenied`` (a policy),
#: ``SignatureDoesNotMatch`` (a signing bug), ``RequestExpired`` and
#: ``RequestTimeTooSkewed`` (the local clock; botocore's retries correct the skew).
REJECTED_CREDENTIAL_CODES = frozenset(
    {
        "AuthFailure",  # EC2
        "ExpiredToken",  # STS, S3 and most query-protocol services
        "ExpiredTokenException",  # JSON-protocol services (DynamoDB, Lambda, ...)
        "InvalidAccessKeyId",  # S3
        "InvalidClientTokenId",
        "InvalidToken",  # S3
        "TokenRefreshRequired",  # S3
        "UnrecognizedClientException",  # JSON-protocol services
    }
)

_SIGNED_BY = "aio_assume_role_signed_by"
_RETRIED = "aio_assume_role_rejection_retried"
_CREDENTIAL = "Credential="


def _signing_key(request: Any) -> str | None:
    """The access key id in a SigV4 (or SigV4a) ``Authorization`` header, if any."""
    header = request.headers.get("Authorization")
    if isinstance(header, bytes):
        header = header.decode("ascii", "replace")
    if not isinstance(header, str):
        return None
    start = header.find(_CREDENTIAL)
    if start < 0:
        return None
    start += len(_CREDENTIAL)
    end = header.find("/", start)
    return header[start:end] if end > start else None


def note_signer(request: Any = None, **_: Any) -> None:
    """``request-created`` (after signing): which of our credentials signed ``request``."""
    served = SERVED.get()
    if served is None or request is None:
        return
    context = getattr(request, "context", None)
    if isinstance(context, dict) and _signing_key(request) == served[1]:
        context[_SIGNED_BY] = served


def retry_rejected(
    response: Any = None, request_dict: Any = None, operation: Any = None, **_: Any
) -> int | None:
    """``needs-retry``: 0 (retry now) for a first rejection of our credentials, else None."""
    if response is None or not isinstance(request_dict, dict):
        return None
    parsed = response[1] if isinstance(response, tuple) and len(response) == 2 else None
    error = parsed.get("Error") if isinstance(parsed, dict) else None
    code = error.get("Code") if isinstance(error, dict) else None
    if code not in REJECTED_CREDENTIAL_CODES:
        return None
    context = request_dict.get("context")
    if not isinstance(context, dict) or context.get(_RETRIED):
        return None
    served = context.get(_SIGNED_BY)
    if served is None:
        return None
    context[_RETRIED] = True
    state, key = served
    name = getattr(operation, "name", "a request")
    if not state.rejected(key, _clock.now()):
        logger.warning(
            "%s signed with credentials for %s was rejected (%s) moments after they replaced "
            "rejected ones; not replacing them again: the caller gets the error",
            name,
            state.role_arn,
            code,
        )
        return None
    logger.info(
        "%s signed with credentials for %s was rejected (%s); retrying it once with "
        "refreshed credentials",
        name,
        state.role_arn,
        code,
    )
    return 0


def register_rejection_handlers(emitter: Any) -> None:
    """Register both handlers on a botocore (or aiobotocore) event emitter; idempotent."""
    emitter.register_last("request-created", note_signer, unique_id="aio-assume-role-signer")
    emitter.register("needs-retry", retry_rejected, unique_id="aio-assume-role-rejected")
