"""Malformed AssumeRole responses and cache entries: a typed error, never cached, a miss.

A 200 AssumeRole answer without usable credentials (a middlebox's partial body, a
proxy's error page parsed as XML) raises ``MalformedResponseError`` naming the role
and the field, and is never written to the cache, where it would break every tool
sharing the directory. A cache entry with the wrong shape is a miss, so the role is
assumed again instead of the signer failing later with a ``TypeError``.
"""

from __future__ import annotations

import datetime
import json
import logging
import pickle
from pathlib import Path
from typing import Any

import boto3
import pytest
from aiobotocore.session import AioSession
from botocore.exceptions import CredentialRetrievalError
from moto_sts import StsServer
from support import FakeClock, role_arn

import aio_assume_role
from aio_assume_role import sync as sync_path
from aio_assume_role._core.response import credential_metadata
from aio_assume_role.cache import AioJSONFileCache
from aio_assume_role.errors import AssumeRoleError, MalformedResponseError
from aio_assume_role.session import assume_role

SECRET = "SECRETMARKER" + "s" * 28
TOKEN = "TOKENMARKER" + "t" * 100
ARN = role_arn()
FUTURE = "2099-01-01T00:00:00Z"


def good_response(**changes: Any) -> dict[str, Any]:
    """A well-formed AssumeRole response; ``changes`` replace Credentials fields
    (the value ``...`` removes the field)."""
    credentials: dict[str, Any] = {
        "AccessKeyId": "ASIAEXAMPLEEXAMPLE00",
        "SecretAccessKey": SECRET,
        "SessionToken": TOKEN,
        "Expiration": datetime.datetime(2099, 1, 1, tzinfo=datetime.timezone.utc),
    }
    for name, value in changes.items():
        if value is ...:
            credentials.pop(name, None)
        else:
            credentials[name] = value
    return {"Credentials": credentials, "AssumedRoleUser": {"Arn": "x"}}


BAD_SHAPES: dict[str, tuple[object, str]] = {
    "not-a-dict": (["Credentials"], "response"),
    "none": (None, "response"),
    "no-credentials": ({"AssumedRoleUser": {"Arn": "x"}}, "Credentials"),
    "credentials-null": ({"Credentials": None}, "Credentials"),
    "credentials-list": ({"Credentials": [SECRET]}, "Credentials"),
    "credentials-str": ({"Credentials": SECRET}, "Credentials"),
    "access-key-missing": (good_response(AccessKeyId=...), "Credentials.AccessKeyId"),
    "access-key-null": (good_response(AccessKeyId=None), "Credentials.AccessKeyId"),
    "access-key-empty": (good_response(AccessKeyId=""), "Credentials.AccessKeyId"),
    "secret-missing": (good_response(SecretAccessKey=...), "Credentials.SecretAccessKey"),
    "secret-null": (good_response(SecretAccessKey=None), "Credentials.SecretAccessKey"),
    "secret-int": (good_response(SecretAccessKey=97531), "Credentials.SecretAccessKey"),
    "secret-bytes": (
        good_response(SecretAccessKey=SECRET.encode()),
        "Credentials.SecretAccessKey",
    ),
    "token-missing": (good_response(SessionToken=...), "Credentials.SessionToken"),
    "token-empty": (good_response(SessionToken=""), "Credentials.SessionToken"),
    "token-list": (good_response(SessionToken=[TOKEN]), "Credentials.SessionToken"),
    "expiration-missing": (good_response(Expiration=...), "Credentials.Expiration"),
    "expiration-null": (good_response(Expiration=None), "Credentials.Expiration"),
    "expiration-int": (good_response(Expiration=4102444800), "Credentials.Expiration"),
    "expiration-word": (good_response(Expiration="soon"), "Credentials.Expiration"),
    # dateutil would read "5" as the 5th of this month: not ISO-8601, so not accepted
    "expiration-digit": (good_response(Expiration="5"), "Credentials.Expiration"),
    "expiration-no-zone": (
        good_response(Expiration="2099-01-01T00:00:00"),
        "Credentials.Expiration",
    ),
    "expiration-naive-datetime": (
        good_response(Expiration=datetime.datetime(2099, 1, 1)),
        "Credentials.Expiration",
    ),
    "expiration-impossible-date": (
        good_response(Expiration="2099-02-30T00:00:00Z"),
        "Credentials.Expiration",
    ),
    "account-id-int": (good_response(AccountId=123456789012), "Credentials.AccountId"),
}


