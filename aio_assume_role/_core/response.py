"""What STS sends back: shape checks, redaction, dict-like cache entries (pure).

Both come from outside: a middlebox may answer 200 with a partial body, and a cache
directory is shared with other tools and other processes. Before a response is
cached or its credentials are handed to botocore's signer, every field the signer
and the refresh logic read must be there with the right type; otherwise
``MalformedResponseError`` names the role and the field, never a value.
``safe_error`` is the one point where an exception leaving a fetch is made safe to show.
"""

from __future__ import annotations

import datetime
import logging
import re
import traceback
from collections.abc import Mapping
from contextlib import AbstractContextManager
from contextvars import ContextVar
from copy import deepcopy
from typing import Any

import botocore.utils
from botocore.exceptions import BotoCoreError
from botocore.exceptions import NoRegionError as BotocoreNoRegionError

from ..errors import AssumeRoleError, MalformedResponseError, NoRegionError
from . import compat
from .windows import from_iso_format, parse_expiry

__all__ = ["assumed_role_mismatch", "credential_metadata"]


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
    """The dict botocore's ``CachedCredentialFetcher`` builds (``expiry_time`` an aware
    datetime), plus ``source``, once the response's shape is checked.

    Raises ``MalformedResponseError`` naming the first field that is missing or ill-typed.
    """

    def malformed(field: str, problem: str) -> MalformedResponseError:
        return MalformedResponseError(role_arn=role_arn, field=field, problem=problem)

    # A dict first: what botocore parses (checking the Mapping ABC is much slower).
    if type(response) is not dict and not isinstance(response, Mapping):
        raise malformed("response", f"is not an object (got {_type_name(response)})")
    if "Credentials" not in response:
        raise malformed("Credentials", "is missing")
    credentials = response["Credentials"]
    if type(credentials) is not dict and not isinstance(credentials, Mapping):
        raise malformed("Credentials", f"is not an object (got {_type_name(credentials)})")
    for name in _SECRET_FIELDS:
        value = credentials.get(name)
        if type(value) is str and value:
            continue  # the usual case
        if name not in credentials:
            raise malformed(f"Credentials.{name}", "is missing")
        if not isinstance(value, str):
            raise malformed(f"Credentials.{name}", f"is not a string (got {_type_name(value)})")
        if not value:
            raise malformed(f"Credentials.{name}", "is empty")
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


_GENERATED_SESSION_NAME = re.compile(r"botocore-session-\d+", re.ASCII)


def assumed_role_mismatch(
    response: object, *, role_arn: str, session_name: str | None
) -> str | None:
    """What keeps a cached response from being the session this request asks for, or None.

    The response's ``AssumedRoleUser.Arn`` (``arn:<partition>:sts::<account>:assumed-role/
    <role name>/<session name>``) must name the partition, account and role name of
    ``role_arn`` (the role name in any case, as IAM's names are unique regardless of
    case) and the session name: ``session_name``, or for None (a name generated per
    session, left out of the cache key) any name botocore generates. The answer names
    the part that differs, never a value: the entry came from outside.
    """
    user = response.get("AssumedRoleUser") if isinstance(response, Mapping) else None
    arn = user.get("Arn") if isinstance(user, Mapping) else None
    if not isinstance(arn, str):
        return "it has no AssumedRoleUser.Arn"
    parts = arn.split(":", 5)
    resource = parts[5].split("/") if len(parts) == 6 else []
    if len(resource) != 3 or parts[2] != "sts" or resource[0] != "assumed-role":
        return "its AssumedRoleUser.Arn is not an assumed-role session's ARN"
    wanted = role_arn.split(":", 5)
    if parts[1] != wanted[1]:
        return "its AssumedRoleUser.Arn names another partition"
    if parts[4] != wanted[4]:
        return "its AssumedRoleUser.Arn names another account"
    if resource[1].lower() != wanted[5].rsplit("/", 1)[-1].lower():
        return "its AssumedRoleUser.Arn names another role"
    if session_name is None:
        if not _GENERATED_SESSION_NAME.fullmatch(resource[2]):
            return "its AssumedRoleUser.Arn names another session"
    elif resource[2] != session_name:
        return "its AssumedRoleUser.Arn names another session"
    return None


