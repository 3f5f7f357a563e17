"""The AssumeRole request validated: its parameters, the library's options, the session (pure).

Shared by the async and sync front ends: no network, no cache, no logging; it reads
only botocore's bundled STS model (and endpoint list), once per process. Validation
goes further than botocore's ``ParamValidator``: it also checks the model's maximums
and patterns, so a too-long RoleSessionName or a DurationSeconds over 12 hours fails
at ``assume_role()`` time. Messages name the parameter and never echo a string value.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import botocore.loaders
import botocore.model
import botocore.validate

from ..arns import role_arn_problem
from ..errors import InvalidParameterError
from .compat import validation_errors  # the report's errors: a botocore internal

__all__ = [
    "CHAINED_ROLE_MAX_DURATION_SECONDS",
    "CREDENTIALS_METHOD",
    "check_chained_duration",
    "check_session",
    "is_chained",
    "region_name_problem",
    "validate_assume_role_args",
    "validate_options",
]


#: The ``method`` of this library's credentials (botocore's name for assumed-role ones).
#: Here, not with the credentials classes, so the sync path can read it without aiobotocore.
CREDENTIALS_METHOD = "assume-role"

#: AWS caps role-chained sessions (assumed with assumed-role credentials) at one hour.
CHAINED_ROLE_MAX_DURATION_SECONDS = 3600

#: AWS's documented cap on managed session policies (absent from the STS model).
MAX_POLICY_ARNS = 10

# Stands in for a session name that will be generated, or a code a provider will give.
_PLACEHOLDERS = {"RoleSessionName": "ToBeGenerated", "TokenCode": "000000"}


def validate_assume_role_args(
    role_arn: object, args: Mapping[str, Any], *, chained: bool = False
) -> None:
    """Raise ``InvalidParameterError`` naming every invalid parameter of the request.

    ``args`` is the output of ``normalize_assume_role_args``; ``chained`` says the
    parent's credentials are themselves an assumed role, which caps DurationSeconds
    at one hour.
    """
    problems: list[tuple[str, str]] = []
    arn_problem = role_arn_problem(role_arn)
    if arn_problem is not None:
        problems.append(("RoleArn", arn_problem))

    request: dict[str, Any] = {"RoleArn": role_arn}
    request.update(args)
    if "SourceIdentity" in request and request.get("RoleSessionName") is request["SourceIdentity"]:
        # The session name was copied from SourceIdentity: report problems once, there.
        request["RoleSessionName"] = _PLACEHOLDERS["RoleSessionName"]
    request.setdefault("RoleSessionName", _PLACEHOLDERS["RoleSessionName"])
    if callable(request.get("TokenCode")):
        request["TokenCode"] = _PLACEHOLDERS["TokenCode"]
    if "SerialNumber" in request and "TokenCode" not in request:
        problems.append(("TokenCode", "is required when SerialNumber is given"))

    shape = _assume_role_request_shape()
    report = botocore.validate.ParamValidator().validate(request, shape)
    model_problems = [_describe(error, request) for error in validation_errors(report)]
    _check_maxima_and_patterns(request, shape, "", model_problems)
    for name, reason in model_problems:
        if reason is None or (name == "RoleArn" and arn_problem is not None):
            continue  # said better elsewhere: the ARN's own check, or another problem
        problems.append((name, reason))
    problems.extend(_check_documented_limits(request))

    if chained:
        problems.extend(_chained_duration_problems(request))
    if problems:
        raise InvalidParameterError(_dedupe(problems))


def is_chained(session: object, credentials: object) -> bool:
    """Whether AssumeRole through ``session`` is role chaining, as far as known without I/O.

    True for a session this library returned (async or sync), or whose resolved
    credentials come from an assume-role provider (a profile with ``role_arn``).
    """
    return hasattr(session, "assume_role_parent_session") or (
        getattr(credentials, "method", None) == CREDENTIALS_METHOD
    )


def check_chained_duration(args: Mapping[str, Any]) -> None:
    """Raise ``InvalidParameterError`` if DurationSeconds exceeds AWS's role-chaining cap.

    For when the parent is found to be an assumed role only after ``assume_role()``.
    """
    problems = _chained_duration_problems(args)
    if problems:
        raise InvalidParameterError(problems)


def _chained_duration_problems(args: Mapping[str, Any]) -> list[tuple[str, str]]:
    duration = args.get("DurationSeconds")
    if (
        isinstance(duration, int)
        and not isinstance(duration, bool)
        and duration > CHAINED_ROLE_MAX_DURATION_SECONDS
    ):
        return [
            (
                "DurationSeconds",
                f"must be at most {CHAINED_ROLE_MAX_DURATION_SECONDS} when the parent session "
                f"is itself an assumed role (AWS caps role chaining at one hour), got {duration}",
            )
        ]
    return []


def _check_documented_limits(request: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Limits AWS documents for AssumeRole that its published model does not encode."""
    problems = []
    policy = request.get("Policy")
    if isinstance(policy, Mapping):
        problems.append(
            (
                "Policy",
                "must be JSON-serializable (str keys; no NaN or infinity, which STS refuses)",
            )
        )
    elif isinstance(policy, str) and policy:
        try:
            json.loads(policy, parse_constant=_no_constant)
        except RecursionError:
            problems.append(("Policy", "is nested too deep to be a policy document"))
        except ValueError as error:
            problems.append(
                ("Policy", f"must be a JSON policy document{getattr(error, 'hint', '')}")
            )
    policy_arns = request.get("PolicyArns")
    if isinstance(policy_arns, (list, tuple)) and len(policy_arns) > MAX_POLICY_ARNS:
        problems.append(
            ("PolicyArns", f"must have at most {MAX_POLICY_ARNS} items, got {len(policy_arns)}")
        )
    return problems


