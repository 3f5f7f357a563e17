"""What makes a child session cheap, on both paths (aiobotocore's and boto3's).

A child starts from a shared template of botocore's builtin event handlers
(``_emitter``), uses its parent's loader (parsed models, MBs, are shared rather
than reloaded per child client), and builds its config store (~250 provider
objects) only on first use, where botocore allows (``_compat.LazyConfigStoreSession``):
a session used only for its credentials never needs it.
"""

from __future__ import annotations

from collections.abc import Callable

import botocore.session
from botocore.configprovider import ConfigValueStore, create_botocore_default_config_mapping
from botocore.hooks import HierarchicalEmitter

from ._compat import LazyConfigStoreSession


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
        if not self.config_store_is_lazy:  # built by botocore already: set up from now on
            self._config_store_setups = None
        self.register_component("data_loader", parent.get_component("data_loader"))

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