def _zoned_time(value: object) -> datetime.datetime | None:
    """``value`` as an aware datetime if it is a zoned ISO-8601 time (or datetime); else None."""
    if isinstance(value, datetime.datetime):
        if value.utcoffset() is None:
            return None
        try:
            return parse_expiry(value)  # in UTC, as every expiry is compared
        except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00: past year 9999 in UTC
            return None
    if not isinstance(value, str) or not _ISO_8601.fullmatch(value):
        return None
    try:
        return parse_expiry(value)
    except (ValueError, OverflowError):  # e.g. February 30th
        return None


def sts_timestamp(value: Any) -> Any:
    """The timestamp parser of the package's own STS clients (``read_sts_timestamps``).

    An ISO-8601 time with a zone (what STS sends: ``Credentials.Expiration``) is read
    by ``datetime.fromisoformat``, in UTC: 0.1 µs, against 40 µs for botocore's
    dateutil parse, which was 7 % of a raw AssumeRole call's CPU. Anything else goes to
    botocore's ``parse_timestamp``, as before: its result, and its errors (which
    ``safe_error`` reports as an unreadable ``Credentials.Expiration``).
    """
    if type(value) is str and _ISO_8601.fullmatch(value):
        parsed = from_iso_format(value)
        if parsed is not None:
            return parsed
    return botocore.utils.parse_timestamp(value)


def read_sts_timestamps(client: object) -> None:
    """Make an STS client of the package's own (never one handed to the user) parse
    timestamps with ``sts_timestamp``; where botocore does not allow it, it parses
    them its way (see ``compat.use_timestamp_parser``)."""
    compat.use_timestamp_parser(client, sts_timestamp)


def _type_name(value: object) -> str:
    # The type only: the value may be a secret.
    return type(value).__name__


# --- redaction: the one point every error leaving a fetch passes through ---

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
_PARSERS = logging.getLogger(_PARSER_LOGGER)  # the same object for the process's life


class _Redaction:
    """``credential_responses_redacted()``'s context (a class: one is entered per fetch)."""

    __slots__ = ("_token",)

    def __enter__(self) -> None:
        # Added on each use (a no-op once present) so a logging reconfiguration cannot drop it.
        _PARSERS.addFilter(_FILTER)
        self._token = _FETCHING.set(True)

    def __exit__(self, *exc_info: object) -> None:
        _FETCHING.reset(self._token)


def credential_responses_redacted() -> AbstractContextManager[None]:
    """Within this block (this task or thread only), AssumeRole bodies are not logged."""
    return _Redaction()


# A credential *value* in a body or a message: a secret field's name (XML element, JSON
# or Python key, keyword argument) followed by a value. A field's name alone is no
# secret: botocore's list of valid AssumeRole parameters names MinimumSessionTokenSize,
# and "<SessionToken></SessionToken>" holds nothing.
_SECRET_VALUE = re.compile(
    r"(?:SecretAccessKey|SessionToken|secret_key|secret_access_key|session_token)"
    r"(?:\\?[\"'])?\s*[>:=]\s*(?:\\?[\"'])?[^\s<>\"'\\,;)}\]]"
)

# The modules whose frames parse a response body: an error raised through them (a
# ValueError for an Expiration botocore cannot read, say) is about the response.
_PARSER_MODULES = frozenset({"botocore.parsers", "aiobotocore.parsers"})
_TIMESTAMP_PARSER = ("botocore.utils", "parse_timestamp")  # public: botocore.utils.parse_timestamp


def _text_of(error: BaseException) -> str:
    parts = [str(error), *(repr(arg) for arg in error.args)]
    parts.extend(repr(value) for value in vars(error).values() if isinstance(value, (str, bytes)))
    return "\n".join(parts)


def _frames(error: BaseException) -> list[tuple[str, str]]:
    """(module, function) of each frame ``error`` was raised through, outermost first."""
    frames = []
    tb = error.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        frames.append((str(tb.tb_frame.f_globals.get("__name__", "")), code.co_name))
        tb = tb.tb_next
    return frames


def _chain(error: BaseException) -> list[BaseException]:
    """``error`` and what it was raised from or while handling, each once."""
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or any(current is other for other in seen):
            continue
        seen.append(current)
        pending.extend((current.__cause__, current.__context__))
    return seen


