"""An async web service: one assumed-role session per tenant, in a ``TenantSessions`` registry.

The ASGI lifespan hook opens the registry (one long-lived client per tenant, shared by
every request, bounded, closed at shutdown), and assumes each tenant's role once at
start-up, failing start-up if one cannot be assumed; the credentials refresh
themselves for as long as the app runs, and the clients pick them up. The registry's
refreshes share one long-lived STS client (``SharedStsClients``).

It is a bare ASGI app (no framework). ``python examples/web_service.py`` drives it
without a server: start-up, two requests per tenant, shutdown. To serve it:
``uvicorn web_service:app --app-dir examples``, then ``curl localhost:8000/acme``.
Tenants and their roles: ``TENANT_ROLES="acme=arn:...,globex=arn:..."``. With a
framework and worker processes: ``examples/tenants_service.py``.
"""

import asyncio
import json
import os
from typing import Any

from aiobotocore.session import get_session

from aio_assume_role import TenantSessions

TENANT_ROLES = dict(
    pair.split("=", 1)
    for pair in os.environ.get(
        "TENANT_ROLES",
        "acme=arn:aws:iam::111111111111:role/Tenant,globex=arn:aws:iam::222222222222:role/Tenant",
    ).split(",")
)
REGISTRY: list[TenantSessions] = []  # the app's registry, while it runs


async def lifespan(receive: Any, send: Any) -> None:
    await receive()  # lifespan.startup
    async with TenantSessions(get_session(), max_clients=100, idle_timeout=300) as tenants:
        sessions = [
            tenants.session(role_arn, RoleSessionName=f"web-{tenant}")
            for tenant, role_arn in TENANT_ROLES.items()
        ]
        try:  # assume every role now: a role it cannot assume fails start-up, not a request
            await asyncio.gather(*(s.prefetch_credentials() for s in sessions))
        except Exception as error:
            await send({"type": "lifespan.startup.failed", "message": repr(error)})
            return
        REGISTRY.append(tenants)
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        REGISTRY.clear()
    # Leaving the registry waited for the requests in flight and closed every client.
    await send({"type": "lifespan.shutdown.complete"})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        return await lifespan(receive, send)
    tenant = scope["path"].strip("/")
    role_arn = TENANT_ROLES.get(tenant)
    if role_arn is None:
        status, body = 404, {"error": "no such tenant"}
    else:  # the tenant's client: made by its first request, shared by the next ones
        async with REGISTRY[0].client(role_arn, "sts", RoleSessionName=f"web-{tenant}") as sts:
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
