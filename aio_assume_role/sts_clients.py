"""Long-lived STS clients shared by the refreshes of sessions with a common parent.

Creating an aiobotocore client costs milliseconds of CPU and a new connection
pool, so a program that assumes roles in hundreds of accounts at once spends most
of its time building STS clients it uses once. While a ``SharedStsClients`` is
open, every refresh of a session assumed through its parent (at any depth of
chaining) calls AssumeRole through one shared, lazily created client per signing
session instead. Outside its lifetime refreshes go back to a client per call, so
sessions outlive it safely and nothing needs closing by default.
"""

from __future__ import annotations

import asyncio
import logging
import os
import weakref
from collections.abc import Callable, Hashable
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any

from aiobotocore.session import AioSession
from botocore.config import Config
from botocore.configprovider import ConfiguredEndpointProvider

from ._core import pacing
from ._core.response import read_sts_timestamps
from ._core.windows import REFRESH_TIMEOUT_SECONDS, sts_timeouts
from .errors import InvalidParameterError

__all__ = ["SharedStsClients"]


logger = logging.getLogger("aio_assume_role")

# session -> the open owners registered for it, most recently opened last. Keyed by
# the session itself, weakly: an entry can never be found through a reused id(), and
# goes with its session.
_REGISTRY: weakref.WeakKeyDictionary[AioSession, list[SharedStsClients]] = (
    weakref.WeakKeyDictionary()
)


class _Entry:
    """One shared client: its creation task, and what its key's ids refer to."""

    def __init__(self, task: asyncio.Task[tuple[Any, Any]], referents: tuple[object, ...]) -> None:
        self.task = task
        self.referents = referents  # keeps the key's ids from being reused while cached


