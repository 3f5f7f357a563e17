"""An async web service: one assumed-role session per tenant, made at start-up.

The ASGI lifespan hook assumes each tenant's role once (failing start-up if one
cannot be assumed) and opens a client of each tenant's session, which every
request shares; the credentials refresh themselves for as long as the app runs,
and the clients pick them up. ``SharedStsClients`` gives all the refreshes one
long-lived STS client. At shutdown, everything is closed.

It is a bare ASGI app (no framework). ``python examples/web_service.py`` drives it
without a server: start-up, two requests per tenant, shutdown. To serve it:
``uvicorn web_service:app --app-dir examples``, then ``curl localhost:8000/acme``.
Tenants and their roles: ``TENANT_ROLES="acme=arn:...,globex=arn:..."``.
"""

import asyncio
import json
import os
from contextlib import AsyncExitStack
from typing import Any

from aiobotocore.session import get_session

from aio_assume_role import SharedStsClients, assume_role

TENANT_ROLES = dict(
    pair.split("=", 1)
    for pair in os.environ.get(
        "TENANT_ROLES",
        "acme=arn:aws:iam::111111111111:role/Tenant,globex=arn:aws:iam::222222222222:role/Tenant",
    ).split(",")
)
CLIENTS: dict[str, Any] = {}  # tenant -> an STS client of its session, for the app's life


async def lifespan(receive: Any, send: Any) -> None:
    await receive()  # lifespan.startup
    parent = get_session()
    async with AsyncExitStack() as stack:  # at shutdown: the clients, then SharedStsClients
        await stack.enter_async_context(SharedStsClients(parent))  # one STS client to refresh
        sessions = {
            tenant: assume_role(parent, role_arn, RoleSessionName=f"web-{tenant}")
            for tenant, role_arn in TENANT_ROLES.items()
        }
        try:  # assume every role now: a role it cannot assume fails start-up, not a request
            await asyncio.gather(*(s.prefetch_credentials() for s in sessions.values()))
        except Exception as error:
            await send({"type": "lifespan.startup.failed", "message": repr(error)})
            return
        for tenant, session in sessions.items():  # clients pick up refreshed credentials
            CLIENTS[tenant] = await stack.enter_async_context(session.create_client("sts"))
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
    await send({"type": "lifespan.shutdown.complete"})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        return await lifespan(receive, send)
    sts = CLIENTS.get(scope["path"].strip("/"))
    if sts is None:
        status, body = 404, {"error": "no such tenant"}
    else:
        status, body = 200, {"arn": (await sts.get_caller_identity())["Arn"]}
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


async def get(path: str) -> str:
    """One GET request through the ASGI callable, as a server would send it."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "http", "method": "GET", "path": path, "headers": []}, receive, send)
    return f"{sent[0]['status']} {sent[1]['body'].decode()}"


async def main() -> None:
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    server = asyncio.create_task(app({"type": "lifespan"}, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    print(started["type"])
    if started["type"] == "lifespan.startup.failed":
        raise SystemExit(started["message"])
    for tenant in [*TENANT_ROLES, *TENANT_ROLES, "nobody"]:
        print(f"GET /{tenant} -> {await get('/' + tenant)}")
    await inbox.put({"type": "lifespan.shutdown"})
    print((await outbox.get())["type"])
    await server


if __name__ == "__main__":
    asyncio.run(main())
