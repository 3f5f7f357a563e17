"""ARN helpers and Lambda session names, with aws-assume-role-lib's rules (no server)."""

from __future__ import annotations

import re

import pytest

from aio_assume_role import (
    InvalidParameterError,
    generate_lambda_session_name,
    get_assumed_role_session_arn,
    get_role_arn,
    is_role_arn,
)

# One rule for every helper that takes an account id, aws-assume-role-lib's: an int or
# a str of up to 12 digits, zero-padded to 12. What is not an account id at all raises.
PADDED_ACCOUNT_IDS = {
    "int": (123456789012, "123456789012"),
    "short-int": (1234, "000000001234"),
    "zero": (0, "000000000000"),
    "short-str": ("1234", "000000001234"),
    "11-digits": ("12345678901", "012345678901"),
    "12-digits": ("012345678901", "012345678901"),
}
_BAD_ACCOUNT_IDS = {
    "bool": (True, "got bool"),
    "float": (123456789012.0, "pass int(value)"),
    "none": (None, "got NoneType"),
    "negative-int": (-5, "negative"),
    "13-digit-int": (1234567890123, "at most 12 digits, got an int of 13"),
    "13-digits": ("1234567890123", "at most 12 digits, got 13"),
    "empty": ("", "is empty"),
    "letter": ("12345678901x", "not a digit (0-9) at position 12"),
    "dashes": ("1234-5678-9012", "not a digit (0-9) at position 5"),
    "fullwidth-digits": ("\uff11" * 12, "not a digit (0-9) at position 1"),
    "whitespace": (" 123456789012", "leading or trailing whitespace"),
}
BAD_ACCOUNT_IDS = list(_BAD_ACCOUNT_IDS.values())
BAD_ACCOUNT_ID_IDS = list(_BAD_ACCOUNT_IDS)


class TestRoleArn:
    def test_plain(self) -> None:
        assert get_role_arn("123456789012", "MyRole") == "arn:aws:iam::123456789012:role/MyRole"

    def test_leading_zeros_are_kept(self) -> None:
        assert get_role_arn("012345678901", "R") == "arn:aws:iam::012345678901:role/R"

    @pytest.mark.parametrize(
        ("account_id", "padded"), PADDED_ACCOUNT_IDS.values(), ids=PADDED_ACCOUNT_IDS
    )
    def test_an_int_or_short_account_id_is_zero_padded(
        self, account_id: str | int, padded: str
    ) -> None:
        assert get_role_arn(account_id, "R") == f"arn:aws:iam::{padded}:role/R"
        assert get_assumed_role_session_arn(account_id, "R", "s1") == (
            f"arn:aws:sts::{padded}:assumed-role/R/s1"
        )

    @pytest.mark.parametrize(("account_id", "says"), BAD_ACCOUNT_IDS, ids=BAD_ACCOUNT_ID_IDS)
    def test_account_id_that_is_no_account_id_raises(self, account_id: object, says: str) -> None:
        with pytest.raises(InvalidParameterError) as caught:
            get_role_arn(account_id, "R")  # type: ignore[arg-type]
        assert caught.value.parameter == "account_id"
        assert says in str(caught.value)
        assert "account_id" in str(caught.value)

    @pytest.mark.parametrize(
        ("role_name", "path", "expected"),
        [
            ("R", "/", "role/R"),
            ("R", "team", "role/team/R"),
            ("R", "/team/", "role/team/R"),
            ("team/R", "", "role/team/R"),
            ("/team/sub/R", "", "role/team/sub/R"),
        ],
    )
    def test_paths(self, role_name: str, path: str, expected: str) -> None:
        assert get_role_arn("123456789012", role_name, path) == (
            f"arn:aws:iam::123456789012:{expected}"
        )

    def test_path_in_both_places_is_an_error(self) -> None:
        # A ValueError, as in aws-assume-role-lib, and ours: naming the parameter.
        with pytest.raises(ValueError, match="both") as caught:
            get_role_arn("123456789012", "team/R", "team")
        assert isinstance(caught.value, InvalidParameterError)
        assert caught.value.parameter == "path"

    def test_partition(self) -> None:
        assert get_role_arn("123456789012", "R", partition="aws-cn").startswith("arn:aws-cn:")

    def test_is_role_arn(self) -> None:
        assert is_role_arn(get_role_arn("123456789012", "team/R"))
        assert not is_role_arn("arn:aws:iam::123456789012:user/R")
        assert not is_role_arn(None)


