"""The async path under trio, through aiobotocore's httpx mode (aiobotocore >= 3.9).

Every session in the chain gets the httpx session class: the parent before
``assume_role()`` (its mode picks the credentials' lock), the child for its own
clients. Concurrent first uses share one AssumeRole call, as under asyncio.

Needs the trio extra: ``pip install 'aio-assume-role[trio]'``.
Run: ``python examples/trio_example.py``, with ``ROLE_ARN`` set to a role you may assume.
"""

import os

import trio
from aiobotocore.config import AioConfig
from aiobotocore.httpxsession import HttpxSession
from aiobotocore.session import AioSession, get_session

from aio_assume_role import assume_role

ROLE_ARN = os.environ.get("ROLE_ARN", "arn:aws:iam::123456789012:role/Example")
HTTPX = AioConfig(http_session_cls=HttpxSession)


async def print_caller(session: AioSession, n: int) -> None:
    async with session.create_client("sts") as sts:
        print(f"{n}: {(await sts.get_caller_identity())['Arn']}")


async def main() -> None:
    parent = get_session()
    parent.set_default_client_config(HTTPX)  # before assume_role()
    child = assume_role(parent, ROLE_ARN, RoleSessionName="trio-example")
    child.set_default_client_config(HTTPX)  # the child's own clients
    async with trio.open_nursery() as nursery:
        for n in range(3):  # three first uses at once: one AssumeRole call
            nursery.start_soon(print_caller, child, n)


if __name__ == "__main__":
    trio.run(main)
