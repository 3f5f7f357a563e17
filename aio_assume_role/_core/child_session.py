"""What makes a child session cheap, on both paths (aiobotocore's and boto3's).

A child starts from a shared template of botocore's builtin event handlers and the
rejection handlers (``builtin_event_hooks``; ``rejection``), uses its parent's loader
(parsed models, MBs, are shared rather than reloaded per child client), and builds
its config store (~250 provider objects) only on first use, where botocore allows
(``compat.LazyConfigStoreSession``): a session used only for its credentials never
needs it. The four region modes of ``assume_role(region_name=...)`` are applied here
too, for both paths.
"""

from __future__ import annotations

import copy
import functools
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import botocore.configprovider
import botocore.session
from botocore.configprovider import ConfigValueStore, create_botocore_default_config_mapping
from botocore.hooks import HierarchicalEmitter
from botocore.session import SessionVarDict

from . import compat
from .compat import (
    CopyOnWriteEmitter,
    LazyConfigStoreSession,
    aio_copy_on_write_emitter_class,
    builtin_handlers_template,
    default_session_var_map,
    weaken_lazy_factories,
)
from .rejection import register_rejection_handlers

__all__ = []


class LightChildSession(LazyConfigStoreSession):
    """A botocore session (base of ``AssumedRoleSession`` and the boto3 path's child).

    ``event_hooks`` None (no shared template on this botocore): botocore registers
    its builtin handlers on the child, as on any session.
    """

    def __init__(
        self, parent: botocore.session.Session, event_hooks: HierarchicalEmitter | None
    ) -> None:
        # Set first: botocore's __init__ may build the config store (session initializers).
        self._config_store_setups: list[Callable[[ConfigValueStore], None]] | None = []
        super().__init__(event_hooks=event_hooks, include_builtin_handlers=event_hooks is None)
        if event_hooks is None:  # no shared template (which has them): on this session
            register_rejection_handlers(self.get_component("event_emitter"))
        if not self.config_store_is_lazy:  # built by botocore already: set up from now on
            self._config_store_setups = None
        self.register_component("data_loader", parent.get_component("data_loader"))
        # No reference cycle until a component is built (see compat): a fan-out's
        # children are freed as they are dropped, not by full collections of the heap.
        self._session_var_map = None  # botocore's default, built again on first use
        weaken_lazy_factories(self)

    @property
    def session_var_map(self) -> SessionVarDict:
        """botocore's ``session_var_map``, built on first use (it holds the session)."""
        var_map = self._session_var_map
        if var_map is None:
            var_map = self._session_var_map = default_session_var_map(self)
        return var_map

    @session_var_map.setter
    def session_var_map(self, value: SessionVarDict) -> None:
        self._session_var_map = value

    def _build_config_store(self) -> ConfigValueStore:
        store = ConfigValueStore(mapping=create_botocore_default_config_mapping(self))
        setups, self._config_store_setups = self._config_store_setups, None
        for setup in setups or ():
            setup(store)
        return store

    def _defer_config_store_setup(self, setup: Callable[[ConfigValueStore], None]) -> None:
        """Run ``setup(config_store)`` when the config store is built (now, if it is)."""
        if self._config_store_setups is None:
            setup(self.get_component("config_store"))
        else:
            self._config_store_setups.append(setup)


# --- the shared template of botocore's builtin event handlers ---

if TYPE_CHECKING:
    from aiobotocore.hooks import AioHierarchicalEmitter
    from botocore.hooks import HierarchicalEmitter


def builtin_event_hooks() -> AioHierarchicalEmitter | None:
    """A new emitter with botocore's builtin handlers, for ``AioSession(event_hooks=...)``.

    None if the shared template cannot be built on this botocore (see ``_core.compat``):
    the session then registers the builtin handlers itself, as botocore does.
    """
    template = _template("aio")
    if template is None:
        return None
    return aio_copy_on_write_emitter_class()(template)


def sync_builtin_event_hooks(*, boto3_defaults: bool = False) -> HierarchicalEmitter | None:
    """A new emitter with botocore's builtin handlers, for ``Session(event_hooks=...)``.

    ``boto3_defaults`` adds the handlers ``boto3.Session()`` registers on its session.
    None if that template cannot be built on this botocore/boto3 (see ``_core.compat``).
    """
    template = _template("boto3" if boto3_defaults else "botocore")
    return CopyOnWriteEmitter(template) if template is not None else None