class _NotJSON(ValueError):
    hint = " (NaN, Infinity and -Infinity are not JSON, and STS refuses them)"


def _no_constant(name: str) -> object:
    raise _NotJSON(name)


@functools.cache
def _assume_role_request_shape() -> botocore.model.Shape:
    # Sync and loaded once: assume_role() is a plain function, and aiobotocore's
    # AioSession.get_service_model() is a coroutine.
    loader = botocore.loaders.create_loader()
    model = botocore.model.ServiceModel(loader.load_service_model("sts", "service-2"), "sts")
    return model.operation_model("AssumeRole").input_shape


def _describe(
    error: tuple[str, str, dict[str, Any]], request: Mapping[str, Any]
) -> tuple[str, str | None]:
    """Turn one botocore validation error into (parameter path, reason), without values.

    The reason is None where another check says it better.
    """
    kind, name, details = error
    name = name.lstrip(".") or "input"
    if kind == "missing required field":
        path = (
            f"{name}.{details['required_name']}" if name != "input" else details["required_name"]
        )
        return path, "is required"
    if kind == "unknown field":
        valid = ", ".join(details["valid_names"])
        if name == "input":
            return details["unknown_param"], f"is not an AssumeRole parameter (valid: {valid})"
        return f"{name}.{details['unknown_param']}", f"is not a valid key (valid: {valid})"
    if kind == "invalid type":
        param = details["param"]
        if name == "Policy" and isinstance(param, Mapping):
            return name, None  # a policy dict is fine if serializable: _check_documented_limits
        return name, _type_problem(name, details["valid_types"], param)
    if kind == "invalid range":
        if isinstance(details["param"], bool):
            return name, None  # "must be an int..., got bool" (_check_maxima_and_patterns)
        return name, f"must be at least {details['min_allowed']}, got {details['param']}"
    if kind == "invalid length":
        return name, f"must have length at least {details['min_allowed']}, got {details['param']}"
    return name, kind


# botocore reports valid types as str(type): "<class 'list'>".
_TYPE_NAMES = {
    "list": "a list",
    "tuple": "a list",
    "dict": "a dict",
    "str": "a str",
    "int": "an int",
}


# What assume_role accepts where normalization takes more than the STS model's type.
_ACCEPTED = (
    (re.compile(r"DurationSeconds"), "an int (seconds) or a datetime.timedelta"),
    (re.compile(r"Policy"), "a JSON str or a dict"),
    (re.compile(r"PolicyArns\[\d+\]"), "an ARN str or a dict {'arn': ...}"),
    (re.compile(r"Tags"), "a list of {'Key': ..., 'Value': ...} or a dict"),
    (re.compile(r"Tags\[\d+\]"), "a dict {'Key': ..., 'Value': ...}"),
)


def _type_problem(path: str, valid_types: Sequence[str], param: object) -> str:
    got = type(param).__name__
    for pattern, accepted in _ACCEPTED:
        if pattern.fullmatch(path):
            return f"must be {accepted}, got {got}"
    names = (re.sub(r"^<class '(.*)'>$", r"\1", str(name)) for name in valid_types)
    wanted = list(dict.fromkeys(_TYPE_NAMES.get(name, name) for name in names))
    problem = f"must be {' or '.join(wanted)}, got {got}"
    if wanted == ["a list"] and isinstance(param, (str, bytes, Mapping)):
        problem += ": for one item, pass a list of one, [item]"
    return problem