class TestShapeCheck:
    def test_a_good_response_gives_credential_metadata(self) -> None:
        metadata = credential_metadata(
            good_response(AccountId="123456789012"), role_arn=ARN, source="sts"
        )
        assert metadata == {
            "source": "sts",
            "access_key": "ASIAEXAMPLEEXAMPLE00",
            "secret_key": SECRET,
            "token": TOKEN,
            "expiry_time": datetime.datetime(2099, 1, 1, tzinfo=datetime.timezone.utc),
            "account_id": "123456789012",
        }

    @pytest.mark.parametrize(
        "expiration",
        [
            "2099-01-01T00:00:00UTC",  # botocore's JSONFileCache (and so the AWS CLI) writes this
            "2099-01-01T00:00:00Z",
            "2099-01-01T00:00:00+00:00",
            "2099-01-01T00:00:00.123456+0100",
            datetime.datetime(2099, 1, 1, tzinfo=datetime.timezone.utc),
        ],
    )
    def test_expiration_forms_that_botocore_reads(self, expiration: object) -> None:
        metadata = credential_metadata(good_response(Expiration=expiration), role_arn=ARN)
        assert metadata["account_id"] is None
        assert metadata["expiry_time"]

    @pytest.mark.parametrize(("response", "field"), BAD_SHAPES.values(), ids=BAD_SHAPES.keys())
    def test_bad_shape_raises_naming_the_role_and_field_never_a_value(
        self, response: object, field: str
    ) -> None:
        with pytest.raises(MalformedResponseError) as caught:
            credential_metadata(response, role_arn=ARN)
        error = caught.value
        assert error.role_arn == ARN
        assert error.field == field
        message = str(error)
        assert ARN in message
        assert field in message
        for value in (SECRET, TOKEN, "ASIAEXAMPLE", "97531", "soon", "4102444800"):
            assert value not in message

    def test_error_is_an_assume_role_error_and_botocores_credential_retrieval_error(
        self,
    ) -> None:
        with pytest.raises(MalformedResponseError) as caught:
            credential_metadata({}, role_arn=ARN)
        assert isinstance(caught.value, AssumeRoleError)
        assert isinstance(caught.value, CredentialRetrievalError)
        copy = pickle.loads(pickle.dumps(caught.value))
        assert (type(copy), str(copy), copy.field) == (
            MalformedResponseError,
            str(caught.value),
            "Credentials",
        )

    def test_exported(self) -> None:
        assert aio_assume_role.MalformedResponseError is MalformedResponseError
        assert "MalformedResponseError" in aio_assume_role.__all__
        assert "MalformedResponseError" in aio_assume_role.errors.__all__
        assert "MalformedResponseError" in (aio_assume_role.errors.__doc__ or "")


NS = 'xmlns="https://sts.amazonaws.com/doc/2011-06-15/"'
NO_CREDENTIALS = (
    f"<AssumeRoleResponse {NS}><AssumeRoleResult></AssumeRoleResult></AssumeRoleResponse>"
)
# With AssumedRoleUser, botocore's _add_account_id_to_response writes into Credentials.
USER_BUT_NO_CREDENTIALS = (
    f"<AssumeRoleResponse {NS}><AssumeRoleResult><AssumedRoleUser>"
    "<AssumedRoleId>AROAEXAMPLE:s</AssumedRoleId>"
    "<Arn>arn:aws:sts::123456789012:assumed-role/MyRole/s</Arn>"
    "</AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>"
)
EMPTY_TOKEN = (
    f"<AssumeRoleResponse {NS}><AssumeRoleResult><Credentials>"
    "<AccessKeyId>ASIAEXAMPLEEXAMPLE00</AccessKeyId>"
    f"<SecretAccessKey>{SECRET}</SecretAccessKey><SessionToken></SessionToken>"
    f"<Expiration>{FUTURE}</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>"
)


