"""Building and recognising IAM role and assumed-role session ARNs (pure)."""

from __future__ import annotations

import numbers
import re

__all__ = ["get_assumed_role_session_arn", "get_role_arn", "is_role_arn"]

_ROLE_ARN = re.compile(
    r"arn:(?P<partition>aws(?:-[a-z]+)*):iam::(?P<account>\d{12}):role/(?P<name>[\w+=,.@/-]+)",
    re.ASCII,
)


def _normalize_account_id(account_id: str | int) -> str:
    if isinstance(account_id, numbers.Number):
        account_id = str(int(account_id))
    if isinstance(account_id, str) and len(account_id) < 12:
        account_id = account_id.rjust(12, "0")
    return str(account_id)


def get_role_arn(
    account_id: str | int, role_name: str, path: str = "", partition: str = "aws"
) -> str:
    """Return a correctly formatted IAM role ARN.

    The path may be given separately or as part of ``role_name``.
    """
    account_id = _normalize_account_id(account_id)
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
    account_id: str | int, role_name: str, role_session_name: str, partition: str = "aws"
) -> str:
    """Return a correctly formatted assumed-role session ARN.

    These ARNs never contain the role's path; one given in ``role_name`` is dropped.
    """
    account_id = _normalize_account_id(account_id)
    if "/" in role_name:
        role_name = role_name.rsplit("/", 1)[1]
    return f"arn:{partition}:sts::{account_id}:assumed-role/{role_name}/{role_session_name}"


def is_role_arn(value: object) -> bool:
    """Whether ``value`` is an IAM role ARN (``arn:<partition>:iam::<account>:role/...``)."""
    return isinstance(value, str) and _ROLE_ARN.fullmatch(value) is not None
