"""Event hooks for child sessions: botocore's builtin handlers, without the setup cost.

A new botocore session registers ~120 builtin event handlers, each inspected with
``inspect.getfullargspec``: ~10 ms of CPU per session, which dominates assuming a
role in hundreds of accounts at once. Child sessions instead start from one
template emitter, registered once per process, and copy it only when something
registers or unregisters a handler on them (creating a client copies the session's
emitter anyway, as botocore always does).
"""

from __future__ import annotations

from aiobotocore.hooks import AioHierarchicalEmitter

from ._compat import CopyOnWriteEmitter, builtin_handlers_template


def builtin_event_hooks() -> AioHierarchicalEmitter | None:
    """A new emitter with botocore's builtin handlers, for ``AioSession(event_hooks=...)``.

    None if the shared template cannot be built on this botocore (see ``_compat``):
    the session then registers the builtin handlers itself, as botocore does.
    """
    template = builtin_handlers_template()
    return CopyOnWriteEmitter(template) if template is not None else None
