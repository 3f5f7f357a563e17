"""Tenant sessions for async services: a bounded registry of assumed roles and their clients.

A SaaS backend acts as one IAM role per customer (often with the customer's
ExternalId), for days, under load. ``TenantSessions`` is the registry such a service
otherwise writes by hand, bounded and single-flight::

    async with TenantSessions(parent, max_clients=200, idle_timeout=300) as tenants:
        ...
        async with tenants.client(role_arn, "s3", region_name="eu-west-1",
                                  ExternalId=external_id) as s3:
            await s3.list_objects_v2(Bucket=bucket)

- **One identity, one session**: a tenant is every AssumeRole parameter that changes
  the credentials (RoleArn, RoleSessionName, ExternalId, SourceIdentity, Policy,
  PolicyArns, Tags, TransitiveTagKeys, DurationSeconds, SerialNumber,
  ``additional_kwargs``), normalized as ``assume_role`` normalizes them (a Policy dict
  and its JSON are one tenant). Tenants that differ in any of them share nothing.
- **One client per service, region, endpoint and config for every tenant** (the
  default, ``share_clients=True``): ``client()`` yields a view of a client shared by
  all tenants (``shared_clients.SharedClients``), each call signed with the requesting
  tenant's credentials, never another's; 10,000 tenants need one STS or S3 client,
  not 10,000. Services whose clients keep per-account state (see
  ``aio_assume_role.shared_clients``), and ``share_clients=False``, get one client per
  tenant, service, region, endpoint and config instead, shared by every concurrent
  request for it and created once (single flight), after the role was assumed once.
- **Bounded**: at most ``max_clients`` per-tenant clients open (and, shared, room for
  as many calls at once on each shared client's connection pool); the least recently
  used idle client (no request holds it) is closed when the bound is reached, and any
  client idle for ``idle_timeout`` seconds. Requests wait for a slot when every client
  is held. At most ``max_sessions`` tenants are kept (sessions outlive their clients;
  the least recently used tenant without a client goes first); a request for a
  forgotten tenant makes it again (pass ``cache=`` so its credentials are found again,
  not re-assumed).
- **Failures stay per tenant**: no lock is held across STS calls or client creation.
- **One SSL context** per distinct verify/CA bundle/client certificate/proxy settings is
  shared by every tenant's clients (it holds no credentials; a CA bundle file is read
  once per registry), as in ``fan_out``: a client's first request does not load the CA
  bundle again.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from aiobotocore.session import AioSession
from botocore.config import Config

from ._core.child_session import share_ssl_contexts, ssl_sharing_config
from ._core.parameters import REQUEST_PARAMETERS, normalize_assume_role_args
from ._core.refresh import RefreshEvent, add_refresh_listener
from ._core.request import region_name_problem, validate_options
from .errors import InvalidParameterError
from .session import AssumedRoleSession, assume_role
from .shared_clients import SharedClients
from .sts_clients import SharedStsClients

__all__ = ["TenantKey", "TenantSessions", "TenantStats"]

logger = logging.getLogger("aio_assume_role")

# The salt of TenantKey.id: a key's id is stable within the process only, so it says
# nothing about the parameters (an ExternalId cannot be guessed back from it).
_ID_SALT = secrets.token_bytes(16)

# What ``client()`` and ``session()`` take besides the AssumeRole parameters by name.
_ACCEPTED = frozenset({*REQUEST_PARAMETERS, "additional_kwargs"})


@dataclasses.dataclass(frozen=True, repr=False)
class TenantKey:
    """A tenant's identity: the role and every AssumeRole parameter that changes its
    credentials, normalized (TokenCode, a one-time code, is not part of it).

    Keys are equal when the requests are the same request to STS. The repr shows the
    role ARN and ``id``, a salted digest, never a parameter's value.
    """

    #: The ARN of the tenant's role.
    role_arn: str
    # The canonical JSON of the normalized request: compared whole, never hashed alone.
    _material: str

    @property
    def id(self) -> str:
        """A short digest of the key, stable within this process only (for logs)."""
        return hashlib.sha256(_ID_SALT + self._material.encode()).hexdigest()[:12]

    def __repr__(self) -> str:
        return f"TenantKey(RoleArn={self.role_arn!r}, id={self.id!r})"


@dataclasses.dataclass(frozen=True)
class TenantStats:
    """A snapshot of a ``TenantSessions`` registry's counters (``tenants.stats()``)."""

    #: Tenants held (each an assumed-role session).
    tenants: int
    #: Clients open or being created.
    open_clients: int
    #: ``client()`` requests served by a client already open or being created (shared:
    #: by a tenant already held).
    hits: int
    #: ``client()`` requests that had to create their client (shared: their tenant).
    misses: int
    #: Clients created so far (shared and per tenant).
    clients_created: int
    #: Clients closed to make room (the bound) or after ``idle_timeout``.
    evictions: int
    #: Tenants forgotten to keep ``max_sessions``.
    tenant_evictions: int
    #: Requests that waited for a slot because every open client was held.
    slot_waits: int
    #: Refreshes of this registry's roles that got credentials from STS (AssumeRole calls).
    assume_role_calls: int
    #: Refreshes of this registry's roles that got credentials from the cache.
    cache_loads: int
    #: Failed refreshes of this registry's roles, by STS error code (or exception type).
    refresh_failures: Mapping[str, int]