def _unreadable_response(error: BaseException, role_arn: str) -> MalformedResponseError | None:
    """A ``MalformedResponseError`` for an error botocore's parser raised on a 200 body.

    botocore's own parser errors (``ResponseParserError``, a ``BotoCoreError``) are
    left to the secret check; this is for the others (a ``ValueError`` or a
    ``RuntimeError`` for a timestamp it cannot read), which are otherwise bare.
    """
    if isinstance(error, BotoCoreError):
        return None
    frames = _frames(error)
    if not any(module in _PARSER_MODULES for module, _ in frames):
        return None
    if _TIMESTAMP_PARSER in frames:
        # The one timestamp in an AssumeRole response.
        return MalformedResponseError(
            role_arn=role_arn,
            field="Credentials.Expiration",
            problem=f"is not a time botocore can read ({type(error).__name__})",
        )
    return MalformedResponseError(
        role_arn=role_arn,
        field="the response",
        problem=f"could not be parsed ({type(error).__name__})",
    )


def _withheld(error: BaseException, role_arn: str) -> MalformedResponseError | None:
    """A ``MalformedResponseError`` in place of ``error`` if its text (or its chain's)
    holds a credential value."""
    for link in _chain(error):
        if _SECRET_VALUE.search(_text_of(link)):
            return MalformedResponseError(
                role_arn=role_arn,
                field="the response",
                problem=(
                    f"could not be read ({type(error).__name__}; its text is withheld "
                    "because it quotes the response, which may hold credentials)"
                ),
            )
    return None


def _clear_locals(error: BaseException) -> None:
    """Clear the local variables of the finished frames ``error`` (and its chain) was
    raised through: they may hold the response (``response``, ``credentials``, a parser's
    ``body``), which a traceback with ``capture_locals=True`` would show. Frames, file
    names and line numbers stay; a frame still running (the caller's) is left as it is."""
    for link in _chain(error):
        traceback.clear_frames(link.__traceback__)


def safe_error(error: BaseException, role_arn: str) -> BaseException:
    """``error`` made safe to show, log or capture: the error every fetch failure becomes.

    - A 200 whose body botocore's parser could not read (a ``ValueError`` or
      ``RuntimeError`` from its timestamp parser, say) becomes a
      ``MalformedResponseError`` naming the field where known.
    - An error whose text (or its cause's or context's) quotes a credential *value*
      (a body with ``<SecretAccessKey>...``, a ``secret_key='...'``) becomes a
      ``MalformedResponseError``. A secret field's name alone (botocore's list of
      valid parameters names ``MinimumSessionTokenSize``) is no reason: a
      ``ParamValidationError`` passes as it is.
    - botocore's bare ``NoRegionError`` (the parent has no region) becomes the
      library's ``NoRegionError``, which names the role and says how to set one.
    - Any error passed on (the library's own too) has the locals of the finished
      frames of its traceback, and of its chain's, cleared.

    A replacement has no cause and no context: the original (and the body it
    quotes, and its frames) is dropped, not chained. Never raises.
    """
    replacement: BaseException | None = None
    if isinstance(error, BotocoreNoRegionError) and not isinstance(error, AssumeRoleError):
        replacement = NoRegionError(role_arn=role_arn)
    elif not isinstance(error, AssumeRoleError):
        replacement = _unreadable_response(error, role_arn) or _withheld(error, role_arn)
    if replacement is not None:
        replacement.__suppress_context__ = True
        return replacement
    _clear_locals(error)
    return error


# --- a dict-like cache's entries: copied in and out, as botocore does ---


def read_cached_response(mapping: Any, key: str) -> dict[str, Any] | None:
    """A copy of ``mapping[key]``, or None if absent (or unreadable: a KeyError)."""
    try:
        if key in mapping:
            return deepcopy(mapping[key])  # type: ignore[no-any-return]
    except KeyError:  # botocore's JSONFileCache: a corrupt or unreadable file
        pass
    return None


def store_response(mapping: Any, key: str, value: Mapping[str, Any]) -> None:
    """Store a copy of ``value`` as ``mapping[key]`` (later changes to it don't leak in)."""
    mapping[key] = deepcopy(dict(value))
