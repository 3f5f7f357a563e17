"""The sync path's refreshes: the parent's credentials as they are at each refresh, and
STS clients created one at a time per parent session (botocore sessions are not
thread-safe for ``create_client``). Against moto's STS server."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.credentials import CredentialProvider, CredentialResolver, Credentials
from moto_sts import StsServer
from support import DUMMY_ACCESS_KEY, FakeClock, role_arn

from aio_assume_role.sync import assume_role

SECOND_ACCESS_KEY = "AKIAI44QH8DHBSECOND1"


@pytest.fixture
def session(sts_server: StsServer) -> boto3.Session:
    return boto3.Session()


class SecondKeys(CredentialProvider):
    METHOD = "second-keys"

    def __init__(self, credentials: Credentials) -> None:
        super().__init__()
        self.credentials = credentials

    def load(self) -> Credentials:
        return self.credentials


def frozen_access_key(session: boto3.Session) -> str:
    return str(session.get_credentials().get_frozen_credentials().access_key)


def test_a_refresh_signs_with_the_parents_replaced_credentials(
    session: boto3.Session, sts_server: StsServer, clock: FakeClock
) -> None:
    child = assume_role(session, role_arn())
    frozen_access_key(child)
    session._session.set_credentials(SECOND_ACCESS_KEY, "second-secret")
    clock.advance(2 * 3600)  # past expiry: the next use must call AssumeRole again
    frozen_access_key(child)
    assert sts_server.signing_keys() == [DUMMY_ACCESS_KEY, SECOND_ACCESS_KEY]


def test_a_refresh_signs_with_a_parent_credentials_object_replaced_by_its_provider(
    session: boto3.Session, sts_server: StsServer, clock: FakeClock
) -> None:
    child = assume_role(session, role_arn())
    frozen_access_key(child)
    second = Credentials(SECOND_ACCESS_KEY, "second-secret")
    botocore_session = session._session
    botocore_session.register_component(
        "credential_provider", CredentialResolver([SecondKeys(second)])
    )
    botocore_session._credentials = None  # as a re-configured session: resolved again
    clock.advance(2 * 3600)
    frozen_access_key(child)
    assert sts_server.signing_keys() == [DUMMY_ACCESS_KEY, SECOND_ACCESS_KEY]


def test_concurrent_refreshes_create_clients_one_at_a_time(
    session: boto3.Session, sts_server: StsServer
) -> None:
    botocore_session = session._session
    original = botocore_session.create_client
    inside = 0
    most = 0
    count_lock = threading.Lock()

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal inside, most
        with count_lock:
            inside += 1
            most = max(most, inside)
        try:
            time.sleep(0.005)  # widen the window other threads could enter in
            return original(*args, **kwargs)
        finally:
            with count_lock:
                inside -= 1

    botocore_session.create_client = counting
    children = [assume_role(session, role_arn(f"Role{i}")) for i in range(16)]
    barrier = threading.Barrier(len(children))

    def first_use(child: boto3.Session) -> str:
        barrier.wait()
        return frozen_access_key(child)

    with ThreadPoolExecutor(len(children)) as pool:
        keys = list(pool.map(first_use, children))
    assert len(set(keys)) == len(children)
    assert sts_server.count() == len(children)
    assert most == 1