def test_assumed_role_session_arn_drops_the_path() -> None:
    assert get_assumed_role_session_arn("000000000042", "team/R", "s1") == (
        "arn:aws:sts::000000000042:assumed-role/R/s1"
    )


@pytest.mark.parametrize(("account_id", "says"), BAD_ACCOUNT_IDS, ids=BAD_ACCOUNT_ID_IDS)
def test_assumed_role_session_arn_takes_the_same_account_ids(
    account_id: object, says: str
) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        get_assumed_role_session_arn(account_id, "R", "s1")  # type: ignore[arg-type]
    assert caught.value.parameter == "account_id"
    assert says in str(caught.value)


class TestLambdaSessionName:
    @pytest.fixture(autouse=True)
    def _lambda_env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "my-function")
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_VERSION", "7")
        monkeypatch.setenv(
            "AWS_LAMBDA_LOG_STREAM_NAME", "2020/01/31/[$LATEST]3893xmpl7fac4485b47bb75b671a283c"
        )

    def test_from_environment(self) -> None:
        assert generate_lambda_session_name() == ("my-function.7.3893xmpl7fac4485b47bb75b671a283c")

    def test_latest_counts_as_no_version(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        assert generate_lambda_session_name() == "my-function.3893xmpl7fac4485b47bb75b671a283c"

    def test_explicit_arguments_win(self) -> None:
        assert generate_lambda_session_name("fn", "3", "abc") == "fn.3.abc"

    def test_long_name_is_truncated_alone(self) -> None:
        name = "f" * 70
        assert generate_lambda_session_name(name) == "f" * 64

    def test_version_dropped_when_name_and_version_are_too_long(self) -> None:
        name = "f" * 55
        result = generate_lambda_session_name(name, "12345")
        assert result.startswith(name + ".3893")
        assert "12345" not in result
        assert len(result) == 64

    def test_timestamp_identifier_without_log_stream(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("AWS_LAMBDA_LOG_STREAM_NAME")
        result = generate_lambda_session_name()
        assert re.fullmatch(r"my-function\.7\.\d{14,}", result)

    def test_random_identifier_when_a_timestamp_does_not_fit(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("AWS_LAMBDA_LOG_STREAM_NAME")
        name = "f" * 50  # leaves 13 characters for the identifier: too few for a timestamp
        result = generate_lambda_session_name(name, "1")
        assert len(result) == 64
        assert re.fullmatch(r"f{50}\.1\.[a-z0-9]{11}", result)

    def test_invalid_characters_are_replaced(self) -> None:
        assert generate_lambda_session_name("my fn:x", "", "id") == "my_fn_x.7.id"


def test_lambda_session_name_outside_lambda_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A KeyError, as aws-assume-role-lib raises, but one that says what to do."""
    import aws_assume_role_lib

    from aio_assume_role import sync as sync_path

    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    with pytest.raises(KeyError):
        aws_assume_role_lib.generate_lambda_session_name()
    for generate in (generate_lambda_session_name, sync_path.generate_lambda_session_name):
        with pytest.raises(KeyError) as caught:
            generate()
        message = str(caught.value)
        assert "AWS_LAMBDA_FUNCTION_NAME is not set" in message
        assert "function_name" in message.replace("AWS_LAMBDA_FUNCTION_NAME", "")
    assert "KeyError" in (generate_lambda_session_name.__doc__ or "")
    assert "Never raises" not in (generate_lambda_session_name.__doc__ or "")
    assert generate_lambda_session_name("given").startswith("given")