class _Tenant:
    __slots__ = ("clients", "key", "session")

    def __init__(self, key: TenantKey, session: AssumedRoleSession) -> None:
        self.key = key
        self.session = session
        self.clients = 0  # client entries created, open or closing


class _Client:
    __slots__ = ("client", "context", "key", "last_used", "refs", "state", "task", "tenant")

    def __init__(self, key: tuple[Any, ...], tenant: _Tenant) -> None:
        self.key = key
        self.tenant = tenant
        self.refs = 0  # requests holding (or waiting for) this client
        self.state = "creating"  # creating -> open -> closing
        self.last_used = time.monotonic()
        self.task: asyncio.Task[Any] | None = None
        self.context: Any = None
        self.client: Any = None


def _positive_int(name: str, value: object) -> list[tuple[str, str]]:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return [(name, f"must be a whole number >= 1, got {_shown(value)}")]
    return []


def _shown(value: object) -> str:
    # Numbers are shown; any other value by its type only (it could be a secret).
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    return type(value).__name__


class TenantSessions:
    """A bounded registry of assumed-role sessions, one per tenant, and their clients.

    ``async with TenantSessions(parent, ...) as tenants:`` around the service's life
    (its lifespan). Every role is assumed through ``parent``. ``max_clients``: the most
    clients open at once (100); ``idle_timeout``: seconds after which an unused client
    is closed (300; None: only when the bound needs room); ``max_sessions``: the most
    tenants kept (10 x ``max_clients`` by default, at least ``max_clients``);
    ``cache``: passed to every ``assume_role`` (an ``AioJSONFileCache`` shared by worker
    processes makes one AssumeRole per tenant between them); ``share_sts_clients``:
    refreshes go through one long-lived STS client (``SharedStsClients``) while open;
    ``share_clients``: tenants' requests share one client per service, region, endpoint
    and config (see the module docstring), where that is safe.

    The registry belongs to the event loop it is entered in. Leaving it waits for the
    requests inside ``client()`` to finish (it cancels none), then closes every client.

    Raises:
        InvalidParameterError: a bad ``parent``, bound, timeout or cache (named).
    """

    def __init__(
        self,
        parent: AioSession,
        *,
        max_clients: int = 100,
        idle_timeout: float | None = 300.0,
        max_sessions: int | None = None,
        cache: Any = None,
        share_sts_clients: bool = True,
        share_clients: bool = True,
    ) -> None:
        problems: list[tuple[str, str]] = []
        if not isinstance(parent, AioSession):
            problems.append(
                ("parent", f"must be an aiobotocore AioSession, got {type(parent).__name__}")
            )
        problems += _positive_int("max_clients", max_clients)
        if max_sessions is not None:
            problems += _positive_int("max_sessions", max_sessions)
            if not problems and max_sessions < max_clients:
                problems.append(("max_sessions", "must be at least max_clients"))
        if idle_timeout is not None and (
            isinstance(idle_timeout, bool)
            or not isinstance(idle_timeout, (int, float))
            or not math.isfinite(idle_timeout)
            or idle_timeout < 0
        ):
            problems.append(
                ("idle_timeout", f"must be seconds >= 0 or None, got {_shown(idle_timeout)}")
            )
        for name, flag in (
            ("share_sts_clients", share_sts_clients),
            ("share_clients", share_clients),
        ):
            if not isinstance(flag, bool):
                problems.append((name, "must be True or False"))
        if problems:
            raise InvalidParameterError(problems, function="TenantSessions")
        try:
            validate_options(region_name=None, cache=cache, additional_kwargs=None)
        except InvalidParameterError as error:
            raise InvalidParameterError(error.problems, function="TenantSessions") from None
        self._parent = parent
        self._max_clients = max_clients
        self._max_sessions = max_sessions if max_sessions is not None else 10 * max_clients
        self._idle_timeout = None if idle_timeout is None else float(idle_timeout)
        self._cache = cache
        self._share_sts_clients = share_sts_clients
        self._shared: SharedClients | None = None
        self._share_clients = share_clients
        self._state = "new"  # new -> open -> closing -> closed
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tenants: collections.OrderedDict[TenantKey, _Tenant] = collections.OrderedDict()
        self._clients: collections.OrderedDict[tuple[Any, ...], _Client] = (
            collections.OrderedDict()
        )
        self._roles: collections.Counter[str] = collections.Counter()
        self._slots_used = 0  # clients being created, open or closing
        self._closing = 0
        self._slot_demand = 0
        self._waiters: list[asyncio.Future[None]] = []
        self._active = 0  # requests inside client()
        self._background: set[asyncio.Task[Any]] = set()
        self._stack = AsyncExitStack()
        self._reaper: asyncio.Task[None] | None = None
        self._counts: collections.Counter[str] = collections.Counter()
        self._failures: collections.Counter[str] = collections.Counter()
        self._known_services: frozenset[str] | None = None
        # Every tenant's clients: one SSL context per distinct verify/cert/proxy settings
        # for the registry's life, as in a fan-out (it holds no credentials).
        self._ssl_sharing = ssl_sharing_config()

    # --- the registry's life ---

    async def __aenter__(self) -> TenantSessions:
        if self._state != "new":
            raise RuntimeError("a TenantSessions can be entered once")
        self._loop = asyncio.get_running_loop()
        self._state = "open"
        if self._share_sts_clients:
            await self._stack.enter_async_context(SharedStsClients(self._parent))
        if self._share_clients:
            self._shared = SharedClients(self._parent, max_pool_connections=self._max_clients)
            await self._stack.enter_async_context(self._shared)
        self._stack.callback(add_refresh_listener(self._on_refresh))
        if self._idle_timeout is not None:
            self._reaper = asyncio.create_task(self._reap(self._idle_timeout))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Wait for the requests inside ``client()`` (none is cancelled), close every
        client, stop sharing STS clients. Later ``client()`` calls raise RuntimeError.

        Never raises for a client that fails to close (logged at WARNING).
        """
        if self._state in ("closing", "closed"):
            return
        self._state = "closing"
        while self._active or self._background:
            if self._active:
                await self._wait_for_change()
            else:
                await asyncio.gather(*self._background, return_exceptions=True)
        if self._reaper is not None:
            self._reaper.cancel()
            await asyncio.gather(self._reaper, return_exceptions=True)
        for entry in list(self._clients.values()):
            if entry.state == "open":
                self._start_close(entry, evicted=False)
        await asyncio.gather(*self._background, return_exceptions=True)
        self._tenants.clear()
        self._roles.clear()
        self._state = "closed"
        await self._stack.aclose()

    def _check_usable(self) -> None:
        if self._state != "open":
            raise RuntimeError(f"this TenantSessions is {self._state}: use it inside async with")
        if asyncio.get_running_loop() is not self._loop:
            raise RuntimeError("this TenantSessions belongs to another event loop")

    # --- tenants ---

    def key(self, role_arn: str, **assume_role_kwargs: Any) -> TenantKey:
        """The tenant identity of ``role_arn`` with these AssumeRole parameters.

        Raises:
            InvalidParameterError: a keyword that is no AssumeRole parameter, or a value
                normalization refuses (nested too deep); other bad values are found
                when the tenant is first used.
        """
        return _tenant_key(role_arn, assume_role_kwargs, "TenantSessions.key")

    def session(self, role_arn: str, **assume_role_kwargs: Any) -> AssumedRoleSession:
        """The tenant's assumed-role session (made on first request, no network call).

        Takes ``assume_role``'s AssumeRole parameters by name (``ExternalId=...``,
        ``Policy=...``, ``additional_kwargs=...``). The session stays usable after the
        registry forgets the tenant or is closed. Its errors are ``assume_role``'s.

        Raises:
            InvalidParameterError: an invalid parameter, named.
            RuntimeError: the registry is not open.
        """
        if self._state != "open":
            raise RuntimeError(f"this TenantSessions is {self._state}: use it inside async with")
        return self._tenant(role_arn, assume_role_kwargs, "TenantSessions.session").session

    def _tenant(self, role_arn: str, kwargs: dict[str, Any], function: str) -> _Tenant:
        key = _tenant_key(role_arn, kwargs, function)
        tenant = self._tenants.get(key)
        if tenant is not None:
            self._tenants.move_to_end(key)
            return tenant
        session = assume_role(self._parent, role_arn, cache=self._cache, **kwargs)
        tenant = self._tenants[key] = _Tenant(key, session)
        self._roles[role_arn] += 1
        self._forget_tenants()
        return tenant

    def _forget_tenants(self) -> None:
        excess = len(self._tenants) - self._max_sessions
        if excess <= 0:
            return
        for key, tenant in list(self._tenants.items())[:-1]:  # never the one just made
            if excess <= 0:
                break
            if tenant.clients == 0:
                del self._tenants[key]
                self._forget_role(key.role_arn)
                self._counts["tenant_evictions"] += 1
                excess -= 1

    def _forget_role(self, role_arn: str) -> None:
        self._roles[role_arn] -= 1
        if self._roles[role_arn] <= 0:
            del self._roles[role_arn]

    # --- clients ---

    @asynccontextmanager
    async def client(
        self,
        role_arn: str,
        service_name: str,
        *,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        config: Config | None = None,
        **assume_role_kwargs: Any,
    ) -> AsyncIterator[Any]:
        """``async with tenants.client(role_arn, "s3", ExternalId=...) as s3:`` a
        long-lived client for the tenant's requests to this service, region, endpoint and
        ``config`` (the same ``Config`` object).

        The first request assumes the role (once, however many arrive together). With
        ``share_clients`` (the default), ``s3`` is a view of one client every tenant
        shares, each call signed with this tenant's credentials (``SharedClientView``);
        otherwise, and for clients with per-account state, the tenant's own client,
        created once, open after the block for the next requests until the bound or
        ``idle_timeout`` closes it. Clients of a region other than the parent's:
        ``region_name``.

        Raises:
            InvalidParameterError: an invalid parameter, named.
            RuntimeError: the registry is not open, or belongs to another event loop.
            botocore.exceptions.ClientError, ParentCredentialsError, RefreshError, ...:
                the tenant's role could not be assumed (``assume_role``'s errors); only
                this tenant's requests get them.
        """
        self._check_usable()
        problems = _client_problems(service_name, region_name, endpoint_url, config)
        if problems:
            raise InvalidParameterError(problems, function="TenantSessions.client")
        if service_name not in self._services():
            raise InvalidParameterError(
                [("service_name", "is not a service botocore knows")],
                function="TenantSessions.client",
            )
        known = len(self._tenants)
        tenant = self._tenant(role_arn, assume_role_kwargs, "TenantSessions.client")
        shared = self._shared
        if shared is not None and shared.shareable(
            service_name, endpoint_url=endpoint_url, config=config
        ):
            self._counts["misses" if len(self._tenants) > known else "hits"] += 1
            self._active += 1
            try:
                # Assumed first: a tenant whose role fails gets its error, before any client.
                await tenant.session.prefetch_credentials()
                async with shared.client(
                    tenant.session,
                    service_name,
                    region_name=region_name or self._parent.get_config_variable("region"),
                    endpoint_url=endpoint_url,
                    config=config,
                ) as view:
                    yield view
            finally:
                self._active -= 1
                self._notify()
            return
        key = (tenant.key, service_name, region_name, endpoint_url, config)
        entry = self._clients.get(key)
        if entry is None or entry.state == "closing":
            self._counts["misses"] += 1
            entry = self._clients[key] = _Client(key, tenant)
            tenant.clients += 1
            entry.task = self._in_background(self._create(entry, region_name, endpoint_url))
            entry.task.add_done_callback(_retrieve_exception)
        else:
            self._counts["hits"] += 1
            self._clients.move_to_end(key)
        self._tenants.move_to_end(tenant.key)
        entry.refs += 1
        self._active += 1
        try:
            assert entry.task is not None
            # Shielded: a cancelled request leaves; the creation goes on for the others.
            client = await asyncio.shield(entry.task)
            yield client
        finally:
            entry.refs -= 1
            entry.last_used = time.monotonic()
            self._active -= 1
            self._notify()

    async def _create(self, entry: _Client, region_name: str | None, endpoint: str | None) -> Any:
        session = entry.tenant.session
        share_ssl_contexts(session, self._ssl_sharing)  # a client of its own: once
        try:
            # Assumed first (single flight in the session's refresh engine), outside any
            # slot: a tenant whose role fails never takes (or evicts) a client.
            await session.prefetch_credentials()
            await self._reserve_slot()
        except BaseException:
            self._drop(entry)
            raise
        try:
            context = session.create_client(
                entry.key[1], region_name=region_name, endpoint_url=endpoint, config=entry.key[4]
            )
            entry.client = await context.__aenter__()
        except BaseException:
            self._slots_used -= 1
            self._drop(entry)
            raise
        entry.context = context
        entry.state = "open"
        self._counts["clients_created"] += 1
        return entry.client

    def _drop(self, entry: _Client) -> None:
        """Forget an entry (failed, or closed): its key can be created again."""
        if self._clients.get(entry.key) is entry:
            del self._clients[entry.key]
        entry.tenant.clients -= 1
        self._notify()

    def _services(self) -> frozenset[str]:
        if self._known_services is None:  # botocore's loader lists them: once
            self._known_services = frozenset(self._parent.get_available_services())
        return self._known_services

    # --- the bound ---

    async def _reserve_slot(self) -> None:
        self._slot_demand += 1
        waited = False
        try:
            while self._slots_used >= self._max_clients:
                if self._closing < self._slot_demand:
                    victim = self._least_recently_used_idle()
                    if victim is not None:
                        self._start_close(victim, evicted=True)
                        continue
                if not waited:
                    waited = True
                    self._counts["slot_waits"] += 1
                await self._wait_for_change()
            self._slots_used += 1
        finally:
            self._slot_demand -= 1

    def _least_recently_used_idle(self) -> _Client | None:
        for entry in self._clients.values():
            if entry.state == "open" and entry.refs == 0:
                return entry
        return None

    def _start_close(self, entry: _Client, *, evicted: bool) -> None:
        entry.state = "closing"
        self._closing += 1
        if evicted:
            self._counts["evictions"] += 1
        self._in_background(self._close(entry))

    def _in_background(self, coroutine: Any) -> asyncio.Task[Any]:
        """A task of the registry's own (a creation, a close), awaited by ``aclose``."""
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def _close(self, entry: _Client) -> None:
        try:
            await entry.context.__aexit__(None, None, None)
        except Exception as error:
            logger.warning(
                "Closing a %s client for %s failed (%s)",
                entry.key[1],
                entry.tenant.key.role_arn,
                type(error).__name__,
            )
        finally:
            self._closing -= 1
            self._slots_used -= 1
            self._drop(entry)

    async def _wait_for_change(self) -> None:
        assert self._loop is not None
        waiter = self._loop.create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _notify(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def close_idle(self) -> int:
        """Close now every client no request has used for ``idle_timeout`` seconds.

        The registry does this by itself every quarter of ``idle_timeout``; returns how
        many were closed (counted as evictions). Never raises.
        """
        if self._idle_timeout is None or self._state != "open":
            return 0
        deadline = time.monotonic() - self._idle_timeout
        idle = [
            entry
            for entry in self._clients.values()
            if entry.state == "open" and entry.refs == 0 and entry.last_used <= deadline
        ]
        for entry in idle:
            self._start_close(entry, evicted=True)
        while any(entry.key in self._clients for entry in idle):
            await self._wait_for_change()
        return len(idle)

    async def _reap(self, idle_timeout: float) -> None:
        while True:
            await asyncio.sleep(max(idle_timeout / 4, 0.05))
            await self.close_idle()

    # --- observability ---

    def _on_refresh(self, event: RefreshEvent) -> None:
        if event.role_arn not in self._roles:
            return
        if event.error_code is not None:
            self._failures[event.error_code] += 1
        elif event.source == "sts":
            self._counts["assume_role_calls"] += 1
        else:
            self._counts["cache_loads"] += 1

    def stats(self) -> TenantStats:
        """A snapshot of the registry's counters. Never raises.

        The refresh counters come from the library's refresh events for the roles of
        the tenants held, so a session of the same role outside the registry, in this
        process, is counted too.
        """
        counts = self._counts
        shared = self._shared
        return TenantStats(
            tenants=len(self._tenants),
            open_clients=self._slots_used + (shared.client_count if shared is not None else 0),
            hits=counts["hits"],
            misses=counts["misses"],
            clients_created=counts["clients_created"]
            + (shared.clients_created if shared is not None else 0),
            evictions=counts["evictions"],
            tenant_evictions=counts["tenant_evictions"],
            slot_waits=counts["slot_waits"],
            assume_role_calls=counts["assume_role_calls"],
            cache_loads=counts["cache_loads"],
            refresh_failures=dict(self._failures),
        )

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self._state} tenants={len(self._tenants)} "
            f"clients={self._slots_used}/{self._max_clients}>"
        )


