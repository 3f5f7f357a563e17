"""Every use of a private name of botocore, aiobotocore or boto3, in one place.

Each function or class here says what internal it relies on and falls back to a
correct (if slower) behaviour when that internal is missing: features are detected
with ``getattr``/``hasattr``, never by comparing version numbers. ``tests/test_compat.py``
holds a drift test for each (behavioural, or the hash of the upstream source that a
function here mirrors). No other module of the package touches an underscore name
of those packages (``tests/test_compat.py`` checks that too).
"""

from __future__ import annotations

import copy
import functools
import sys
import types
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.configprovider import ConfigValueStore
from botocore.hooks import EventAliaser, HierarchicalEmitter
from botocore.useragent import UserAgentString

if TYPE_CHECKING:  # aiobotocore and boto3 are imported where used: the sync path loads
    import boto3  # no aiobotocore, and the async path does not need boto3

# --- Event emitters ---------------------------------------------------------------

# The tables a botocore ``HierarchicalEmitter`` keeps its handlers in (set in its
# ``__init__``, copied by its ``__copy__``). A child session's emitter reads the
# shared template's tables until its first own (un)registration.
EMITTER_TABLES = ("_handlers", "_unique_id_handlers", "_lookup_cache")


def emitter_tables_shareable() -> bool:
    """Whether a fresh ``HierarchicalEmitter`` has the tables ``CopyOnWriteEmitter`` shares."""
    emitter = HierarchicalEmitter()
    return all(hasattr(emitter, name) for name in EMITTER_TABLES)


# Whether HierarchicalEmitter.__init__ sets the tables and nothing else: then a
# CopyOnWriteEmitter reading a template's tables skips building its own empty ones.
_EMITTER_INIT_SETS_ONLY_TABLES = set(vars(HierarchicalEmitter())) == set(EMITTER_TABLES)


class CopyOnWriteEmitter(HierarchicalEmitter):
    """Reads the template's handlers until its first own (un)registration.

    Relies on ``EMITTER_TABLES`` being all an emitter's registration state (botocore
    has no copy-on-write emitter); only the four public mutators are intercepted,
    the emitting logic is botocore's (or, mixed with ``AioHierarchicalEmitter`` in
    ``aio_copy_on_write_emitter_class()``, aiobotocore's). Build it only if
    ``emitter_tables_shareable()``.
    """

    def __init__(self, template: HierarchicalEmitter | None = None) -> None:
        if template is None or not _EMITTER_INIT_SETS_ONLY_TABLES:
            super().__init__()
        self._shared = template is not None
        if template is not None:
            # Read-only while shared; the lookup cache holds the same answers for all.
            for name in EMITTER_TABLES:
                setattr(self, name, getattr(template, name))

    def _own(self) -> None:
        if self._shared:
            for name in EMITTER_TABLES[:2]:
                setattr(self, name, copy.copy(getattr(self, name)))
            self._lookup_cache: dict[str, Any] = {}
            self._shared = False

    def register(self, *args: Any, **kwargs: Any) -> None:
        self._own()
        super().register(*args, **kwargs)

    def register_first(self, *args: Any, **kwargs: Any) -> None:
        self._own()
        super().register_first(*args, **kwargs)

    def register_last(self, *args: Any, **kwargs: Any) -> None:
        self._own()
        super().register_last(*args, **kwargs)

    def unregister(self, *args: Any, **kwargs: Any) -> None:
        self._own()
        super().unregister(*args, **kwargs)

    def __copy__(self) -> CopyOnWriteEmitter:
        new: CopyOnWriteEmitter = super().__copy__()
        new._shared = False  # botocore's __copy__ gave it its own handlers already
        return new


@functools.cache
def aio_copy_on_write_emitter_class() -> type[CopyOnWriteEmitter]:
    """``CopyOnWriteEmitter`` with aiobotocore's emitting logic (imports aiobotocore)."""
    from aiobotocore.hooks import AioHierarchicalEmitter

    class AioCopyOnWriteEmitter(CopyOnWriteEmitter, AioHierarchicalEmitter):
        pass

    return AioCopyOnWriteEmitter