def _with_expiration(expiration: str) -> str:
    """A complete body but for an Expiration botocore's timestamp parser cannot read."""
    return EMPTY_TOKEN.replace(
        "<SessionToken></SessionToken>", f"<SessionToken>{TOKEN}</SessionToken>"
    ).replace(f"<Expiration>{FUTURE}</Expiration>", f"<Expiration>{expiration}</Expiration>")


PARTIAL_BODIES = {
    "no-credentials": (NO_CREDENTIALS, "Credentials"),
    "user-but-no-credentials": (USER_BUT_NO_CREDENTIALS, "Credentials"),
    "empty-session-token": (EMPTY_TOKEN, "Credentials.SessionToken"),
    # botocore's parser raises a bare ValueError for these: the fetch's is typed.
    "expiration-year-10000": (_with_expiration("10000-01-01T00:00:00Z"), "Credentials.Expiration"),
    "expiration-a-word": (_with_expiration("soon"), "Credentials.Expiration"),
    # ISO-8601 in shape (the quick parser's pattern), yet no time: botocore's parser, then.
    "expiration-february-30": (_with_expiration("2099-02-30T00:00:00Z"), "Credentials.Expiration"),
    "expiration-past-year-9999-in-utc": (
        _with_expiration("9999-12-31T23:59:59-01:00"),
        "Credentials.Expiration",
    ),
}


def _check_error(error: BaseException, field: str) -> None:
    assert isinstance(error, MalformedResponseError)
    assert ARN in str(error) and field in str(error)
    assert SECRET not in str(error)


class TestFetchedResponse:
    """Against the moto server: the partial body is a typed error and is never cached."""

    @pytest.mark.parametrize(("body", "field"), PARTIAL_BODIES.values(), ids=PARTIAL_BODIES)
    @pytest.mark.parametrize("cache_kind", ["dict", "file"])
    async def test_async_path_raises_and_caches_nothing(
        self,
        parent: AioSession,
        sts_server: StsServer,
        tmp_path: Path,
        clock: FakeClock,
        body: str,
        field: str,
        cache_kind: str,
    ) -> None:
        cache: Any = {} if cache_kind == "dict" else AioJSONFileCache(tmp_path / "cache")
        child = assume_role(parent, ARN, cache=cache)
        sts_server.respond_next(body)
        with pytest.raises(MalformedResponseError) as caught:
            await child.prefetch_credentials()
        _check_error(caught.value, field)
        if cache_kind == "dict":
            assert cache == {}
        else:
            entries = [p.name for p in (tmp_path / "cache").glob("*") if p.suffix != ".lock"]
            assert entries == []  # no entry (a miss leaves its lock file: not an entry)
        clock.advance(5)  # past the few seconds in which callers get the same error
        await child.prefetch_credentials()  # STS answers properly again: the next use works
        assert sts_server.count() == 2
        async with child.create_client("sts") as sts:
            await sts.get_caller_identity()

    @pytest.mark.parametrize(("body", "field"), PARTIAL_BODIES.values(), ids=PARTIAL_BODIES)
    @pytest.mark.parametrize("cache_kind", ["dict", "file"])
    def test_sync_path_raises_and_caches_nothing(
        self,
        sts_server: StsServer,
        tmp_path: Path,
        clock: FakeClock,
        body: str,
        field: str,
        cache_kind: str,
    ) -> None:
        cache: Any = {} if cache_kind == "dict" else sync_path.JSONFileCache(tmp_path / "cache")
        child = sync_path.assume_role(boto3.Session(), ARN, cache=cache)
        sts_server.respond_next(body)
        with pytest.raises(MalformedResponseError) as caught:
            child.get_credentials().get_frozen_credentials()
        _check_error(caught.value, field)
        if cache_kind == "dict":
            assert cache == {}
        else:
            assert not (tmp_path / "cache").exists() or list((tmp_path / "cache").iterdir()) == []
        clock.advance(5)  # past the few seconds in which callers get the same error
        child.client("sts").get_caller_identity()  # the next use works
        assert sts_server.count() == 2


