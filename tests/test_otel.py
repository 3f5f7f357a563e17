"""aio_assume_role.otel: a registry's counters and the refreshes, read back through the
OpenTelemetry SDK's in-memory reader (the library itself uses the API only)."""

from __future__ import annotations

from typing import Any

import pytest
from aiobotocore.session import AioSession
from moto_sts import StsServer
from support import role_arn

pytest.importorskip("opentelemetry.sdk.metrics")
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from aio_assume_role.errors import InvalidParameterError
from aio_assume_role.otel import instrument
from aio_assume_role.tenants import TenantSessions


def points(reader: InMemoryMetricReader) -> dict[str, list[tuple[dict[str, Any], Any]]]:
    found: dict[str, list[tuple[dict[str, Any], Any]]] = {}
    data = reader.get_metrics_data()
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    value = getattr(point, "value", None)
                    if value is None:
                        value = point.count  # type: ignore[attr-defined]
                    found.setdefault(metric.name, []).append((dict(point.attributes or {}), value))
    return found


async def test_the_registrys_counters_and_refreshes_are_exported(
    parent: AioSession, sts_server: StsServer
) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    async with TenantSessions(parent) as tenants:
        stop = instrument(tenants, meter_provider=provider)
        for _ in range(3):
            async with tenants.client(role_arn("Vendor", "111111111111"), "sts") as sts:
                await sts.get_caller_identity()
        sts_server.fail_next(status=403, code="AccessDenied", message="no")
        with pytest.raises(Exception, match="AccessDenied"):
            async with tenants.client(role_arn("Vendor", "222222222222"), "sts"):
                pass
        found = points(reader)
        stop()
    assert found["aio_assume_role.tenants.tenants"] == [({}, 2)]
    assert found["aio_assume_role.tenants.open_clients"] == [({}, 1)]
    assert sorted(found["aio_assume_role.tenants.requests"], key=str) == [
        ({"outcome": "hit"}, 2),
        ({"outcome": "miss"}, 2),
    ]
    assert found["aio_assume_role.tenants.assume_role_calls"] == [({}, 1)]
    assert found["aio_assume_role.tenants.refresh_failures"] == [
        ({"error_code": "AccessDenied"}, 1)
    ]
    durations = found["aio_assume_role.refresh.duration"]
    assert ({"outcome": "ok", "trigger": "first-use", "source": "sts"}, 1) in durations
    assert any(labels.get("error_code") == "AccessDenied" for labels, _ in durations)
    assert not any("arn:" in str(labels) for labels, _ in durations)
    # Stopped: nothing more is reported.
    assert "aio_assume_role.tenants.tenants" not in points(reader)
    provider.shutdown()


def test_instrument_names_a_wrong_argument() -> None:
    with pytest.raises(InvalidParameterError) as caught:
        instrument("tenants")  # type: ignore[arg-type]
    assert caught.value.parameter == "tenants"
