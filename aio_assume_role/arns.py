"""IAM role ARNs, assumed-role session ARNs and Lambda session names (pure).

Account ids follow aws-assume-role-lib's rule wherever one is passed on its own
(``get_role_arn``, ``get_assumed_role_session_arn``, ``Account``, fan-out targets,
``assume_role_in_accounts``): an int is written in decimal and a str of fewer than
12 digits is zero-padded to 12, so ``123`` and ``"123"`` both mean
``"000000000123"`` (an int cannot keep leading zeros, and ids exported through
spreadsheets lose them). What is not an account id at all is refused with an
error naming the parameter: more than 12 digits, a character that is not a digit
(0-9), an empty str, surrounding whitespace, a negative int, a bool or a float.
Inside a ``RoleArn`` the id must be exactly 12 digits: STS takes the ARN as it is.
"""

from __future__ import annotations

import datetime
import os
import random
import re
import string

from .errors import InvalidParameterError

__all__ = [
    "generate_lambda_session_name",
    "get_assumed_role_session_arn",
    "get_role_arn",
    "is_role_arn",
]


# account_id_problem and role_arn_problem are the library's own checks (importable,
# but not part of the public API).

_PARTITION = re.compile(r"aws(?:-[a-z]+)*", re.ASCII)
# IAM's characters for role names and paths (a path adds "/").
_NAME_CHARACTER = re.compile(r"[\w+=,.@/-]", re.ASCII)
_EXAMPLE = "arn:aws:iam::123456789012:role/Name"


_DIGITS = frozenset("0123456789")


def account_id_problem(account_id: object) -> str | None:
    """What is wrong with ``account_id`` (never echoing it), or None: exactly 12 digits
    as a str, as inside an ARN (``normalized_account_id`` pads an id given alone)."""
    if isinstance(account_id, int) and not isinstance(account_id, bool):
        return (
            "must be a str of exactly 12 digits, got int: pass it as a str, e.g. "
            "'012345678901' (an int cannot keep an account id's leading zeros)"
        )
    if not isinstance(account_id, str):
        return f"must be a str of exactly 12 digits, got {type(account_id).__name__}"
    if account_id != account_id.strip():
        return "has leading or trailing whitespace"
    for position, character in enumerate(account_id, 1):
        if character not in _DIGITS:
            return (
                "must be exactly 12 digits, but has a character that is not a digit (0-9) "
                f"at position {position}"
            )
    if len(account_id) != 12:
        return (
            f"must be exactly 12 digits, got {len(account_id)} characters (ids are never "
            "zero-padded: check for a missing or extra digit)"
        )
    return None


_ACCOUNT_ID_KINDS = "a str of up to 12 digits, or an int"


def normalized_account_id(account_id: object) -> tuple[str, None] | tuple[None, str]:
    """``(id, None)``: ``account_id`` as 12 digits, by aws-assume-role-lib's rule (an
    int in decimal, a shorter str zero-padded); or ``(None, problem)``, the problem
    never echoing the value. See the module docstring."""
    if isinstance(account_id, bool) or not isinstance(account_id, (int, str)):
        hint = ": pass int(value), or the digits as a str" if isinstance(account_id, float) else ""
        return None, (
            f"must be an account id ({_ACCOUNT_ID_KINDS}), got {type(account_id).__name__}{hint}"
        )
    if isinstance(account_id, int):
        if account_id < 0:
            return None, f"must be an account id ({_ACCOUNT_ID_KINDS}), got a negative int"
        digits = str(account_id)
        if len(digits) > 12:
            return None, f"must have at most 12 digits, got an int of {len(digits)}"
        return digits.zfill(12), None
    if account_id.isascii() and account_id.isdigit() and len(account_id) <= 12:
        return account_id.zfill(12), None  # the usual case, checked in C
    if not account_id:
        return None, f"is empty: pass an account id ({_ACCOUNT_ID_KINDS})"
    if account_id != account_id.strip():
        return None, "has leading or trailing whitespace"
    for position, character in enumerate(account_id, 1):
        if character not in _DIGITS:
            return None, (
                "must be an account id, but has a character that is not a digit (0-9) "
                f"at position {position}"
            )
    if len(account_id) > 12:
        return None, f"must have at most 12 digits, got {len(account_id)}"
    return account_id.zfill(12), None


