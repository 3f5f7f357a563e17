"""Event hooks for child sessions: botocore's builtin handlers, without the setup cost.

A new botocore session registers ~120 builtin event handlers, each inspected with
``inspect.getfullargspec``: ~10 ms of CPU per session, which dominates assuming a
role in hundreds of accounts at once. Child sessions instead start from one
template emitter, registered once per process, and copy it only when something
registers or unregisters a handler on them (creating a client copies the session's
emitter anyway, as botocore always does).
"""

from __future__ import annotations

import copy
import functools
import types
from typing import Any

from aiobotocore.hooks import AioHierarchicalEmitter
from aiobotocore.session import AioSession
from botocore.hooks import EventAliaser


class _CopyOnWriteEmitter(AioHierarchicalEmitter):
    """Reads the template's handlers until its first own (un)registration.

    Our own class because botocore has no copy-on-write emitter; only the four
    public mutators are intercepted, the emitting logic is aiobotocore's.
    """

    def __init__(self, template: AioHierarchicalEmitter | None = None) -> None:
        super().__init__()
        self._shared = template is not None
        if template is not None:
            # Read-only while shared; the lookup cache holds the same answers for all.
            self._handlers = template._handlers
            self._unique_id_handlers = template._unique_id_handlers
            self._lookup_cache = template._lookup_cache

    def _own(self) -> None:
        if self._shared:
            self._handlers = copy.copy(self._handlers)
            self._unique_id_handlers = copy.copy(self._unique_id_handlers)
            self._lookup_cache = {}
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

    def __copy__(self) -> _CopyOnWriteEmitter:
        new: _CopyOnWriteEmitter = super().__copy__()
        new._shared = False  # botocore's __copy__ gave it its own handlers already
        return new


@functools.lru_cache(maxsize=1)
def _template() -> AioHierarchicalEmitter:
    emitter = AioHierarchicalEmitter()
    events = EventAliaser(emitter)
    # botocore's own registration routine, run against a bare emitter: a real session
    # would also run the user's session initializers, which each child runs itself.
    holder = types.SimpleNamespace(_events=events, register=events.register)
    AioSession._register_builtin_handlers(holder, events)
    return emitter


def builtin_event_hooks() -> AioHierarchicalEmitter:
    """A new emitter with botocore's builtin handlers, for ``AioSession(event_hooks=...)``."""
    return _CopyOnWriteEmitter(_template())
