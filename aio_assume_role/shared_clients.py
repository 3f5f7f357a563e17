"""Clients shared by many assumed roles: one per service, region and config, each call
signed with the credentials of the session it was handed out for.

A fan-out over 1,000 accounts x 2 regions, or a service with 10,000 tenants, needs a
client per (account, service, region) if each assumed session creates its own, and
creating one costs milliseconds of CPU and ~140 KiB (more once it has connected).
While a ``SharedClients`` is open, ``shared.client(session, "ec2", region_name=...)``
hands out a *view* of one client per (service, region, endpoint, config, ...) for the
whole run::

    async with SharedClients(parent) as shared:
        async with shared.client(tenant_session, "s3", region_name="eu-west-1") as s3:
            await s3.list_objects_v2(Bucket=bucket)   # signed with tenant_session's keys

**The safety rule.** The shared client holds no keys of its own: its credentials
(``BoundCredentials``) resolve, at every signature, to the credentials bound in the
running task (a context variable). A view binds its session's credentials around
each of its calls (and around the pages of its paginators and the polls of its
waiters), so a request is signed with that session's credentials and never with
another view's or the parent's, whatever the interleaving; a use of the shared
client with nothing bound raises ``UnboundCredentialsError``.

**Per-client state that must not cross accounts** is handled as follows:

- S3 Express One Zone session credentials are cached per client by bucket name:
  shared S3 clients turn that cache off (``s3={"disable_s3_express_session_auth":
  True}``), so directory-bucket requests are signed with the session's own keys.
  A config that asks for session auth explicitly gets the session's own client.
- Endpoint discovery caches endpoints per client, found with one account's
  credentials: a service that uses it (an operation that requires it, or
  ``endpoint_discovery_enabled=True``) gets the session's own client.
- The adaptive retry mode's client-side rate limiter slows the whole client when one
  account is throttled: with ``retry_mode="adaptive"``, the session's own client.
- The account-ID endpoints (DynamoDB's ``account_id_endpoint_mode``) ask the
  credentials for their account at each request: the bound session's.
- Shared on purpose, as within any client: the connection pool, the parsed models,
  the event handlers (one registered through ``view.meta.events`` applies to every
  view) and the standard retry mode's retry quota (one quota for the run's calls to
  that service and region).

Explicit keys (``aws_access_key_id=...``) also get the session's own client. Such an
"own client" is created when the block is entered and closed when it is left.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import Any

from aiobotocore.credentials import AioCredentialResolver
from aiobotocore.session import AioSession
from botocore.config import Config
from botocore.credentials import CredentialProvider

from ._core.child_session import (
    LightChildSession,
    builtin_event_hooks,
    share_ssl_contexts,
    ssl_sharing_config,
)
from .errors import InvalidParameterError, UnboundCredentialsError
from .sts_clients import _ClientPool, pool_config

__all__ = ["BoundCredentials", "SharedClientView", "SharedClients"]

# The credentials a shared client signs the running task's requests with.
_BOUND: contextvars.ContextVar[Any] = contextvars.ContextVar(
    "aio_assume_role_bound_credentials", default=None
)

# create_client's arguments a shared client is keyed by (any other: the session's own).
_KEYED = ("region_name", "api_version", "use_ssl", "verify", "endpoint_url", "config")


class BoundCredentials:
    """A shared client's credentials: whatever credentials the running task has bound.

    ``await get_frozen_credentials()`` (what aiobotocore's signer calls) and
    ``await get_account_id()`` (what account-ID endpoints call) delegate to them. Holds
    no keys, so its ``repr`` and its attributes never show any.

    Raises:
        UnboundCredentialsError: used while no credentials are bound (a call on the
            shared client itself rather than through a view).
    """

    method = "aio-assume-role-shared"

    @staticmethod
    def _current() -> Any:
        credentials = _BOUND.get()
        if credentials is None:
            raise UnboundCredentialsError()
        return credentials

    async def get_frozen_credentials(self) -> Any:
        """The bound credentials' current keys (refreshed first if due)."""
        return await self._current().get_frozen_credentials()

    async def get_account_id(self) -> str | None:
        """The bound credentials' account id, if they know it."""
        get_account_id = getattr(self._current(), "get_account_id", None)
        return await get_account_id() if get_account_id is not None else None

    def get_deferred_property(self, property_name: str) -> Callable[[], None]:
        # botocore's sync default for the AccountId endpoint builtin, which aiobotocore
        # replaces with get_account_id: never a value read outside a call.
        return _unknown

    def __getattr__(self, name: str) -> Any:
        # access_key, secret_key, token...: only the async getters can resolve them.
        if name in ("access_key", "secret_key", "token", "account_id"):
            raise AttributeError(
                f"BoundCredentials.{name}: use 'await get_frozen_credentials()' "
                "(shared clients resolve their keys per call)"
            )
        raise AttributeError(name)

    def __repr__(self) -> str:
        return "<BoundCredentials>"


def _unknown() -> None:
    return None


class _BoundProvider(CredentialProvider):
    """The template session's only credential provider."""

    METHOD = BoundCredentials.method

    def __init__(self) -> None:
        super().__init__()
        self.credentials = BoundCredentials()

    async def load(self) -> BoundCredentials:
        return self.credentials


class _TemplateSession(LightChildSession, AioSession):
    """What shared clients are created from: the parent's loader, config and region,
    with ``BoundCredentials`` as its credentials."""

    def __init__(self, parent: AioSession) -> None:
        super().__init__(parent, builtin_event_hooks())
        self.register_component("credential_provider", AioCredentialResolver([_BoundProvider()]))
        region = parent.get_config_variable("region")
        if region is not None:
            self.set_config_variable("region", region)
        default = parent.get_default_client_config()
        if default is not None:
            self.set_default_client_config(default)


def _bound(method: Callable[..., Any], credentials: Any) -> Callable[..., Any]:
    @functools.wraps(method)
    async def call(*args: Any, **kwargs: Any) -> Any:
        token = _BOUND.set(credentials)
        try:
            return await method(*args, **kwargs)
        finally:
            _BOUND.reset(token)

    return call


class SharedClientView:
    """A shared client as one session sees it: every call signed with its credentials.

    Everything a client has is reached through it (operations, ``meta``,
    ``exceptions``, ``get_paginator``, ``get_waiter``, ``generate_presigned_url``,
    ...); the coroutine methods run with the session's credentials bound. It is not
    an instance of the client's class. ``close()`` and ``async with`` do nothing: the
    ``SharedClients`` that made it closes the client.
    """

    __slots__ = ("_client", "_credentials", "_methods")

    def __init__(self, client: Any, credentials: Any) -> None:
        self._client = client
        self._credentials = credentials
        self._methods: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        methods = self._methods
        method = methods.get(name)
        if method is not None:
            return method
        value = getattr(self._client, name)
        if name in ("get_paginator", "get_waiter"):
            # botocore builds them over getattr(client, operation): over this view's.
            method = functools.partial(getattr(type(self._client), name), self)
        elif name in self._client.meta.method_to_api_mapping or inspect.iscoroutinefunction(
            value
        ):  # an operation (returns a coroutine), or an async method: bound when awaited
            method = _bound(value, self._credentials)
        else:
            return value
        methods[name] = method
        return method

    async def close(self) -> None:
        """Nothing: the shared client is closed by its ``SharedClients``."""

    async def __aenter__(self) -> SharedClientView:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    def __repr__(self) -> str:
        return f"<SharedClientView {self._client.meta.service_model.service_name}>"


class SharedClients:
    """One client per (service, region, endpoint, config, ...) for many assumed sessions.

    Use as ``async with SharedClients(parent) as shared:`` around the work, then
    ``async with shared.client(session, service, region_name=...) as client:`` for any
    session (an ``assume_role`` session, or any session with credentials). See the
    module docstring for the safety rule and what is not shared. ``config`` is merged
    under each client's own (default: room for ``max_pool_connections`` calls at once,
    50). The clients belong to the event loop the owner was opened in.

    Raises:
        InvalidParameterError: ``parent`` is not an ``AioSession``, ``config`` not a
            botocore ``Config``, or ``max_pool_connections`` not a positive int.
    """

    def __init__(
        self, parent: AioSession, *, config: Config | None = None, max_pool_connections: int = 50
    ) -> None:
        problems = []
        if not isinstance(parent, AioSession):
            problems.append(
                ("parent", f"must be an aiobotocore AioSession, got {type(parent).__name__}")
            )
        if config is not None and not isinstance(config, Config):
            problems.append(("config", f"must be a botocore Config, got {type(config).__name__}"))
        if (
            isinstance(max_pool_connections, bool)
            or not isinstance(max_pool_connections, int)
            or max_pool_connections < 1
        ):
            problems.append(("max_pool_connections", "must be an int >= 1"))
        if problems:
            raise InvalidParameterError(problems, function="SharedClients")
        self._parent = parent
        base = pool_config(parent, max_pool_connections)
        self._config = base.merge(config) if config is not None else base
        self._template: _TemplateSession | None = None
        self._pool: _ClientPool | None = None
        self._state = "new"  # new -> open -> closed
        self._own_clients = 0
        self._created = 0
        self._discovery: dict[str, bool] = {}

    @property
    def client_count(self) -> int:
        """How many shared clients exist (created or being created) right now."""
        return len(self._pool.entries) if self._pool is not None else 0

    @property
    def clients_created(self) -> int:
        """How many shared clients it has created so far."""
        return self._created

    def is_open(self) -> bool:
        """Whether it hands out shared clients now: open, in the running event loop."""
        pool = self._pool
        if self._state != "open" or pool is None:
            return False
        try:
            return asyncio.get_running_loop() is pool.loop
        except RuntimeError:
            return False

    @property
    def own_clients(self) -> int:
        """How many clients were created for one session because sharing was unsafe."""
        return self._own_clients

    async def __aenter__(self) -> SharedClients:
        """Open, in the running event loop.

        Raises:
            RuntimeError: it was entered before (create a new one).
        """
        if self._state != "new":
            raise RuntimeError("a SharedClients can be entered only once; create a new one")
        self._pool = _ClientPool(asyncio.get_running_loop(), self._config)
        self._template = _TemplateSession(self._parent)
        # Its clients: one SSL context per verify/cert/proxy settings (they hold no keys).
        share_ssl_contexts(self._template, ssl_sharing_config())
        self._state = "open"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Wait for the ``client()`` blocks in progress to end, then close every client.

        Idempotent. Never raises.
        """
        if self._state == "closed" or self._pool is None:
            self._state = "closed"
            return
        self._state = "closed"
        await self._pool.close()

    def client(
        self, session: AioSession, service_name: str, **create_client_kwargs: Any
    ) -> AbstractAsyncContextManager[Any]:
        """``async with shared.client(session, "ec2", region_name=r) as ec2:`` a view of the
        shared client for these ``create_client`` arguments, signing as ``session``.

        ``region_name=None``: ``session``'s region (pass it when known: finding it builds
        the session's config store). The shared client is built from the parent: its
        default client config, merged with this owner's ``config`` and the call's, not
        ``session``'s default client config. Where sharing would be unsafe (see the
        module docstring), the block gets ``session``'s own client instead.

        Raises:
            RuntimeError: the owner is not open, or belongs to another event loop.
            botocore.exceptions.UnknownServiceError: not a service botocore knows.
            Whatever ``session.get_credentials()`` and ``create_client`` raise.
        """
        return _lease(self, session, service_name, create_client_kwargs)

    def shareable(self, service_name: str, **create_client_kwargs: Any) -> bool:
        """Whether ``client()`` with these arguments hands out a shared client.

        Raises:
            botocore.exceptions.UnknownServiceError: not a service botocore knows.
        """
        return self._unshared_reason(service_name, create_client_kwargs) is None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._state} clients={self.client_count}>"

    # --- inside ---

    def _open_pool(self) -> _ClientPool:
        pool = self._pool
        if self._state != "open" or pool is None:
            raise RuntimeError(f"this SharedClients is {self._state}: use it inside async with")
        if asyncio.get_running_loop() is not pool.loop:
            raise RuntimeError("this SharedClients belongs to another event loop")
        return pool

    def _effective_config(self, own: object) -> Config:
        """The config a shared client gets: the parent's default, this owner's, the call's."""
        default = self._parent.get_default_client_config()
        config = default.merge(self._config) if default is not None else self._config
        return config.merge(own) if isinstance(own, Config) else config

    def _unshared_reason(self, service_name: str, kwargs: dict[str, Any]) -> str | None:
        """Why a client for these arguments must be the session's own; None: shareable."""
        if not set(kwargs) <= set(_KEYED):
            return "explicit keys, or create_client arguments that are not shared"
        config = self._effective_config(kwargs.get("config"))
        if (config.retries or {}).get("mode") == "adaptive":
            return "adaptive retry mode: its client-side rate is per client"
        express = (config.s3 or {}).get("disable_s3_express_session_auth")
        if service_name == "s3" and express is False:
            return "S3 Express session auth asked for: its session cache is per client"
        discovery = config.endpoint_discovery_enabled
        if discovery is True or (
            discovery in (None, "auto") and self._requires_discovery(service_name)
        ):
            return "endpoint discovery: its endpoint cache is per client"
        return None

    def _requires_discovery(self, service_name: str) -> bool:
        required = self._discovery.get(service_name)
        if required is None:  # read from the model (botocore's loader caches it) once
            loader = self._parent.get_component("data_loader")
            model = loader.load_service_model(service_name, "service-2")
            required = self._discovery[service_name] = any(
                (operation.get("endpointdiscovery") or {}).get("required", False)
                for operation in model.get("operations", {}).values()
            )
        return required

    async def _shared(self, pool: _ClientPool, service_name: str, kwargs: dict[str, Any]) -> Any:
        template = self._template
        assert template is not None
        own = kwargs.get("config")
        key = (service_name, *(kwargs.get(name) for name in _KEYED))

        def create() -> Any:
            self._created += 1
            # Over the template's default config (the parent's, sharing SSL contexts).
            config = self._config.merge(own) if isinstance(own, Config) else self._config
            if service_name == "s3":  # S3 Express sessions are cached by bucket: not shared
                s3 = self._effective_config(own).s3 or {}
                config = config.merge(Config(s3={"disable_s3_express_session_auth": True, **s3}))
            return template.create_client(service_name, **{**kwargs, "config": config})

        return await pool.shared(key, (own,), create)


@asynccontextmanager
async def _lease(
    owner: SharedClients, session: AioSession, service_name: str, kwargs: dict[str, Any]
) -> AsyncIterator[Any]:
    pool = owner._open_pool()
    if owner._unshared_reason(service_name, kwargs) is not None:
        owner._own_clients += 1
        async with session.create_client(service_name, **kwargs) as own:
            yield own
        return
    credentials = await session.get_credentials()
    if credentials is None:  # the session's own client raises what botocore raises then
        async with session.create_client(service_name, **kwargs) as own:
            yield own
        return
    if kwargs.get("region_name") is None:
        kwargs = {**kwargs, "region_name": session.get_config_variable("region")}
    client = await owner._shared(pool, service_name, kwargs)
    try:
        yield SharedClientView(client, credentials)
    finally:
        pool.checkin()