def builtin_handlers_registration(flavor: str) -> Callable[[Any, Any], None] | None:
    """The ``_register_builtin_handlers`` of ``AioSession`` (flavor ``"aio"``, which
    imports aiobotocore) or of botocore's ``Session``; None if it is gone."""
    if flavor == "aio":
        from aiobotocore.session import AioSession

        return getattr(AioSession, "_register_builtin_handlers", None)
    return getattr(botocore.session.Session, "_register_builtin_handlers", None)


def boto3_default_handlers_registration() -> Callable[[Any], None] | None:
    """``boto3.Session._register_default_handlers`` (imports boto3), or None if it is gone."""
    import boto3.session

    return getattr(boto3.session.Session, "_register_default_handlers", None)


@functools.cache
def builtin_handlers_template(flavor: str = "aio") -> HierarchicalEmitter | None:
    """An emitter with botocore's builtin handlers registered once, or None.

    ``flavor``: ``"aio"`` (an ``AioHierarchicalEmitter``, aiobotocore's handlers),
    ``"botocore"``, or ``"boto3"`` (botocore's, then those ``boto3.Session()``
    registers on its session). Runs ``Session._register_builtin_handlers(self,
    events)`` (which reads only ``self._events`` and ``self.register``) against a
    bare emitter: a real session would also run the user's session initializers,
    which each child runs itself. For boto3, ``boto3.Session._register_default_handlers
    (self)`` (which reads ``self._session.register`` and ``self.events``). None if a
    method or the emitter tables are missing: sessions then register the handlers
    themselves (``include_builtin_handlers=True``; boto3's, by its ``__init__``).
    """
    register = builtin_handlers_registration(flavor)
    if register is None or not emitter_tables_shareable():
        return None
    emitter: HierarchicalEmitter
    if flavor == "aio":
        from aiobotocore.hooks import AioHierarchicalEmitter

        emitter = AioHierarchicalEmitter()
    else:
        emitter = HierarchicalEmitter()
    events = EventAliaser(emitter)
    holder = types.SimpleNamespace(_events=events, register=events.register)
    register(holder, events)
    if flavor == "boto3":
        register_defaults = boto3_default_handlers_registration()
        if register_defaults is None:
            return None
        # ``events``: the emitter EC2's delete_tags docstring is generated with (boto3
        # binds each session's own); the template's, with the same builtin handlers.
        boto3_holder = types.SimpleNamespace(
            _session=types.SimpleNamespace(register=events.register), events=events
        )
        register_defaults(boto3_holder)
    return emitter


# --- The config store -------------------------------------------------------------


def lazy_registration(session: object) -> Callable[[str, Callable[[], Any]], None] | None:
    """The session's ``_components.lazy_register_component``, or None if either is gone."""
    return getattr(getattr(session, "_components", None), "lazy_register_component", None)


class LazyConfigStoreSession(botocore.session.Session):
    """A botocore session whose config store is built on first use, where botocore allows.

    Base of ``_core.child_session.LightChildSession`` (both paths' children; mixed with
    ``AioSession`` on the async one). Relies on botocore's ``Session.__init__``
    calling ``self._register_config_store()`` and on
    ``ComponentLocator.lazy_register_component`` (``self._components``). If the
    locator has no lazy registration, botocore's own (eager) registration runs; if
    botocore no longer calls the hook, it builds the store itself. Either way
    ``config_store_is_lazy`` is False and the store already exists after ``__init__``.
    The user agent creator (``_register_user_agent_creator``, which reads the platform
    and the environment) is registered lazily the same way, or botocore's way.
    """

    config_store_is_lazy = False

    def _build_config_store(self) -> ConfigValueStore:
        raise NotImplementedError

    def _register_config_store(self) -> None:
        if _register_lazily(self, "config_store", self._build_config_store):
            self.config_store_is_lazy = True
        else:
            super()._register_config_store()

    def _register_user_agent_creator(self) -> None:
        # Also on first use: it reads the platform and the environment (a client needs it).
        if not _register_lazily(self, "user_agent_creator", UserAgentString.from_environment):
            super()._register_user_agent_creator()