def _checked_account_id(account_id: object) -> str:
    normalized, problem = normalized_account_id(account_id)
    if problem is not None:
        raise InvalidParameterError([("account_id", problem)])
    assert normalized is not None
    return normalized


def get_role_arn(
    account_id: str | int, role_name: str, path: str = "", partition: str = "aws"
) -> str:
    """Return a correctly formatted IAM role ARN.

    ``account_id`` is a str of up to 12 digits or an int, zero-padded to 12 digits
    as aws-assume-role-lib does (see the module docstring). The path may be given
    separately or as part of ``role_name``.

    Raises:
        InvalidParameterError: (a ``ValueError``) naming ``account_id`` when it is not
            an account id (more than 12 digits, a non-digit, empty, a bool or float),
            or ``path`` when a path is given both ways.
    """
    account_id = _checked_account_id(account_id)
    if "/" in role_name and path:
        raise InvalidParameterError(
            [("path", "is given both in role_name and as path: give it in one place")]
        )
    if "/" in role_name:
        path, role_name = role_name.rsplit("/", 1)
    if path == "/":
        path = ""
    if path.startswith("/"):
        path = path[1:]
    if path and not path.endswith("/"):
        path = path + "/"
    return f"arn:{partition}:iam::{account_id}:role/{path}{role_name}"


def get_assumed_role_session_arn(
    account_id: str | int, role_name: str, role_session_name: str, partition: str = "aws"
) -> str:
    """Return a correctly formatted assumed-role session ARN.

    ``account_id`` as for ``get_role_arn`` (zero-padded to 12 digits). These ARNs
    never contain the role's path; one given in ``role_name`` is dropped.

    Raises:
        InvalidParameterError: naming ``account_id`` when it is not an account id.
    """
    account_id = _checked_account_id(account_id)
    if "/" in role_name:
        role_name = role_name.rsplit("/", 1)[1]
    return f"arn:{partition}:sts::{account_id}:assumed-role/{role_name}/{role_session_name}"


def is_role_arn(value: object) -> bool:
    """Whether ``value`` is an IAM role ARN (``arn:<partition>:iam::<account>:role/...``).

    Never raises: any value gives True or False.
    """
    return role_arn_problem(value) is None


def role_arn_problem(value: object) -> str | None:
    """Which part of ``value`` keeps it from being an IAM role ARN, or None if it is one.

    Names the part (and its position) but never echoes the value, to keep messages
    short: ``arn:<partition>:iam::<12-digit account id>:role/<path/><name>``.
    """
    if not isinstance(value, str):
        return f"must be a str, an IAM role ARN like {_EXAMPLE}, got {type(value).__name__}"
    if not value:
        return f"is empty: pass an IAM role ARN like {_EXAMPLE}"
    if value != value.strip():
        return "has leading or trailing whitespace: strip it"
    if not value.startswith("arn:"):
        if ":" not in value:
            return (
                "must be the role's ARN, not the role's name: "
                "get_role_arn(account_id, role_name) builds one"
            )
        return f"does not start with arn: (an IAM role ARN is like {_EXAMPLE})"
    parts = value.split(":", 5)
    if len(parts) < 6:
        return (
            f"has {len(parts)} ':'-separated parts, not 6 "
            "(arn:<partition>:iam::<account id>:role/<name>, with '::' before the account id)"
        )
    _, partition, service, region, account_id, resource = parts
    if not _PARTITION.fullmatch(partition):
        return "has an invalid partition (part 2): aws, aws-cn, aws-us-gov, ..."
    if service != "iam":
        if service == "sts" and resource.startswith("assumed-role/"):
            return (
                "is an assumed-role session's ARN (arn:aws:sts::...:assumed-role/...): pass "
                f"the role's ARN, like {_EXAMPLE}"
            )
        return (
            f"has the wrong service (part 3): the service (part 3) must be iam, as in {_EXAMPLE}"
        )
    if region:
        return "has a region: the region (part 4) must be empty for IAM, as in arn:aws:iam::..."
    account_problem = account_id_problem(account_id)
    if account_problem is not None:
        return f"has an invalid account id (part 5): it {account_problem}"
    if not resource.startswith("role/"):
        return (
            "is not a role's ARN: the resource (part 6) must start with role/ "
            "(not user/, group/, policy/...)"
        )
    name = resource[len("role/") :]
    if not name or name.endswith("/"):
        return "has an empty role name after role/ (and its path, if any)"
    start = len(value) - len(name)
    for position, character in enumerate(name, start + 1):
        if not _NAME_CHARACTER.fullmatch(character):
            return (
                f"has a character not allowed in a role name or path at position {position} "
                "(allowed: letters, digits and _+=,.@-/)"
            )
    return None