def _retrieve_exception(task: asyncio.Task[Any]) -> None:
    # Every request waiting for a failed creation may have been cancelled.
    if not task.cancelled():
        task.exception()


def _client_problems(
    service_name: object, region_name: object, endpoint_url: object, config: object
) -> list[tuple[str, str]]:
    problems = []
    if not isinstance(service_name, str) or not service_name:
        problems.append(("service_name", f"must be a service name, got {_shown(service_name)}"))
    if region_name is not None:
        if not isinstance(region_name, str):
            problems.append(
                ("region_name", f"must be a region name or None, got {_shown(region_name)}")
            )
        else:
            problem = region_name_problem(region_name)
            if problem is not None:
                problems.append(("region_name", problem))
    if endpoint_url is not None and not isinstance(endpoint_url, str):
        problems.append(("endpoint_url", f"must be a URL or None, got {_shown(endpoint_url)}"))
    if config is not None and not isinstance(config, Config):
        problems.append(("config", f"must be a botocore Config, got {_shown(config)}"))
    return problems


def _tenant_key(role_arn: object, kwargs: Mapping[str, Any], function: str) -> TenantKey:
    """The normalized identity of a request: ``normalize_assume_role_args``'s output
    (the one normalization), its Policy parsed, as canonical JSON with the RoleArn."""
    unknown = sorted(set(kwargs) - _ACCEPTED)
    problems = [(name, "is not an AssumeRole parameter") for name in unknown]
    if not isinstance(role_arn, str):
        problems.append(("RoleArn", f"must be a role ARN (str), got {_shown(role_arn)}"))
    extra = kwargs.get("additional_kwargs")
    if extra is not None and not isinstance(extra, Mapping):
        problems.append(("additional_kwargs", f"must be a dict, got {_shown(extra)}"))
    if problems:
        raise InvalidParameterError(problems, function=function)
    named = {name: value for name, value in kwargs.items() if name != "additional_kwargs"}
    args = normalize_assume_role_args(**named, additional_kwargs=extra)
    request = {name: value for name, value in args.items() if name != "TokenCode"}
    request["RoleArn"] = role_arn
    policy = request.get("Policy")
    if isinstance(policy, str):
        # Not a policy document: left as it is, for assume_role's validation to name.
        with contextlib.suppress(ValueError, RecursionError):
            request["Policy"] = json.loads(policy)
    try:
        material = json.dumps(request, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        problems = []
        for name, value in request.items():
            try:
                json.dumps(value, allow_nan=False)
            except (TypeError, ValueError):
                problems.append((name, "must hold only JSON values (str, numbers, lists, dicts)"))
        raise InvalidParameterError(problems, function=function) from None
    assert isinstance(role_arn, str)
    return TenantKey(role_arn, material)