class _ClientPool:
    """STS clients of one event loop, one per signer, created once each, counted in use.

    The one pooling mechanism: ``SharedStsClients`` (an owner the caller opens and
    closes) holds one, and a ``_Burst`` (opened by the first refresh, closed by the
    last) is one. Sized by ``pool_config``.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, config: Config | None) -> None:
        self.loop = loop
        self.config = config
        self.accepting = True
        self.entries: dict[Hashable, _Entry] = {}
        # The endpoint each signing session configures for STS (environment, config
        # file), looked up once per session while the pool lives, not at every call.
        self._endpoints: weakref.WeakKeyDictionary[AioSession, Any] = weakref.WeakKeyDictionary()
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def checkout(self, session: AioSession) -> Any | None:
        """The shared STS client for ``session``, counted in flight; None if not usable."""
        if not self.accepting or asyncio.get_running_loop() is not self.loop:
            return None
        credentials = await session.get_credentials()
        if not self.accepting:  # closed while awaiting: close() has taken its snapshot
            return None
        default_config = session.get_default_client_config()
        key = (
            id(session),
            id(credentials),
            id(default_config),
            session.get_config_variable("region"),
            self._endpoint(session),
        )

        def create() -> Any:
            logger.debug("Creating a shared STS client")
            return session.create_client("sts", config=self.config)

        return await self.shared(key, (session, credentials, default_config), create, _prepare)

    async def shared(
        self,
        key: Hashable,
        referents: tuple[object, ...],
        create: Callable[[], Any],
        prepare: Callable[[Any], None] | None = None,
    ) -> Any:
        """The client for ``key``, counted in flight (``checkin()`` when done with it).

        The first caller for a key creates it, in a task of the pool's own: ``create()``
        gives its ``create_client`` context, ``prepare(client)`` runs once it is open.
        ``referents`` are kept while the entry is, so ids in ``key`` cannot be reused.
        """
        entry = self.entries.get(key)
        if entry is None:
            task = asyncio.ensure_future(self._create(key, create, prepare))
            task.add_done_callback(_retrieve_exception)
            entry = _Entry(task, referents)
            # An eager task factory (Python 3.12+) may have run the creation to its
            # failure already, before there was an entry for _create to remove.
            if not (task.done() and (task.cancelled() or task.exception() is not None)):
                self.entries[key] = entry
        self.in_flight += 1
        self._idle.clear()
        try:
            # Shielded: a cancelled caller must not cancel a creation others wait for.
            _, client = await asyncio.shield(entry.task)
        except BaseException:
            self.checkin()
            raise
        return client

    def _endpoint(self, session: AioSession) -> Any:
        try:
            return self._endpoints[session]
        except KeyError:
            endpoint = self._endpoints[session] = _configured_sts_endpoint(session)
            return endpoint
        except TypeError:  # not weak-referenceable: looked up each time
            return _configured_sts_endpoint(session)

    def checkin(self) -> None:
        """Count the end of a call made with a client from ``checkout``."""
        self.in_flight -= 1
        if self.in_flight == 0:
            self._idle.set()

    async def close(self) -> None:
        """Accept no more checkouts, wait for the calls in flight, close every client."""
        self.accepting = False
        await self._idle.wait()
        entries, self.entries = list(self.entries.values()), {}
        # Creations nobody waits for any more still finish, so their clients get closed.
        results = await asyncio.gather(*(entry.task for entry in entries), return_exceptions=True)
        for result in results:
            if isinstance(result, tuple):
                context, _ = result
                await context.__aexit__(None, None, None)

    async def _create(
        self, key: Hashable, create: Callable[[], Any], prepare: Callable[[Any], None] | None
    ) -> tuple[Any, Any]:
        try:
            context = create()
            client = await context.__aenter__()
            if prepare is not None:
                prepare(client)  # the STS pool's: _prepare (pacing, inert unless bound)
        except BaseException:
            entry = self.entries.get(key)
            if entry is not None and entry.task is asyncio.current_task():
                del self.entries[key]  # the next caller tries again
            raise
        return context, client


class SharedStsClients:
    """Share STS clients among the refreshes of every session assumed through ``parent``.

    Use as ``async with SharedStsClients(parent):`` around the work (or call
    ``aclose()`` when done). While open, any refresh whose AssumeRole call is
    signed by ``parent``, or by a session assumed through it at any depth, uses one
    client per (signing session, its credentials object, region, configured
    endpoint, default client config), created on first need, once, however many
    refreshes ask at the same time. ``config`` is merged over the signing
    session's default client config (e.g. ``Config(max_pool_connections=50)`` to
    let 50 AssumeRole calls run at once). On close, in-flight calls finish, the
    clients are closed, and later refreshes use a client per call again.

    The clients belong to the asyncio event loop the owner was opened in;
    refreshes run in another loop (or under trio) use a client per call. The STS
    endpoint a signing session configures (``AWS_ENDPOINT_URL``, config file) is
    read when it first needs a client; a change while the owner is open is seen by
    the next owner.

    Raises:
        InvalidParameterError: ``parent`` is not an ``AioSession``, or ``config`` not a
            botocore ``Config``.
    """

    def __init__(self, parent: AioSession, *, config: Config | None = None) -> None:
        if not isinstance(parent, AioSession):
            raise InvalidParameterError(
                [("parent", f"must be an aiobotocore AioSession, got {type(parent).__name__}")]
            )
        if config is not None and not isinstance(config, Config):
            raise InvalidParameterError(
                [("config", f"must be a botocore Config, got {type(config).__name__}")]
            )
        self._parent = parent
        self._config = _with_timeouts(parent.get_default_client_config(), config)
        self._state = "new"  # new -> open -> closing -> closed
        self._pool: _ClientPool | None = None  # made when opened, in the running loop

    @property
    def parent(self) -> AioSession:
        """The session whose descendants' refreshes this shares clients for."""
        return self._parent

    @property
    def closed(self) -> bool:
        """Whether ``aclose()`` has run (or is running)."""
        return self._state in ("closing", "closed")

    @property
    def client_count(self) -> int:
        """How many shared clients exist (created or being created) right now."""
        return len(self._pool.entries) if self._pool is not None else 0

    async def __aenter__(self) -> SharedStsClients:
        """Open: from now on, refreshes under ``parent`` in this event loop share clients.

        Raises:
            RuntimeError: it was entered before (create a new one).
        """
        if self._state != "new":
            raise RuntimeError("a SharedStsClients can be entered only once; create a new one")
        self._pool = _ClientPool(asyncio.get_running_loop(), self._config)
        self._state = "open"
        _REGISTRY.setdefault(self._parent, []).append(self)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop sharing, wait for in-flight AssumeRole calls, close every client.

        Idempotent.

        Raises:
            RuntimeError: called from another event loop than the one it was opened in.
        """
        if self._pool is None or self._state == "closed":
            self._state = "closed"
            return
        if asyncio.get_running_loop() is not self._pool.loop:
            raise RuntimeError(
                "SharedStsClients.aclose() must run in the event loop it was opened in"
            )
        if self._state == "open":
            self._state = "closing"
            self._unregister()
        await self._pool.close()
        self._state = "closed"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._state} clients={self.client_count}>"

    def _unregister(self) -> None:
        owners = _REGISTRY.get(self._parent, [])
        if self in owners:
            owners.remove(self)
        if not owners:
            _REGISTRY.pop(self._parent, None)

    def _open_pool(self, loop: asyncio.AbstractEventLoop) -> _ClientPool | None:
        """Its pool, if it is open in ``loop``."""
        pool = self._pool
        return pool if self._state == "open" and pool is not None and pool.loop is loop else None


class _Burst(_ClientPool):
    """The STS client pool of refreshes that overlap in time, with no owner to close it.

    The default when no ``SharedStsClients`` is open: the first refresh opens it,
    refreshes arriving while any is in flight join it, and the last to finish
    closes it. Sessions that refresh together (created together, or a burst of
    first uses) so build one client instead of one each, and nothing stays open.
    """

    # Pooled connections for a burst: botocore's default of 10 would queue the
    # AssumeRole calls that separate per-call clients would run side by side.
    MIN_POOL_CONNECTIONS = 50

    def __init__(self, parent: AioSession, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(
            loop, _with_timeouts(parent, pool_config(parent, self.MIN_POOL_CONNECTIONS))
        )
        self.parent = parent

    async def close_if_idle(self) -> None:
        """Close, if no refresh is using or waiting for the client any more."""
        if self.in_flight or not self.accepting:
            return
        loop = self.loop
        bursts = _BURSTS.get(loop)
        if bursts is not None and bursts.get(self.parent) is self:
            del bursts[self.parent]
            if not bursts:
                _BURSTS.pop(loop, None)
        # Shielded: a caller cancelled meanwhile must not leave the clients half closed.
        await asyncio.shield(self.close())


# loop -> session -> the burst in progress for refreshes signed by that session, keyed
# weakly by the objects themselves (never by an id() that a new object may reuse).
_BURSTS: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, weakref.WeakKeyDictionary[AioSession, _Burst]
] = weakref.WeakKeyDictionary()


def _forget_after_fork() -> None:
    # A forked child must never use the parent process's clients: their pooled
    # connections are the parent's sockets. Its refreshes start from nothing.
    _REGISTRY.clear()
    _BURSTS.clear()


os.register_at_fork(after_in_child=_forget_after_fork)


def burst_clients(session: AioSession) -> _Burst | None:
    """The burst that a refresh signed by ``session`` joins, or opens (asyncio only)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # not asyncio (trio, through anyio): a client per call
        return None
    bursts = _BURSTS.get(loop)
    if bursts is None:
        bursts = _BURSTS[loop] = weakref.WeakKeyDictionary()
    burst = bursts.get(session)
    if burst is None or not burst.accepting:
        burst = bursts[session] = _Burst(session, loop)
    return burst