def _pattern_hint(pattern: str) -> str:
    """``[\\w+=,.@-]*`` as words: "may contain only letters, digits and _+=,.@-"."""
    match = re.fullmatch(r"\[(.*)\]\*", pattern)
    if match is None:
        return f"must match the pattern {pattern}"
    body = match.group(1)
    kinds = []
    if "\\w" in body:
        kinds.append("letters, digits")
        body = body.replace("\\w", "_")
    elif "\\d" in body:
        kinds.append("digits")
        body = body.replace("\\d", "")
    others = body.replace("\\", "")
    allowed = " and ".join([", ".join(kinds), others] if kinds and others else kinds or [others])
    return f"may contain only {allowed} (the pattern {pattern})"


def _check_maxima_and_patterns(
    value: Any, shape: botocore.model.Shape, name: str, problems: list[tuple[str, str | None]]
) -> None:
    """Check what botocore's validator leaves out: max bounds, patterns, bools as integers.

    Values of the wrong type are skipped here: botocore has already reported them.
    """
    metadata = shape.metadata
    if shape.type_name == "structure" and isinstance(value, Mapping):
        for member_name, member_shape in shape.members.items():
            if member_name in value:
                member_path = f"{name}.{member_name}" if name else member_name
                _check_maxima_and_patterns(value[member_name], member_shape, member_path, problems)
    elif shape.type_name == "list" and isinstance(value, (list, tuple)):
        if "max" in metadata and len(value) > metadata["max"]:
            problems.append((name, f"must have at most {metadata['max']} items, got {len(value)}"))
        for index, item in enumerate(value):
            _check_maxima_and_patterns(item, shape.member, f"{name}[{index}]", problems)
    elif shape.type_name == "string" and isinstance(value, str):
        surrogate = _lone_surrogate(value)
        if surrogate is not None:
            problems.append(
                (
                    name,
                    f"has a lone surrogate (not Unicode text, so it cannot be sent) at "
                    f"position {surrogate}: decode the text with errors='replace' or fix it",
                )
            )
        if "max" in metadata and len(value) > metadata["max"]:
            problems.append(
                (name, f"must have length at most {metadata['max']}, got {len(value)}")
            )
        pattern = _compiled_pattern(metadata.get("pattern"))
        if pattern is not None and not pattern.fullmatch(value):
            problems.append((name, _pattern_hint(metadata["pattern"])))
    elif shape.type_name in ("integer", "long"):
        if isinstance(value, bool):
            problems.append((name, _type_problem(name, ["<class 'int'>"], value)))
        elif _is_int(value) and "max" in metadata and value > metadata["max"]:
            problems.append((name, f"must be at most {metadata['max']}, got {value}"))


def _lone_surrogate(value: str) -> int | None:
    """The 1-based position of the first lone surrogate in ``value`` (what UTF-8 cannot
    encode, e.g. ``\\udcff`` from ``errors='surrogateescape'``), or None."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        return error.start + 1
    return None


@functools.cache
def _compiled_pattern(pattern: str | None) -> re.Pattern[str] | None:
    # Patterns with \u escapes describe "any printable Unicode" (beyond BMP, which
    # Python's re spells differently); only the restrictive ASCII ones are checked.
    if not pattern or "\\u" in pattern:
        return None
    try:
        return re.compile(pattern, re.ASCII)
    except re.error:
        return None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _dedupe(problems: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return list(dict.fromkeys(problems))


# The shape of every AWS region name: a prefix, words, a number (us-east-1,
# us-gov-west-1, eusc-de-east-1).
_REGION_SHAPE = re.compile(r"[a-z]+(?:-[a-z]+)+-[0-9]+", re.ASCII)


@functools.cache
def _known_regions() -> tuple[frozenset[str], frozenset[str]]:
    """botocore's regions (and STS's endpoint names, such as aws-global), and the words
    that follow a region name's prefix in them (east, northwest, gov, isob...)."""
    names: set[str] = set()
    endpoints = botocore.loaders.create_loader().load_data("endpoints")  # always shipped
    for partition in endpoints.get("partitions", []):
        names.update(partition.get("regions", {}))
        names.update(partition.get("services", {}).get("sts", {}).get("endpoints", {}))
    words = {
        word for name in names if _REGION_SHAPE.fullmatch(name) for word in name.split("-")[1:-1]
    }
    return frozenset(names), frozenset(words)


