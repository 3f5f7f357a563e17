"""The AssumeRole parameters: the one table, and their normalization (pure, light).

Standard library only: the command line's cache hit (``cli``) parses its options,
normalizes them and finds the cache entry (``_core.cache_key``) with these alone, in a
process that never imports botocore. The validation against botocore's STS model is
``_core.request``'s.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import types
from collections.abc import Callable, Mapping
from copy import deepcopy
from typing import Any

# Re-exported: the command line's cache hit has always found the key here.
from .cache_key import request_cache_key

__all__ = [
    "AUTOMATIC_ROLE_SESSION_NAME",
    "REQUEST_PARAMETERS",
    "REQUEST_PARAMETER_SPECS",
    "RequestParameter",
    "normalize_assume_role_args",
    "request_cache_key",
    "request_parameters",
]


#: Pass as ``RoleSessionName`` to have a name generated even when ``SourceIdentity``
#: is given (it would otherwise be used as the session name). Contains characters
#: that are invalid in a session name, so it can never be a real one.
AUTOMATIC_ROLE_SESSION_NAME = "AUTOMATIC_ROLE_SESSION_NAME_!#$%^&*()"


def _same(value: Any) -> Any:
    return value


def _policy_arns(value: Any) -> Any:
    # ARN strings become {"arn": ...} descriptors; other types are left for validation.
    if value and isinstance(value, (list, tuple)):
        return [{"arn": item} if isinstance(item, str) else item for item in value]
    return value


def _policy(value: Any) -> Any:
    if isinstance(value, Mapping):
        # An unserializable mapping (NaN and infinities included: they are not JSON,
        # and STS refuses them) is left as it is, for validation to report.
        with contextlib.suppress(TypeError, ValueError):
            return json.dumps(value, allow_nan=False)
    return value


def _duration(value: Any) -> Any:
    if isinstance(value, datetime.timedelta):
        return int(value.total_seconds())
    return value


def _tags(value: Any) -> Any:
    if isinstance(value, Mapping):
        return [{"Key": key, "Value": item} for key, item in value.items()]
    return value


@dataclasses.dataclass(frozen=True)
class RequestParameter:
    """One AssumeRole parameter ``assume_role`` takes by name.

    ``normalize`` turns an accepted value into the API's (and passes anything else
    through, for validation to report); ``cli`` is the command line's value kind
    (``cli.py`` maps it to a parser), ``metavar`` and ``help``.
    """

    normalize: Callable[[Any], Any] = _same
    cli: str = "str"
    metavar: str | None = None
    help: str | None = None


#: The AssumeRole parameters ``assume_role`` takes by name, in aws-assume-role-lib's
#: order: the one table the normalization, both front ends' calls and the command line
#: read. Adding a parameter is an entry here plus the two explicit public signatures
#: (``session.assume_role``, ``sync.assume_role``; tests/test_params.py checks them).
REQUEST_PARAMETER_SPECS: Mapping[str, RequestParameter] = types.MappingProxyType(
    {
        "RoleSessionName": RequestParameter(metavar="NAME"),
        "PolicyArns": RequestParameter(_policy_arns, "arns", "ARNS", "Arn1,Arn2 or JSON"),
        "Policy": RequestParameter(_policy, "json", "JSON", "a JSON object"),
        "DurationSeconds": RequestParameter(_duration, "int", "N"),
        "Tags": RequestParameter(_tags, "tags", "TAGS", "K=V,K2=V2 or JSON"),
        "TransitiveTagKeys": RequestParameter(
            cli="list", metavar="KEYS", help="K1,K2 or a JSON list"
        ),
        "ExternalId": RequestParameter(metavar="ID"),
        "SerialNumber": RequestParameter(metavar="MFA_ARN"),
        "TokenCode": RequestParameter(metavar="CODE"),
        "SourceIdentity": RequestParameter(metavar="IDENTITY"),
    }
)

#: The names of ``REQUEST_PARAMETER_SPECS``, in order.
REQUEST_PARAMETERS = tuple(REQUEST_PARAMETER_SPECS)


def request_parameters(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The AssumeRole parameters among a front end's arguments (its ``locals()``).

    A front end whose signature lacks a parameter of the table fails here (KeyError).
    """
    return {name: arguments[name] for name in REQUEST_PARAMETERS}


