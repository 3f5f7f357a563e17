"""Checking the shape of an AssumeRole response, fresh from STS or from a cache (pure).

Both come from outside: a middlebox may answer 200 with a partial body, and a cache
directory is shared with other tools and other processes. Before a response is
cached or its credentials are handed to botocore's signer, every field the signer
and the refresh logic read must be there with the right type; otherwise
``MalformedResponseError`` names the role and the field, never a value.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

from ._windows import parse_expiry
from .errors import MalformedResponseError

__all__ = ["credential_metadata"]

# ISO-8601 date and time with a zone: what STS sends, what botocore's JSONFileCache
# (and so the AWS CLI) writes ("...T04:05:06UTC"), and what datetime.isoformat() gives.
# dateutil alone would also take "5" or "tomorrow 3pm" as a time.
_ISO_8601 = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|UTC|GMT|[+-]\d{2}:?\d{2})",
    re.ASCII,
)

_SECRET_FIELDS = ("AccessKeyId", "SecretAccessKey", "SessionToken")


def credential_metadata(
    response: object, *, role_arn: str, source: str | None = None
) -> dict[str, Any]:
    """Return the credential metadata the refresh engine takes in.

    The dict botocore's ``CachedCredentialFetcher`` builds (``access_key``,
    ``secret_key``, ``token``, ``expiry_time`` (here an aware datetime),
    ``account_id``) plus ``source`` (``"cache"`` or ``"sts"``), after
    checking the response's shape: ``Credentials`` an object whose AccessKeyId,
    SecretAccessKey and SessionToken are non-empty strings, Expiration an ISO-8601
    time with a zone (a string) or a datetime with a zone, AccountId (optional) a
    string. Raises ``MalformedResponseError`` otherwise.
    """

    def malformed(field: str, problem: str) -> MalformedResponseError:
        return MalformedResponseError(role_arn=role_arn, field=field, problem=problem)

    if not isinstance(response, Mapping):
        raise malformed("response", f"is not an object (got {_type_name(response)})")
    if "Credentials" not in response:
        raise malformed("Credentials", "is missing")
    credentials = response["Credentials"]
    if not isinstance(credentials, Mapping):
        raise malformed("Credentials", f"is not an object (got {_type_name(credentials)})")
    for name in _SECRET_FIELDS:
        field = f"Credentials.{name}"
        if name not in credentials:
            raise malformed(field, "is missing")
        value = credentials[name]
        if not isinstance(value, str):
            raise malformed(field, f"is not a string (got {_type_name(value)})")
        if not value:
            raise malformed(field, "is empty")
    if "Expiration" not in credentials:
        raise malformed("Credentials.Expiration", "is missing")
    expiration = _zoned_time(credentials["Expiration"])
    if expiration is None:
        raise malformed(
            "Credentials.Expiration",
            "is not an ISO-8601 time with a time zone "
            f"(got {_type_name(credentials['Expiration'])})",
        )
    account_id = credentials.get("AccountId")
    if account_id is not None and not isinstance(account_id, str):
        raise malformed("Credentials.AccountId", f"is not a string (got {_type_name(account_id)})")
    return {
        "access_key": credentials["AccessKeyId"],
        "secret_key": credentials["SecretAccessKey"],
        "token": credentials["SessionToken"],
        "expiry_time": expiration,
        "account_id": account_id,
        "source": source,
    }


def _zoned_time(value: object) -> datetime.datetime | None:
    """``value`` as an aware datetime if it is a zoned ISO-8601 time (or datetime); else None."""
    if isinstance(value, datetime.datetime):
        return value if value.utcoffset() is not None else None
    if not isinstance(value, str) or not _ISO_8601.fullmatch(value):
        return None
    try:
        return parse_expiry(value)
    except (ValueError, OverflowError):  # e.g. February 30th
        return None


def _type_name(value: object) -> str:
    # The type only: the value may be a secret.
    return type(value).__name__