def _register_lazily(session: object, name: str, factory: Callable[[], Any]) -> bool:
    """Register ``factory`` as ``session``'s component ``name``, built on first use;
    False if botocore offers no lazy registration (the caller registers it its way)."""
    lazy = lazy_registration(session)
    if lazy is None:
        return False
    lazy(name, factory)
    return True


# --- A session's references to itself ---------------------------------------------
#
# botocore's Session.__init__ registers lazy components whose factories hold the
# session (bound methods, closures over ``self``) and a ``SessionVarDict`` holding it:
# every session is a reference cycle, garbage only the cycle collector frees. A fan-out
# drops thousands of children; as cycles, each one's ~40 objects count towards the
# collector's thresholds and trigger full collections of the whole heap. A child whose
# unbuilt factories hold it weakly is freed by reference counting the moment it is
# dropped. Once a component is built, it holds the session as botocore's would.


class _WeakMethod:
    """A lazy factory that was a bound method of the session: holds the session weakly."""

    __slots__ = ("function", "session")

    def __init__(self, session: weakref.ref[Any], function: Callable[[Any], Any]) -> None:
        self.session = session
        self.function = function

    def __call__(self) -> Any:
        return self.function(_alive(self.session))


class _WeakClosure:
    """A lazy factory ``def create_...(): ...`` whose only free variable, ``self``, is the
    session: kept as its code (shared by every session), and called as a new function
    over the session, then alive. A closure is code plus cells; the cell is made when
    needed, so nothing holds the session until the component is built."""

    __slots__ = ("code", "globals", "session")

    def __init__(self, session: weakref.ref[Any], factory: types.FunctionType) -> None:
        self.session = session
        self.code = factory.__code__
        self.globals = factory.__globals__

    def __call__(self) -> Any:
        cell = types.CellType(_alive(self.session))
        return types.FunctionType(self.code, self.globals, closure=(cell,))()


def _alive(session: weakref.ref[Any]) -> Any:
    # The session is alive whenever a component is built: through its own methods.
    alive = session()
    if alive is None:  # pragma: no cover - only its own (private) locator could call
        raise ReferenceError("the session this component belongs to is gone")
    return alive


def _weak_factory(
    session: Any, ref: weakref.ref[Any], factory: object
) -> _WeakMethod | _WeakClosure | None:
    """``factory`` holding ``session`` weakly; None if it does not hold it that way.

    A bound method of the session, or a function of no arguments whose one free
    variable, ``self``, holds the session (botocore's ``def create_...():``).
    """
    if type(factory) is types.MethodType:
        return _WeakMethod(ref, factory.__func__) if factory.__self__ is session else None
    if type(factory) is not types.FunctionType or factory.__code__.co_freevars != ("self",):
        return None
    if factory.__code__.co_argcount or factory.__code__.co_kwonlyargcount:
        return None
    assert factory.__closure__ is not None  # it has a free variable
    try:
        holds_session = factory.__closure__[0].cell_contents is session
    except ValueError:  # an empty cell
        return None
    return _WeakClosure(ref, factory) if holds_session else None


def weaken_lazy_factories(session: botocore.session.Session) -> bool:
    """Make ``session``'s unbuilt lazy components hold it weakly; whether it was done.

    Relies on botocore's ``ComponentLocator._deferred`` (name -> factory) in
    ``session._components`` and ``session._internal_components``: bound methods of
    the session, and closures whose cell ``self`` holds it, are replaced. Other
    factories are left alone. If a locator has no such dict, nothing changes: the
    session stays a cycle, freed by the cycle collector.
    """
    locators: list[dict[str, Any]] = []
    for name in ("_components", "_internal_components"):
        deferred = getattr(getattr(session, name, None), "_deferred", None)
        if type(deferred) is not dict:
            return False
        locators.append(deferred)
    ref = weakref.ref(session)
    for deferred in locators:
        for name, factory in deferred.items():  # values replaced, no key added or removed
            weak = _weak_factory(session, ref, factory)
            if weak is not None:
                deferred[name] = weak
    return True


