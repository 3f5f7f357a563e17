"""Building and recognising IAM role and assumed-role session ARNs (pure).

An account id is exactly 12 digits, as a str, everywhere: in ``get_role_arn``,
``get_assumed_role_session_arn``, ``assume_role_in_accounts`` and inside a
``RoleArn``. Unlike aws-assume-role-lib, nothing is zero-padded: a short id is
most often a typo (a dropped digit), and padding it names another account, which
may exist. An int is refused too, even with 12 digits: ``012345678901`` cannot be
an int, so an int account id works for most accounts and silently breaks for
the others.
"""

from __future__ import annotations

import re

from .errors import InvalidParameterError

__all__ = ["get_assumed_role_session_arn", "get_role_arn", "is_role_arn"]

_ROLE_ARN = re.compile(
    r"arn:(?P<partition>aws(?:-[a-z]+)*):iam::(?P<account>\d{12}):role/(?P<name>[\w+=,.@/-]+)",
    re.ASCII,
)


_DIGITS = frozenset("0123456789")


def account_id_problem(account_id: object) -> str | None:
    """What is wrong with ``account_id`` (never echoing it), or None: 12 digits as a str."""
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


def _checked_account_id(account_id: object) -> str:
    problem = account_id_problem(account_id)
    if problem is not None:
        raise InvalidParameterError([("account_id", problem)])
    assert isinstance(account_id, str)
    return account_id


def get_role_arn(account_id: str, role_name: str, path: str = "", partition: str = "aws") -> str:
    """Return a correctly formatted IAM role ARN.

    ``account_id`` is exactly 12 digits, as a str (never zero-padded; an int is
    refused, see the module docstring): ``InvalidParameterError`` (a ValueError)
    naming ``account_id`` otherwise. The path may be given separately or as part
    of ``role_name``.
    """
    account_id = _checked_account_id(account_id)
    if "/" in role_name and path:
        raise ValueError("Path cannot be given in both role_name and path")
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
    account_id: str, role_name: str, role_session_name: str, partition: str = "aws"
) -> str:
    """Return a correctly formatted assumed-role session ARN.

    ``account_id`` as for ``get_role_arn``. These ARNs never contain the role's
    path; one given in ``role_name`` is dropped.
    """
    account_id = _checked_account_id(account_id)
    if "/" in role_name:
        role_name = role_name.rsplit("/", 1)[1]
    return f"arn:{partition}:sts::{account_id}:assumed-role/{role_name}/{role_session_name}"


def is_role_arn(value: object) -> bool:
    """Whether ``value`` is an IAM role ARN (``arn:<partition>:iam::<account>:role/...``)."""
    return isinstance(value, str) and _ROLE_ARN.fullmatch(value) is not None