@functools.cache
def _template(flavor: str) -> HierarchicalEmitter | None:
    """botocore's builtin handlers and the rejection handlers (``rejection``), once.

    A copy of compat's template (botocore's handlers only), so that stays comparable
    with a fresh session's.
    """
    builtin = builtin_handlers_template(flavor)
    if builtin is None:
        return None
    template = copy.copy(builtin)
    register_rejection_handlers(template)
    return template


# --- region modes: follow the parent, copy it, implicit, or a given region ---


class _FollowParentRegion(botocore.configprovider.BaseProvider):
    """The child's region: its own if set on it (``set_config_variable``), else the
    parent's, read at every lookup. Called with the child's config store, it installs
    itself there (one object for both, as a fan-out builds thousands of children)."""

    def __init__(self, child: botocore.session.Session, parent: botocore.session.Session) -> None:
        # Weakly until installed (the child holds it in its pending set-ups, not as a
        # cycle); once in the child's config store, which clients may read after the
        # child is dropped, strongly, as botocore's providers hold their session.
        self._child_ref = weakref.ref(child)
        self._child: botocore.session.Session | None = None
        self.parent = parent

    @property
    def child(self) -> botocore.session.Session | None:
        return self._child if self._child is not None else self._child_ref()

    def provide(self) -> Any:
        child = self.child
        own = child.instance_variables().get("region") if child is not None else None
        return own if own is not None else self.parent.get_config_variable("region")

    def __call__(self, store: ConfigValueStore) -> None:
        self._child = self._child_ref()
        store.set_config_provider("region", self)

    def __deepcopy__(self, memo: dict[int, Any]) -> _FollowParentRegion:
        # As botocore's providers bound to a session: a copied store reads the same sessions.
        copied = _FollowParentRegion.__new__(_FollowParentRegion)
        copied._child_ref, copied._child, copied.parent = self._child_ref, self._child, self.parent
        return copied


def apply_region_mode(
    parent: botocore.session.Session,
    child: botocore.session.Session,
    region_name: str | bool | None,
) -> None:
    """Configure ``child``'s region from ``region_name``.

    None: follow the parent's region live (unless set on the child itself);
    True: fix the parent's current region; False: the child's own implicit
    config (environment, config file); a string: that region.
    """
    if region_name is None:
        try:
            _configure_config_store(child, _FollowParentRegion(child, parent))
        except Exception as error:  # pragma: no cover - guards against botocore API drift
            raise RuntimeError(
                "Unexpected breakage of botocore's config API. Set region_name=True to use "
                "the parent session's region or region_name=False for the implicit region."
            ) from error
        return
    if region_name is True:
        region_name = parent.get_config_variable("region")
    elif region_name is False:
        return
    if region_name:
        child.set_config_variable("region", region_name)


def _configure_config_store(
    session: botocore.session.Session,
    setup: Callable[[botocore.configprovider.ConfigValueStore], None],
) -> None:
    # A session that builds its config store on first use (AssumedRoleSession) runs
    # the setup then; any other session's store is set up now.
    defer = getattr(session, "_defer_config_store_setup", None)
    if defer is not None:
        defer(setup)
    else:
        setup(session.get_component("config_store"))


def ssl_sharing_config() -> Any | None:
    """A new ``AioConfig`` whose HTTP session class shares SSL contexts
    (``compat.ssl_sharing_session_class()``), for one run's ``share_ssl_contexts`` calls;
    None where aiobotocore has no way to share them."""
    http_session_cls = compat.ssl_sharing_session_class()
    if http_session_cls is None:
        return None
    from aiobotocore.config import AioConfig

    return AioConfig(http_session_cls=http_session_cls)


def share_ssl_contexts(session: botocore.session.Session, sharing: Any | None) -> None:
    """Make ``session``'s clients use the SSL-sharing HTTP session class of ``sharing``
    (``ssl_sharing_config()``: one SSL context per distinct verify/cert/proxy settings, for a
    run) by default.

    Through the session's default client config, which ``create_client`` merges under a
    client's own ``config=``: a client that sets its own ``http_session_cls`` keeps it, and
    one with other ``verify=``/``client_cert``/proxy settings gets its own context (they are
    the key). Left alone: a session whose default config picked another HTTP session class.
    Each session gets its own copy of ``sharing`` (a config's attributes may be set): built
    once per run, since building an ``AioConfig`` is about 20 µs of a fan-out unit's
    0.3 ms, and a copy 2 µs.
    """
    if sharing is None:
        return
    from aiobotocore.httpsession import AIOHTTPSession

    config = session.get_default_client_config()
    if config is None:
        session.set_default_client_config(copy.copy(sharing))
    elif getattr(config, "http_session_cls", None) is AIOHTTPSession:
        session.set_default_client_config(config.merge(sharing))
