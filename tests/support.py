"""Constants and small helpers shared by the tests."""

from __future__ import annotations

ACCOUNT_ID = "123456789012"
DUMMY_ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
DUMMY_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def role_arn(name: str = "MyRole", account: str = ACCOUNT_ID) -> str:
    return f"arn:aws:iam::{account}:role/{name}"
