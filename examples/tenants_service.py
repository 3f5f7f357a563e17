"""A multi-tenant web service: one role per customer, served by uvicorn workers.

Each customer is a role in its own account, assumed with the customer's ExternalId.
The Starlette app opens one ``TenantSessions`` registry in its lifespan: every request
for a tenant shares that tenant's long-lived client (one AssumeRole and one client per
tenant, however many requests arrive at once), at most ``MAX_CLIENTS`` clients are
open, idle ones close after five minutes, and a tenant whose role cannot be assumed
fails its own requests only (403 here, with the error code). The worker processes
share one ``AioJSONFileCache`` directory, so they assume each tenant's role once
between them. At shutdown, every client is closed.

``python examples/tenants_service.py`` serves it with two uvicorn workers on
127.0.0.1:8000 (``curl localhost:8000/acme``). Tenants:
``TENANTS="acme=111111111111,globex=222222222222"`` (name=account); the cache
directory: ``TENANT_CACHE_DIR``. Needs ``pip install starlette uvicorn``.
"""

import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiobotocore.session import get_session
from botocore.exceptions import ClientError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from aio_assume_role import AioJSONFileCache, AssumeRoleError, TenantSessions

TENANTS = dict(
    pair.split("=", 1)
    for pair in os.environ.get("TENANTS", "acme=111111111111,globex=222222222222").split(",")
)
MAX_CLIENTS = int(os.environ.get("MAX_CLIENTS", "100"))
CACHE_DIR = os.environ.get("TENANT_CACHE_DIR") or os.path.join(tempfile.gettempdir(), "tenants")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    cache = AioJSONFileCache(CACHE_DIR)  # shared by the workers: one AssumeRole per tenant
    async with TenantSessions(
        get_session(), max_clients=MAX_CLIENTS, idle_timeout=300, cache=cache
    ) as tenants:
        app.state.tenants = tenants
        yield  # leaving: waits for the requests in flight, then closes every client


async def whoami(request: Request) -> JSONResponse:
    tenant = request.path_params["tenant"]
    account = TENANTS.get(tenant)
    if account is None:
        return JSONResponse({"error": "no such tenant"}, status_code=404)
    tenants: TenantSessions = request.app.state.tenants
    role_arn = f"arn:aws:iam::{account}:role/Vendor"
    try:
        async with tenants.client(role_arn, "sts", ExternalId=f"ext-{tenant}") as sts:
            identity = await sts.get_caller_identity()
    except (ClientError, AssumeRoleError) as error:  # this tenant's failure only
        code = getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__)
        return JSONResponse({"error": code}, status_code=403)
    return JSONResponse({"account": identity["Account"], "worker": os.getpid()})


async def stats(request: Request) -> JSONResponse:
    tenants: TenantSessions = request.app.state.tenants
    counters = tenants.stats()
    return JSONResponse({"worker": os.getpid(), **vars(counters)})


app = Starlette(
    routes=[Route("/-/stats", stats), Route("/{tenant}", whoami)],
    lifespan=lifespan,
)


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(
        "tenants_service:app",
        app_dir=os.path.dirname(os.path.abspath(__file__)),
        host="127.0.0.1",
        port=int(os.environ.get("PORT", "8000")),
        workers=2,
    )