def default_session_var_map(session: botocore.session.Session) -> botocore.session.SessionVarDict:
    """What botocore's ``Session.__init__`` sets ``session_var_map`` to (no ``session_vars``)."""
    return botocore.session.SessionVarDict(session, session.SESSION_VARIABLES)


# --- boto3 sessions ---------------------------------------------------------------


@functools.cache
def boto3_child_session_class() -> type[boto3.Session]:
    """A ``boto3.Session`` on a light child botocore session (imports boto3).

    Overrides two hooks of boto3's ``Session.__init__``: ``_setup_loader`` (boto3
    appends its data path to the loader; the child shares its parent's, which has
    it) and ``_register_default_handlers`` (already in the ``"boto3"`` template).
    Each falls back to boto3's own when the child's emitter is not from that
    template (``shares_boto3_defaults`` False), or sets ``_loader`` as boto3 does.
    """
    import boto3

    class Boto3ChildSession(boto3.Session):
        shares_boto3_defaults = False

        def __init__(self, *args: Any, shares_boto3_defaults: bool = False, **kwargs: Any):
            self.shares_boto3_defaults = shares_boto3_defaults
            super().__init__(*args, **kwargs)

        def _setup_loader(self) -> None:
            if not self.shares_boto3_defaults:
                super()._setup_loader()
                return
            self._loader = self._session.get_component("data_loader")

        def _register_default_handlers(self) -> None:
            if not self.shares_boto3_defaults:
                super()._register_default_handlers()

        def __repr__(self) -> str:
            return f"Session(region_name={self.region_name!r})"  # boto3.Session's

    return Boto3ChildSession


# --- Small reads ------------------------------------------------------------------


def resolved_credentials(session: object) -> object | None:
    """The credentials a botocore session has resolved already (``_credentials``), no I/O.

    None when not resolved yet, or if the attribute is gone: callers then know less
    (whether the parent is an assumed role is found out at the first refresh).
    """
    return getattr(session, "_credentials", None)


def json_file_cache_dir(cache: object) -> str | None:
    """The directory of botocore's ``JSONFileCache`` (its ``_working_dir``), if known.

    None if the attribute is gone: the cache is then identified by the object only
    (sessions sharing one directory through separate objects fetch separately).
    """
    working_dir = getattr(cache, "_working_dir", None)
    return working_dir if isinstance(working_dir, str) else None


def validation_errors(report: object) -> list[tuple[str, str, dict[str, Any]]]:
    """The (kind, name, details) tuples of botocore's ``ValidationErrors`` (``_errors``).

    If that attribute is gone but the report has errors, one generic problem for the
    whole input, so that an invalid request is still refused.
    """
    errors = getattr(report, "_errors", None)
    if isinstance(errors, list):
        return errors
    has_errors = getattr(report, "has_errors", None)
    if has_errors is not None and has_errors():
        return [("invalid input", "", {})]
    return []


def botocore_session(session: Any) -> Any:
    """The botocore session under a boto3 ``Session`` (``_session``; boto3 has no public
    accessor). Without it there is no correct fallback: raise saying so."""
    inner = getattr(session, "_session", None)
    if inner is None:
        raise TypeError(
            "this boto3 Session has no botocore session (_session); "
            "aio_assume_role.sync does not support this boto3 version"
        )
    return inner


# --- One SSL context per run (fan_out) -------------------------------------------------

# aiobotocore builds a fresh SSL context (loading the CA bundle: ~50 ms of CPU) for every
# client's first request, in ``AIOHTTPSession._build_ssl_contexts(proxy_url)`` (3.x,
# run in a worker thread by ``_create_connector``). Its public knob,
# ``AioConfig(connector_args={"ssl_context": ctx})``, passes validation but fails at the
# first request (aiobotocore 3.0-3.10: aiohttp refuses ``ssl=`` with ``ssl_context=``,
# "mutually exclusive"). So a subclass, selected through the public
# ``AioConfig(http_session_cls=...)``, memoizes that one private method's result per
# run, keyed by every input it reads. Without the method (an aiobotocore that lacks it):
# no class, clients build their contexts as before.


