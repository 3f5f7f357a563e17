"""Fixtures: an isolated AWS environment and a real moto STS server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from aiobotocore.session import AioSession, get_session
from moto_sts import StsServer
from support import DUMMY_ACCESS_KEY, DUMMY_SECRET_KEY, Dice, FakeClock, RefreshLog


@pytest.fixture(autouse=True)
def aws_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never read the developer's ~/.aws or real credentials; dummy keys only; the command
    line's cache in the test's own directory."""
    import os

    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    config = tmp_path / "aws_config"
    config.write_text("[default]\n")
    credentials = tmp_path / "aws_credentials"
    credentials.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", DUMMY_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DUMMY_SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # The command line's credential_process cache: per test, never the user's ~/.cache.
    monkeypatch.setenv("AIO_ASSUME_ROLE_CACHE_DIR", str(tmp_path / "credential-process-cache"))
    return tmp_path


@pytest.fixture(scope="session")
def _moto_server() -> Iterator[StsServer]:
    server = StsServer().start()
    yield server
    server.stop()


@pytest.fixture
def sts_server(_moto_server: StsServer, monkeypatch: pytest.MonkeyPatch) -> StsServer:
    """The moto server, reached by every client through AWS_ENDPOINT_URL; counts reset."""
    _moto_server.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL", _moto_server.endpoint)
    return _moto_server


@pytest.fixture
def parent(sts_server: StsServer) -> AioSession:
    """A plain aiobotocore session with the dummy keys, talking to moto."""
    return get_session()


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    """Our clock and moto's, moved together (``clock.advance(seconds)``): the public
    ``aio_assume_role.testing.moved_clock``, as users' tests use it."""
    from aio_assume_role.testing import moved_clock

    with moved_clock(moto=True) as moved:
        yield moved


@pytest.fixture(autouse=True)
def dice() -> Iterator[Dice]:
    """Chance pinned at 0.0 (no jitter: the earliest advisory point; the shortest backoffs).

    Tests of jitter and backoff set ``dice.value``.
    """
    from aio_assume_role.testing import pinned_jitter

    with pinned_jitter(0.0) as pinned:
        yield pinned


@pytest.fixture
def refreshes() -> Iterator[RefreshLog]:
    """Every refresh outcome while the test runs (``await refreshes.wait_for(n)``)."""
    from aio_assume_role._core.refresh import add_refresh_listener

    log = RefreshLog()
    remove = add_refresh_listener(log)
    yield log
    remove()
