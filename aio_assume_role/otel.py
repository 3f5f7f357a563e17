"""A ``TenantSessions`` registry's counters and the refreshes, as OpenTelemetry metrics.

Through the OpenTelemetry API only (``pip install 'aio-assume-role[otel]'``): the
application configures the SDK, its ``MeterProvider`` and exporter; without one, the
API's no-op provider drops everything. ::

    async with TenantSessions(parent) as tenants:
        stop = instrument(tenants)   # the global MeterProvider, or meter_provider=...
        ...
        stop()

The metrics (meter ``aio_assume_role``), read from ``tenants.stats()`` at each collection:

- ``aio_assume_role.tenants.tenants``: tenants held (up-down counter);
- ``aio_assume_role.tenants.open_clients``: clients open or being created (up-down counter);
- ``aio_assume_role.tenants.requests``: ``client()`` requests, attribute ``outcome``
  ``hit`` or ``miss``;
- ``aio_assume_role.tenants.evictions``: attribute ``kind`` ``client`` (closed for room or
  idle) or ``tenant`` (forgotten for ``max_sessions``);
- ``aio_assume_role.tenants.assume_role_calls``: refreshes of its roles answered by STS;
- ``aio_assume_role.tenants.refresh_failures``: attribute ``error_code``;

and, fed by a refresh listener, every refresh in the process:

- ``aio_assume_role.refresh.duration`` (histogram, seconds): attributes ``outcome``
  (``ok`` or ``error``), ``source`` (``sts``, ``cache``; absent on failure), ``trigger``
  and, on failure, ``error_code``. Never a role ARN or any other value of a request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ._core.refresh import RefreshEvent, add_refresh_listener
from .errors import InvalidParameterError
from .tenants import TenantSessions, TenantStats

__all__ = ["instrument"]

PREFIX = "aio_assume_role.tenants."


def instrument(tenants: TenantSessions, *, meter_provider: Any = None) -> Callable[[], None]:
    """Export ``tenants``' counters and the refresh outcomes as OpenTelemetry metrics.

    ``meter_provider``: an OpenTelemetry ``MeterProvider`` (None: the global one).
    Returns a function that stops the export (the instruments then report nothing).

    Raises:
        InvalidParameterError: ``tenants`` is not a ``TenantSessions``.
        ImportError: the OpenTelemetry API is not installed (the ``otel`` extra).
    """
    if not isinstance(tenants, TenantSessions):
        raise InvalidParameterError(
            [("tenants", f"must be a TenantSessions, got {type(tenants).__name__}")],
            function="instrument",
        )
    from opentelemetry import metrics

    if meter_provider is None:
        meter = metrics.get_meter("aio_assume_role")
    else:
        meter = meter_provider.get_meter("aio_assume_role")
    exporting = [True]

    def observe(read: Callable[[TenantStats], Iterable[tuple[float, dict[str, str]]]]) -> Any:
        def callback(options: Any) -> Iterable[Any]:
            if not exporting[0]:
                return []
            return [metrics.Observation(value, labels) for value, labels in read(tenants.stats())]

        return [callback]

    meter.create_observable_up_down_counter(
        PREFIX + "tenants", observe(lambda s: [(s.tenants, {})]), description="tenants held"
    )
    meter.create_observable_up_down_counter(
        PREFIX + "open_clients", observe(lambda s: [(s.open_clients, {})]), description="clients"
    )
    meter.create_observable_counter(
        PREFIX + "requests",
        observe(lambda s: [(s.hits, {"outcome": "hit"}), (s.misses, {"outcome": "miss"})]),
        description="client() requests",
    )
    meter.create_observable_counter(
        PREFIX + "evictions",
        observe(
            lambda s: [(s.evictions, {"kind": "client"}), (s.tenant_evictions, {"kind": "tenant"})]
        ),
        description="clients closed and tenants forgotten",
    )
    meter.create_observable_counter(
        PREFIX + "assume_role_calls",
        observe(lambda s: [(s.assume_role_calls, {})]),
        description="refreshes answered by STS",
    )
    meter.create_observable_counter(
        PREFIX + "refresh_failures",
        observe(lambda s: [(n, {"error_code": code}) for code, n in s.refresh_failures.items()]),
        description="failed refreshes by error code",
    )
    durations = meter.create_histogram(
        "aio_assume_role.refresh.duration", unit="s", description="refreshes, by outcome"
    )

    def on_refresh(event: RefreshEvent) -> None:
        labels = {"outcome": "ok" if event.ok else "error", "trigger": event.trigger}
        if event.source is not None:
            labels["source"] = event.source
        if event.error_code is not None:
            labels["error_code"] = event.error_code
        durations.record(event.duration, labels)

    remove_listener = add_refresh_listener(on_refresh)

    def stop() -> None:
        exporting[0] = False
        remove_listener()

    return stop