def ssl_sharing_session_class() -> type[Any] | None:
    """A new ``AIOHTTPSession`` subclass whose instances share their SSL contexts.

    One context pair (endpoint, proxy) per distinct (verify / CA bundle, client cert,
    proxy URL, proxy settings), built once (off the event loop, as aiobotocore does)
    and reused by every instance of this class; a new class per call, so per run. An
    SSL context holds no AWS credentials (only CA certificates and the client
    certificate, both part of the key). A failed build is not cached. None if
    aiobotocore has no ``_build_ssl_contexts``.
    """
    import threading

    from aiobotocore.httpsession import AIOHTTPSession

    found: Callable[..., Any] | None = getattr(AIOHTTPSession, "_build_ssl_contexts", None)
    if found is None:
        return None
    build = found
    lock = threading.Lock()
    contexts: dict[Any, Any] = {}

    def key(session: Any, proxy_url: object) -> Any:
        # Every input of aiobotocore's build (a missing one: AttributeError, not shared;
        # tests/test_compat.py checks the build reads no other attribute).
        parts = (
            session._verify,
            session._cert_file,
            session._key_file,
            proxy_url,
            tuple(sorted(session._proxy_config.settings.items())),
        )
        hash(parts)  # unhashable (an odd setting): TypeError, not shared
        return parts

    class SslSharingAIOHTTPSession(AIOHTTPSession):
        shared_ssl_contexts = contexts  # for tests and benchmarks: what was built

        def _build_ssl_contexts(self, proxy_url: Any) -> Any:
            try:
                cache_key = key(self, proxy_url)
            except (TypeError, AttributeError):
                return build(self, proxy_url)
            with lock:  # one build per key, even when many clients start at once
                built = contexts.get(cache_key)
                if built is None:
                    built = contexts[cache_key] = build(self, proxy_url)
            self.shared_ssl_context = built[0]
            return built

    return SslSharingAIOHTTPSession


def client_http_session(client: object) -> object | None:
    """An aiobotocore client's HTTP session (``_endpoint.http_session``), or None."""
    return getattr(getattr(client, "_endpoint", None), "http_session", None)


# --- Response parsing -------------------------------------------------------------


def use_timestamp_parser(client: object, timestamp_parser: Callable[[Any], Any]) -> bool:
    """Make ``client`` parse its responses' timestamps with ``timestamp_parser``; whether
    it was done.

    botocore's public knob, ``ResponseParserFactory.set_parser_defaults(timestamp_parser=
    ...)``, is on the session's ``response_parser_factory`` component, shared by every
    client of the (user's) session. The client's endpoint creates a parser from it for
    each response (``client._endpoint._response_parser_factory``): the client gets a
    factory of its own, of the same class, with the same defaults (``_defaults``) and
    ``timestamp_parser``. Only botocore's and aiobotocore's own factory classes are
    replaced (a custom one is left as it is), and nothing is done if either attribute is
    gone: the client then parses as botocore does, correctly (40 µs a timestamp).
    """
    endpoint = getattr(client, "_endpoint", None)
    current = getattr(endpoint, "_response_parser_factory", None)
    defaults = getattr(current, "_defaults", None)
    factory_class: type[Any] = type(current)
    if factory_class not in _default_parser_factories() or type(defaults) is not dict:
        return False
    own = factory_class()
    own.set_parser_defaults(**defaults)
    own.set_parser_defaults(timestamp_parser=timestamp_parser)
    endpoint._response_parser_factory = own  # type: ignore[union-attr]
    return True


def _default_parser_factories() -> tuple[type[Any], ...]:
    from botocore.parsers import ResponseParserFactory

    aio = sys.modules.get("aiobotocore.parsers")  # loaded with any aiobotocore client
    aio_factory = getattr(aio, "AioResponseParserFactory", None)
    if aio_factory is None:
        return (ResponseParserFactory,)
    return (ResponseParserFactory, aio_factory)
