"""Event hooks for child sessions: botocore's builtin handlers, without the setup cost.

A new botocore session registers ~120 builtin event handlers, each inspected with
``inspect.getfullargspec``: ~10 ms of CPU per session, which dominates assuming a
role in hundreds of accounts at once. Child sessions instead start from one
template emitter, registered once per process, and copy it only when something
registers or unregisters a handler on them (creating a client copies the session's
emitter anyway, as botocore always does).

Three templates: aiobotocore's (``builtin_event_hooks``), and for the boto3 path
botocore's builtins plus boto3's own default handlers
(``sync_builtin_event_hooks``). aiobotocore is imported only for the first, so the
sync path never loads it.
"""

from __future__ import annotations

import copy
import functools
import types
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.hooks import EventAliaser, HierarchicalEmitter

if TYPE_CHECKING:
    from aiobotocore.hooks import AioHierarchicalEmitter


class _CopyOnWriteEmitter(HierarchicalEmitter):
    """Reads the template's handlers until its first own (un)registration.

    Our own class because botocore has no copy-on-write emitter; only the four
    public mutators are intercepted, the emitting logic is botocore's (or, mixed
    with ``AioHierarchicalEmitter``, aiobotocore's).
    """

    def __init__(self, template: HierarchicalEmitter | None = None) -> None:
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


@functools.cache
def _aio_copy_on_write_class() -> type[_CopyOnWriteEmitter]:
    from aiobotocore.hooks import AioHierarchicalEmitter

    class _AioCopyOnWriteEmitter(_CopyOnWriteEmitter, AioHierarchicalEmitter):
        pass

    return _AioCopyOnWriteEmitter


def _register_builtins(register_builtin_handlers: Any, emitter: HierarchicalEmitter) -> None:
    # botocore's own registration routine, run against a bare emitter: a real session
    # would also run the user's session initializers, which each child runs itself.
    events = EventAliaser(emitter)
    holder = types.SimpleNamespace(_events=events, register=events.register)
    register_builtin_handlers(holder, events)


@functools.cache
def _template(flavor: str) -> HierarchicalEmitter:
    emitter: HierarchicalEmitter
    if flavor == "aio":
        from aiobotocore.hooks import AioHierarchicalEmitter
        from aiobotocore.session import AioSession

        emitter = AioHierarchicalEmitter()
        _register_builtins(AioSession._register_builtin_handlers, emitter)
        return emitter
    emitter = HierarchicalEmitter()
    _register_builtins(botocore.session.Session._register_builtin_handlers, emitter)
    if flavor == "boto3":
        import boto3.session

        # boto3.Session's own defaults (S3, DynamoDB, EC2 resource customizations),
        # registered after botocore's builtins as a boto3.Session does.
        aliased = EventAliaser(emitter)  # what boto3's session.register() goes through
        # ``events``: the emitter EC2's delete_tags docstring is generated with (boto3
        # binds each session's own); the template's, with the same builtin handlers.
        holder = types.SimpleNamespace(
            _session=types.SimpleNamespace(register=aliased.register), events=aliased
        )
        boto3.session.Session._register_default_handlers(holder)
    return emitter


def builtin_event_hooks() -> AioHierarchicalEmitter:
    """A new emitter with botocore's builtin handlers, for ``AioSession(event_hooks=...)``."""
    return _aio_copy_on_write_class()(_template("aio"))


def sync_builtin_event_hooks(*, boto3_defaults: bool = False) -> HierarchicalEmitter:
    """A new emitter with botocore's builtin handlers, for ``Session(event_hooks=...)``.

    ``boto3_defaults`` adds the handlers ``boto3.Session()`` registers on its session.
    """
    return _CopyOnWriteEmitter(_template("boto3" if boto3_defaults else "botocore"))