def normalize_assume_role_args(
    *, additional_kwargs: Mapping[str, Any] | None = None, **named: Any
) -> dict[str, Any]:
    """Return the AssumeRole parameters (all but ``RoleArn``) with aws-assume-role-lib's rules.

    ``named`` are parameters of ``REQUEST_PARAMETERS`` (None meaning not given):

    - no RoleSessionName but a SourceIdentity: the SourceIdentity is the session name;
    - ``AUTOMATIC_ROLE_SESSION_NAME``: no name, so one is generated at fetch time;
    - PolicyArns given as ARN strings become ``{"arn": ...}`` descriptors;
    - a Policy mapping is serialized to JSON;
    - a ``timedelta`` DurationSeconds becomes whole seconds;
    - Tags given as a mapping ``{key: value}`` become ``[{"Key": key, "Value": value}]``;
    - ``additional_kwargs`` go in first, so named parameters win over them.

    Values of the wrong type are passed through for validation to report. The result
    shares no list or dict with the arguments (a TokenCode provider is the one given).
    Raises ``InvalidParameterError`` naming the parameter for a value nested more than
    ``MAX_NESTING`` levels deep (or holding itself), which could not be copied or
    serialized, with or without validation; ``TypeError`` for a name that is not in
    the table (a programming error).
    """
    unknown = sorted(set(named) - set(REQUEST_PARAMETER_SPECS))
    if unknown:
        raise TypeError(f"not an assume_role parameter: {', '.join(unknown)}")
    _check_depths(named, additional_kwargs)
    if not named.get("RoleSessionName") and named.get("SourceIdentity"):
        named["RoleSessionName"] = named["SourceIdentity"]
    elif named.get("RoleSessionName") == AUTOMATIC_ROLE_SESSION_NAME:
        named["RoleSessionName"] = None

    args: dict[str, Any] = dict(additional_kwargs or {})
    for name, spec in REQUEST_PARAMETER_SPECS.items():
        value = named.get(name)
        if value is not None:
            args[name] = spec.normalize(value)
    # Copied deeply (but TokenCode, which may be a provider object): a caller that
    # changes its lists or dicts afterwards does not change the requests made from them.
    token_code = args.pop("TokenCode", None)
    args = deepcopy(args)
    if token_code is not None:
        args["TokenCode"] = token_code
    return args


#: How deep lists and dicts may nest in an AssumeRole parameter (a policy document is a
#: few levels): deeper, copying or serializing it would raise ``RecursionError``.
MAX_NESTING = 100


def _nesting_exceeds(value: object, limit: int) -> bool:
    """Whether ``value``'s lists, tuples and mappings nest deeper than ``limit`` (iterative:
    the check itself cannot overflow the stack)."""
    pending: list[tuple[object, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth >= limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


def _check_depths(named: Mapping[str, Any], additional_kwargs: object) -> None:
    problems = []
    given = [(name, value) for name, value in named.items() if value is not None]
    if isinstance(additional_kwargs, Mapping):
        given.extend(
            (f"additional_kwargs.{key}", value) for key, value in additional_kwargs.items()
        )
    for name, value in given:
        if _nesting_exceeds(value, MAX_NESTING):
            problems.append(
                (name, f"is nested more than {MAX_NESTING} levels deep (or holds itself)")
            )
    if problems:
        # Imported here: this module loads no botocore (the command line's cache hits).
        from ..errors import InvalidParameterError

        raise InvalidParameterError(problems)
