"""Retries and refresh events: how AssumeRole is retried, and how to watch refreshes.

AssumeRole goes through an STS client of the parent session, so it is retried as
the parent's own clients are: set the retry mode and timeouts on the parent (or
``AWS_RETRY_MODE`` / ``AWS_MAX_ATTEMPTS``). Throttling, 5xx and connection errors
are retried with backoff; AccessDenied is not. Each refresh outcome goes to every
listener registered with ``add_refresh_listener`` (e.g. for metrics); it never
holds a secret.

Run: ``python examples/retries.py``, with ``ROLE_ARN`` set to a role you may assume.
"""

import asyncio
import os

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from aio_assume_role import RefreshEvent, add_refresh_listener, assume_role

ROLE_ARN = os.environ.get("ROLE_ARN", "arn:aws:iam::123456789012:role/Example")


def on_refresh(event: RefreshEvent) -> None:
    # Runs on the event loop: must not block. Also: duration, expiry_time, next_attempt.
    outcome = f"ok from {event.source}" if event.ok else f"failed: {event.error_code}"
    print(f"refresh of {event.role_arn} ({event.trigger}): {outcome}")


async def main() -> None:
    remove_listener = add_refresh_listener(on_refresh)
    parent = get_session()
    parent.set_default_client_config(
        AioConfig(
            retries={"mode": "standard", "total_max_attempts": 5},  # attempts, first included
            connect_timeout=5,
            read_timeout=10,
        )
    )
    session = assume_role(parent, ROLE_ARN, RoleSessionName="retries")
    try:
        expiry = await session.prefetch_credentials()  # fail fast, at start-up
    except ClientError as error:  # AccessDenied, or throttling after every attempt
        code = error.response["Error"]["Code"]
        raise SystemExit(f"cannot assume {ROLE_ARN}: {code}") from None
    finally:
        remove_listener()
    print(f"credentials valid until {expiry.isoformat()}")


if __name__ == "__main__":
    asyncio.run(main())