# --- role session names for Lambda functions (reads Lambda's environment only) ---


_MAX_LENGTH = 64


def generate_lambda_session_name(
    function_name: str | None = None,
    function_version: str | None = None,
    identifier: str | None = None,
) -> str:
    """Generate a role session name that identifies a Lambda function.

    The result is ``{function_name}``, ``{function_name}.{identifier}`` or
    ``{function_name}.{function_version}.{identifier}``, at most 64 characters.
    The name and version default to ``AWS_LAMBDA_FUNCTION_NAME`` and
    ``AWS_LAMBDA_FUNCTION_VERSION`` (``$LATEST`` counts as no version). The
    identifier defaults to the execution environment's ID from
    ``AWS_LAMBDA_LOG_STREAM_NAME``, else a timestamp when at least 14 characters fit,
    else a random string. Rules, in order: a name over 59 characters is truncated
    alone; if name plus version exceed 59, the version is dropped; otherwise all
    three are joined and truncated to 64. Characters STS rejects become ``_``.

    Any name, version and identifier give a valid session name.

    Raises:
        KeyError: (as aws-assume-role-lib does) when ``function_name`` is not given
            and ``AWS_LAMBDA_FUNCTION_NAME`` is not set, as outside Lambda; the
            message names both.
    """
    if not function_name:
        function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        if function_name is None:
            raise KeyError(
                "AWS_LAMBDA_FUNCTION_NAME is not set (not running in Lambda?): "
                "pass function_name to generate_lambda_session_name()"
            )
    if not function_version:
        function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "")
    version_component = (
        "." + str(function_version) if function_version and function_version != "$LATEST" else ""
    )

    def _identifier(max_length: int) -> str:
        if identifier:
            return identifier
        # The log stream name ends with the execution environment's unique ID,
        # e.g. 2020/01/31/[$LATEST]3893xmpl7fac4485b47bb75b671a283c
        match = re.search(r"\w+$", os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", ""))
        if match:
            return match.group()[:max_length]
        if max_length >= 14:  # enough for second-level precision
            now = datetime.datetime.now(datetime.timezone.utc)
            return now.strftime("%Y%m%d%H%M%S%f")[:max_length]
        chars = string.ascii_lowercase + string.digits
        return "".join(random.choice(chars) for _ in range(max_length))

    if len(function_name) > _MAX_LENGTH - 5:
        # not worth adding an identifier unless at least four characters of it fit
        value = function_name[:_MAX_LENGTH]
    elif len(function_name) + len(version_component) > _MAX_LENGTH - 5:
        value = f"{function_name}.{_identifier(63 - len(function_name))}"[:_MAX_LENGTH]
    else:
        max_length = 63 - (len(function_name) + len(version_component))
        value = f"{function_name}{version_component}.{_identifier(max_length)}"[:_MAX_LENGTH]
    return re.sub(r"[^a-zA-Z0-9_=,.@-]+", "_", value)