def active_shared_clients(session: AioSession) -> SharedStsClients | None:
    """The open ``SharedStsClients`` that covers ``session``'s refreshes in this loop, if any.

    The nearest one wins: registered for ``session`` itself, else for its
    ``assume_role_parent_session``, and so on up the chain.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # not asyncio (trio, through anyio): owners are asyncio-only
        return None
    current: object = session
    while current is not None:
        try:
            owners = list(_REGISTRY.get(current, ()))
        except TypeError:  # not weak-referenceable, so never registered
            owners = []
        for owner in reversed(owners):
            if owner._open_pool(loop) is not None:
                return owner
        current = getattr(current, "assume_role_parent_session", None)
    return None


def _configured_sts_endpoint(session: AioSession) -> Any:
    # The endpoint URL the session would configure for an STS client (environment
    # variables and config file), which create_client resolves the same way.
    provider = ConfiguredEndpointProvider(
        full_config=session.full_config,
        scoped_config=session.get_scoped_config(),
        client_name="sts",
    )
    return provider.provide()


def pool_config(session: AioSession, connections: int) -> Config:
    """A client config with room for ``connections`` calls at once: the larger of that and
    ``session``'s own ``max_pool_connections`` (botocore's default, 10, if unset).

    The one place a shared client's pool is sized (bursts; fan-outs, at their
    concurrency). Never raises.
    """
    default = session.get_default_client_config()
    configured = getattr(default, "max_pool_connections", None) or 10
    return Config(max_pool_connections=max(configured, connections))


def _with_timeouts(default: Any, config: Config | None) -> Config | None:
    """``config`` over connect and read timeouts that fit a refresh's deadline.

    ``default`` is the signing session's default client config (or the session, to
    read it from): where it sets its own timeouts, they stay (``sts_timeouts``).
    """
    if isinstance(default, AioSession):
        default = default.get_default_client_config()
    timeouts = sts_timeouts(default, REFRESH_TIMEOUT_SECONDS)
    if timeouts is None:
        return config
    return timeouts if config is None else timeouts.merge(config)


def _prepare(client: Any) -> None:
    """A shared STS client, once open: paced where a limiter is bound, and its timestamps
    read quickly."""
    pacing.install(client)
    read_sts_timestamps(client)


def _retrieve_exception(task: asyncio.Task[Any]) -> None:
    # Waiters see the error; this keeps asyncio from logging it when none are left.
    if not task.cancelled():
        task.exception()


# --- where the fetcher gets the STS client it calls AssumeRole with ---


def sts_client(parent: AioSession) -> AbstractAsyncContextManager[Any]:
    """An STS client signed with the parent's credentials as they are at call time (no
    explicit keys, so role chaining works however the parent's refresh): an open
    ``SharedStsClients``'s, else the current burst's, else (outside asyncio) its own."""
    return _StsClientLease(parent)


class _StsClientLease:
    """``sts_client(parent)``'s context: checks a shared client out and back in, or opens
    and closes a client for this call. A class rather than an ``asynccontextmanager``:
    a fan-out enters one per account."""

    __slots__ = ("_burst", "_own", "_parent", "_pool")

    def __init__(self, parent: AioSession) -> None:
        self._parent = parent
        self._pool: _ClientPool | None = None
        self._burst: _Burst | None = None
        self._own: Any = None  # the context of a client created for this call only

    async def __aenter__(self) -> Any:
        parent = self._parent
        owner = active_shared_clients(parent)
        if owner is not None:
            pool = owner._open_pool(asyncio.get_running_loop())
        else:
            pool = self._burst = burst_clients(parent)
        try:
            client = await pool.checkout(parent) if pool is not None else None
            if client is not None:
                self._pool = pool
                return client
            own = parent.create_client("sts", config=_with_timeouts(parent, None))
            client = await own.__aenter__()
            self._own = own
            read_sts_timestamps(client)
            return client
        except BaseException:
            await self._release_burst()
            raise

    async def __aexit__(self, *exc_info: Any) -> None:
        try:
            if self._own is not None:
                await self._own.__aexit__(*exc_info)
            elif self._pool is not None:
                self._pool.checkin()
        finally:
            await self._release_burst()

    async def _release_burst(self) -> None:
        if self._burst is not None:
            await self._burst.close_if_idle()
