"""Constants and small helpers shared by the tests."""

from __future__ import annotations

import datetime

ACCOUNT_ID = "123456789012"
DUMMY_ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
DUMMY_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def role_arn(name: str = "MyRole", account: str = ACCOUNT_ID) -> str:
    return f"arn:aws:iam::{account}:role/{name}"


class FakeClock:
    """Moves our clock and moto's together (see the ``clock`` fixture), so expiry can be
    reached without waiting."""

    def __init__(self) -> None:
        self.offset = datetime.timedelta()

    def advance(self, seconds: float) -> None:
        self.offset += datetime.timedelta(seconds=seconds)