def region_name_problem(name: str) -> str | None:
    """Why ``name`` is not a region name, or None.

    Accepted: a region or STS endpoint name botocore knows (``us-east-1``,
    ``aws-global``), or a name of a region's shape (``<prefix>-<words>-<number>``, in
    lower-case ASCII) whose words each appear in a known region's name, so that a
    region newer than the installed botocore (``eu-south-3``, ``xy-central-1``) is
    taken, and a typo of a word (``eu-wst-1``) is not. The message never echoes
    ``name``.
    """
    known, words = _known_regions()
    if name in known:
        return None
    if not _REGION_SHAPE.fullmatch(name):
        return (
            "is not a region name: pass one like 'eu-west-1' (lower-case letters, digits "
            "and '-'; no spaces or newline)"
        )
    unknown = [word for word in name.split("-")[1:-1] if word not in words]
    if unknown:
        return (
            "is not a region botocore knows, and has a word that is in no region's name "
            "(such as east, west, central, southeast): check the spelling, e.g. 'eu-west-1'"
        )
    return None


def validate_options(
    *,
    region_name: object,
    cache: object,
    additional_kwargs: object,
    cache_example: str = "AioJSONFileCache(path)",
) -> None:
    """Raise ``InvalidParameterError`` for the library's own options (always checked).

    ``cache_example`` is the file cache the caller's path offers, as a user would
    write it (the sync path's is ``JSONFileCache(path)``).
    """
    problems: list[tuple[str, str]] = []
    if region_name is not None and not isinstance(region_name, (str, bool)):
        problems.append(
            (
                "region_name",
                "must be a region name (a str like 'eu-west-1'), True, False or None, "
                f"got {type(region_name).__name__}",
            )
        )
    elif isinstance(region_name, str):
        problem = region_name_problem(region_name)
        if problem is not None:
            problems.append(("region_name", problem))
    cache_problem = _cache_problem(cache, cache_example)
    if cache_problem is not None:
        problems.append(("cache", cache_problem))
    if additional_kwargs is not None and not isinstance(additional_kwargs, Mapping):
        problems.append(
            (
                "additional_kwargs",
                "must be a dict of AssumeRole parameters by name, "
                f"got {type(additional_kwargs).__name__}",
            )
        )
    elif additional_kwargs is not None and not all(isinstance(k, str) for k in additional_kwargs):
        problems.append(("additional_kwargs", "keys must be AssumeRole parameter names (str)"))
    if problems:
        raise InvalidParameterError(problems)


def _cache_problem(cache: object, example: str) -> str | None:
    if isinstance(cache, type):
        # A class has the methods an instance has (as unbound functions), so it
        # would pass the checks below and fail at first use.
        return f"is the class {cache.__name__}, not a cache: pass an instance, e.g. {example}"
    if isinstance(cache, (str, bytes, os.PathLike)):
        # Never the path itself: messages echo no string value.
        return (
            f"is a path ({type(cache).__name__}), not a cache: pass a file cache on that "
            f"directory, {example}"
        )
    if not is_supported_cache(cache):
        return (
            "must be a cache: dict-like (__getitem__, __setitem__, __contains__, e.g. a dict) "
            f"or with async get/set, got {type(cache).__name__}"
        )
    return None


def check_session(session: object, expected: type, wanted: str, hints: Mapping[str, str]) -> None:
    """Raise ``InvalidParameterError`` naming ``session`` unless it is an ``expected``.

    The message says what was ``wanted`` and what was given (the type, fully
    qualified), with the hint for the first class of the given type's MRO that
    ``hints`` has, by qualified name.
    """
    if isinstance(session, expected):
        return
    problem = f"must be {wanted}, got {_qualified_name(type(session))}"
    for cls in type(session).__mro__:
        hint = hints.get(_qualified_name(cls))
        if hint is not None:
            problem += f"; {hint}"
            break
    raise InvalidParameterError([("session", problem)])


def _qualified_name(cls: type) -> str:
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


# --- the shapes of cache assume_role(cache=...) accepts (checked here, adapted in cache) ---


def is_async_cache(cache: object) -> bool:
    """Whether ``cache`` has coroutine ``get`` and ``set`` methods (used as it is)."""
    return all(inspect.iscoroutinefunction(getattr(cache, name, None)) for name in ("get", "set"))


def is_mapping_like(cache: object) -> bool:
    """Whether ``cache`` is dict-like: item get/set and ``in`` (a dict, a JSONFileCache)."""
    # A list or a string has item access too, but keys would be indices.
    if isinstance(cache, (Sequence, str, bytes)):
        return False
    return all(hasattr(cache, name) for name in ("__getitem__", "__setitem__", "__contains__"))


def is_supported_cache(cache: object) -> bool:
    """Whether ``cache`` can be passed as ``assume_role(cache=...)``."""
    return cache is None or is_async_cache(cache) or is_mapping_like(cache)
