"""The four region modes of ``assume_role(region_name=...)``, for botocore sessions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import botocore.configprovider
import botocore.session


class _ParentConfigProvider(botocore.configprovider.BaseProvider):
    """Reads a config variable from the parent session at every lookup."""

    def __init__(self, name: str, parent: botocore.session.Session) -> None:
        self.name = name
        self.parent = parent

    def provide(self) -> Any:
        return self.parent.get_config_variable(self.name)


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
            chain = botocore.configprovider.ChainProvider(
                [
                    botocore.configprovider.InstanceVarProvider("region", child),
                    _ParentConfigProvider("region", parent),
                ]
            )
            _configure_config_store(
                child, lambda store: store.set_config_provider("region", chain)
            )
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
