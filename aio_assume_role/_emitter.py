"""Event hooks for child sessions: botocore's builtin handlers, without the setup cost.

A new botocore session registers ~120 builtin event handlers, each inspected with
``inspect.getfullargspec``: ~10 ms of CPU per session, which dominates assuming a
role in hundreds of accounts at once. Child sessions instead start from one
template emitter, registered once per process, and copy it only when something
registers or unregisters a handler on them (creating a client copies the session's
emitter anyway, as botocore always does).

Three templates (built in ``_compat``, which holds the botocore internals they rely
on): aiobotocore's (``builtin_event_hooks``), and for the boto3 path botocore's
builtins plus boto3's own default handlers (``sync_builtin_event_hooks``).
aiobotocore is imported only for the first, so the sync path never loads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._compat import (
    CopyOnWriteEmitter,
    aio_copy_on_write_emitter_class,
    builtin_handlers_template,
)

if TYPE_CHECKING:
    from aiobotocore.hooks import AioHierarchicalEmitter
    from botocore.hooks import HierarchicalEmitter


def builtin_event_hooks() -> AioHierarchicalEmitter | None:
    """A new emitter with botocore's builtin handlers, for ``AioSession(event_hooks=...)``.

    None if the shared template cannot be built on this botocore (see ``_compat``):
    the session then registers the builtin handlers itself, as botocore does.
    """
    template = builtin_handlers_template("aio")
    if template is None:
        return None
    return aio_copy_on_write_emitter_class()(template)


def sync_builtin_event_hooks(*, boto3_defaults: bool = False) -> HierarchicalEmitter | None:
    """A new emitter with botocore's builtin handlers, for ``Session(event_hooks=...)``.

    ``boto3_defaults`` adds the handlers ``boto3.Session()`` registers on its session.
    None if that template cannot be built on this botocore/boto3 (see ``_compat``).
    """
    template = builtin_handlers_template("boto3" if boto3_defaults else "botocore")
    return CopyOnWriteEmitter(template) if template is not None else None