BAD_ENTRIES: dict[str, dict[str, Any]] = {
    "null-access-key": {"AccessKeyId": None},
    "null-secret": {"SecretAccessKey": None},
    "int-token": {"SessionToken": 1234},
    "empty-token": {"SessionToken": ""},
    "list-secret": {"SecretAccessKey": [SECRET]},
    "no-zone-expiration": {"Expiration": "2099-01-01T00:00:00"},
}


def _entry(changes: dict[str, Any]) -> dict[str, Any]:
    response = good_response(**{"Expiration": "2099-01-01T00:00:00UTC", **changes})
    response["AssumedRoleUser"] = {"Arn": "arn:aws:sts::123456789012:assumed-role/MyRole/s"}
    return response


class TestMalformedCacheEntryIsAMiss:
    """Entries with a future Expiration but unusable credentials: assumed again, not served."""

    @pytest.mark.parametrize("changes", BAD_ENTRIES.values(), ids=BAD_ENTRIES)
    async def test_async_dict_cache(
        self,
        parent: AioSession,
        sts_server: StsServer,
        changes: dict[str, Any],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        cache: dict[str, Any] = {}
        child = assume_role(parent, ARN, cache=cache)
        cache[child._assumed_role_credentials.fetcher.cache_key] = _entry(changes)
        with caplog.at_level(logging.DEBUG, logger="aio_assume_role"):
            async with child.create_client("sts") as sts:
                await sts.get_caller_identity()  # signs: the signer would raise TypeError
        assert sts_server.count() == 1
        (fresh,) = cache.values()
        assert fresh["Credentials"]["SecretAccessKey"] != SECRET
        malformed = [r for r in caplog.records if "malformed" in r.getMessage()]
        assert malformed and all(r.levelno == logging.DEBUG for r in malformed)
        assert "Credentials." in malformed[0].getMessage()
        assert SECRET not in caplog.text and TOKEN not in caplog.text

    @pytest.mark.parametrize("changes", BAD_ENTRIES.values(), ids=BAD_ENTRIES)
    async def test_async_file_cache(
        self, parent: AioSession, sts_server: StsServer, tmp_path: Path, changes: dict[str, Any]
    ) -> None:
        cache = AioJSONFileCache(tmp_path)
        child = assume_role(parent, ARN, cache=cache)
        path = Path(cache.path_for(child._assumed_role_credentials.fetcher.cache_key))
        path.write_text(json.dumps(_entry(changes)))  # noqa: ASYNC240 (set-up)
        async with child.create_client("sts") as sts:
            await sts.get_caller_identity()
        assert sts_server.count() == 1
        assert json.loads(path.read_text())["Credentials"]["SecretAccessKey"] != SECRET  # noqa: ASYNC240

    @pytest.mark.parametrize("changes", BAD_ENTRIES.values(), ids=BAD_ENTRIES)
    def test_sync_file_cache(
        self, sts_server: StsServer, tmp_path: Path, changes: dict[str, Any]
    ) -> None:
        child = sync_path.assume_role(
            boto3.Session(), ARN, cache=sync_path.JSONFileCache(tmp_path)
        )
        path = tmp_path / f"{child.get_credentials().fetcher.cache_key}.json"
        path.write_text(json.dumps(_entry(changes)))
        child.client("sts").get_caller_identity()
        assert sts_server.count() == 1
        assert json.loads(path.read_text())["Credentials"]["SecretAccessKey"] != SECRET


MFA_SERIAL = "arn:aws:iam::123456789012:mfa/alice"


class TestFixedTokenCode:
    """A malformed answer is a failed call: it does not use up a fixed TokenCode (the
    README's rule), on either path."""

    async def test_async(
        self, parent: AioSession, sts_server: StsServer, clock: FakeClock
    ) -> None:
        child = assume_role(parent, ARN, SerialNumber=MFA_SERIAL, TokenCode="654321")
        sts_server.respond_next(NO_CREDENTIALS)
        with pytest.raises(MalformedResponseError):
            await child.prefetch_credentials()
        clock.advance(5)
        await child.prefetch_credentials()
        assert [call["TokenCode"] for call in sts_server.calls()] == ["654321", "654321"]

    def test_sync(self, sts_server: StsServer, clock: FakeClock) -> None:
        child = sync_path.assume_role(
            boto3.Session(), ARN, SerialNumber=MFA_SERIAL, TokenCode="654321"
        )
        sts_server.respond_next(NO_CREDENTIALS)
        with pytest.raises(MalformedResponseError):
            child.get_credentials().get_frozen_credentials()
        clock.advance(5)
        child.get_credentials().get_frozen_credentials()
        assert [call["TokenCode"] for call in sts_server.calls()] == ["654321", "654321"]


def _with_user_arn(arn: str) -> str:
    """A complete body whose AssumedRoleUser.Arn is ``arn``."""
    complete = _with_expiration(FUTURE)
    return complete.replace(
        "<Credentials>",
        f"<AssumedRoleUser><AssumedRoleId>AROAEXAMPLE:s</AssumedRoleId><Arn>{arn}</Arn>"
        "</AssumedRoleUser><Credentials>",
    )


@pytest.mark.parametrize(
    ("arn", "account_id"),
    [
        ("arn:aws:sts::210987654321:assumed-role/MyRole/s", "210987654321"),
        ("arn:aws:sts::210987654321", None),  # too few parts for botocore's parser
        ("not-an-arn", None),
    ],
)
async def test_the_account_id_comes_from_the_assumed_role_arn_when_it_is_one(
    parent: AioSession, sts_server: StsServer, arn: str, account_id: str | None
) -> None:
    # As botocore does: the account id of a well-formed AssumedRoleUser.Arn is added to the
    # credentials (and the cache entry); anything else leaves it out, and is no error.
    cache: dict[str, Any] = {}
    child = assume_role(parent, ARN, cache=cache)
    sts_server.respond_next(_with_user_arn(arn))
    await child.prefetch_credentials()
    (entry,) = cache.values()
    assert entry["Credentials"].get("AccountId") == account_id


# --- the timestamp parser of the package's STS clients ---------------------------

# What STS sends, and other ISO-8601 forms with a zone: read by datetime.fromisoformat.
QUICK_TIMES = [
    "2099-01-01T00:00:00Z",
    "2099-01-01T00:00:00.123Z",
    "2099-01-01T00:00:00.123456Z",
    "2099-01-01T01:30:00+01:30",
    "2099-01-01T00:00:00UTC",
]
# Left to botocore's parse_timestamp: epoch seconds, RFC 822, no zone.
BOTOCORE_TIMES = ["4070908800", "Thu, 01 Jan 2099 00:00:00 GMT", "2099-01-01T00:00:00"]


@pytest.mark.parametrize("text", QUICK_TIMES + BOTOCORE_TIMES)
def test_sts_timestamp_reads_what_botocore_reads(text: str) -> None:
    from botocore.utils import parse_timestamp

    from aio_assume_role._core.response import sts_timestamp

    assert sts_timestamp(text) == parse_timestamp(text)


@pytest.mark.parametrize("text", QUICK_TIMES)
def test_sts_timestamp_reads_iso_times_without_dateutil(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dateutil.parser
    from botocore.utils import parse_timestamp

    from aio_assume_role._core.response import sts_timestamp

    botocores = parse_timestamp(text)  # through dateutil, before it is taken away

    def no_dateutil(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("dateutil was used")

    monkeypatch.setattr(dateutil.parser, "parse", no_dateutil)
    parsed = sts_timestamp(text)
    assert parsed == botocores
    assert parsed.tzinfo is datetime.timezone.utc  # compared with the clock's cheaply


@pytest.mark.parametrize("text", ["2099-02-30T00:00:00Z", "soon", "10000-01-01T00:00:00Z"])
def test_sts_timestamp_raises_botocores_error_for_what_is_no_time(text: str) -> None:
    from botocore.utils import parse_timestamp

    from aio_assume_role._core.response import sts_timestamp

    with pytest.raises(ValueError) as ours:
        sts_timestamp(text)
    with pytest.raises(ValueError) as botocores:
        parse_timestamp(text)
    assert str(ours.value) == str(botocores.value)
