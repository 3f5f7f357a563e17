"""Credentials refresh themselves before they expire (controllable clock, moto server)."""

from __future__ import annotations

from aiobotocore.session import AioSession
from moto_sts import StsServer
from support import FakeClock, RefreshLog, role_arn

from aio_assume_role import assume_role
from aio_assume_role._core.windows import refresh_windows


async def access_key(session: AioSession) -> str:
    credentials = await session.get_credentials()
    return str((await credentials.get_frozen_credentials()).access_key)


def test_windows_follow_botocores_2026_bands() -> None:
    assert refresh_windows(3600) == (900, 60)
    assert refresh_windows(1800) == (900, 60)
    assert refresh_windows(43200) == (3600, 60)


def test_windows_leave_short_lifetimes_a_fresh_stretch() -> None:
    advisory, mandatory = refresh_windows(900)
    assert 0 < mandatory < advisory < 900


async def test_refreshes_in_the_background_in_the_advisory_window(
    parent: AioSession, sts_server: StsServer, clock: FakeClock, refreshes: RefreshLog
) -> None:
    child = assume_role(parent, role_arn())
    first = await access_key(child)
    clock.advance(30 * 60)  # 30 of 60 minutes left: nothing to do
    assert await access_key(child) == first
    assert sts_server.count() == 1
    clock.advance(17 * 60)  # 13 minutes left: inside the 15-minute advisory window
    assert await access_key(child) == first  # served at once; the refresh runs behind
    (_, event) = await refreshes.wait_for(2)
    assert (event.trigger, event.source) == ("advisory", "sts")
    second = await access_key(child)
    assert second != first
    assert sts_server.count() == 2


async def test_refreshes_when_expired(
    parent: AioSession, sts_server: StsServer, clock: FakeClock
) -> None:
    child = assume_role(parent, role_arn())
    first = await access_key(child)
    clock.advance(2 * 3600)
    assert await access_key(child) != first
    assert sts_server.count() == 2


async def test_fifteen_minute_credentials_are_not_refreshed_on_every_use(
    parent: AioSession, sts_server: StsServer, clock: FakeClock, refreshes: RefreshLog
) -> None:
    # With botocore's fixed 15-minute advisory window these would refresh on every call.
    child = assume_role(parent, role_arn(), DurationSeconds=900)
    first = await access_key(child)
    credentials = await child.get_credentials()
    # Asserted directly: a refresh answered from the session's private cache would not
    # show in the server's count.
    assert not credentials.refresh_needed()
    for _ in range(5):
        assert await access_key(child) == first
    clock.advance(5 * 60)
    assert not credentials.refresh_needed()
    assert await access_key(child) == first
    assert sts_server.count() == 1
    clock.advance(6 * 60)  # 4 of 15 minutes left: inside their 5-minute advisory window
    await access_key(child)
    await refreshes.wait_for(2)
    assert await access_key(child) != first
    assert sts_server.count() == 2


async def test_chained_child_refresh_uses_the_parents_refreshed_credentials(
    parent: AioSession, sts_server: StsServer, clock: FakeClock
) -> None:
    b = assume_role(parent, role_arn("B"))
    c = assume_role(b, role_arn("C"))
    await access_key(c)
    first_b = await access_key(b)
    clock.advance(2 * 3600)  # both expired
    await access_key(c)
    new_b = await access_key(b)
    assert new_b != first_b
    # C's second AssumeRole was signed with B's *new* keys, fetched at refresh time.
    assert sts_server.signing_keys()[-1] == new_b
    assert sts_server.count() == 4


def test_expiry_forms_parse_to_one_utc_time() -> None:
    import datetime

    from dateutil.tz import tzutc

    from aio_assume_role._core.windows import parse_expiry

    utc = datetime.timezone.utc
    expected = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=utc)
    forms = [
        "2030-01-02T03:04:05Z",  # STS
        "2030-01-02T03:04:05UTC",  # botocore's JSONFileCache
        "2030-01-02T03:04:05+00:00",  # datetime.isoformat()
        "2030-01-02T04:04:05+01:00",
        "2030-01-02T03:04:05",  # naive: taken as UTC
        "Wed, 02 Jan 2030 03:04:05 GMT",  # only dateutil reads this
        datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=tzutc()),  # botocore's parser
    ]
    for form in forms:
        parsed = parse_expiry(form)
        assert parsed == expected, form
        assert parsed.tzinfo is utc, form  # cheap to compare with the clock's UTC times
