"""The pure normalization and validation layer (no server)."""

from __future__ import annotations

import datetime
import json
import pathlib

import botocore.utils
import pytest
from botocore.exceptions import ParamValidationError
from support import role_arn

from aio_assume_role import (
    AUTOMATIC_ROLE_SESSION_NAME,
    AioJSONFileCache,
    InvalidParameterError,
    is_role_arn,
)
from aio_assume_role._core.parameters import normalize_assume_role_args
from aio_assume_role._core.request import (
    is_chained,
    validate_assume_role_args,
    validate_options,
)


def sync_json_file_cache() -> type:
    from aio_assume_role.sync import JSONFileCache

    return JSONFileCache


BAD_ROLE_ARNS: dict[str, tuple[object, str]] = {
    "none": (None, "must be a str"),
    "int": (123, "must be a str"),
    "bytes": (b"arn:aws:iam::123456789012:role/MyRole", "got bytes"),
    "empty": ("", "is empty"),
    "whitespace": (" arn:aws:iam::123456789012:role/MyRole\n", "leading or trailing whitespace"),
    "role-name-only": ("MyRole", "not the role's name"),
    "not-arn-prefix": ("urn:aws:iam::123456789012:role/MyRole", "does not start with arn:"),
    "too-few-parts": ("arn:aws:iam:123456789012:role/MyRole", "parts, not 6"),
    "partition": ("arn:amazon:iam::123456789012:role/MyRole", "partition (part 2)"),
    "service": ("arn:aws:s3::123456789012:role/MyRole", "service (part 3) must be iam"),
    "assumed-role-arn": (
        "arn:aws:sts::123456789012:assumed-role/MyRole/alice",
        "an assumed-role session's ARN",
    ),
    "region": ("arn:aws:iam:us-east-1:123456789012:role/MyRole", "region (part 4) must be empty"),
    "account-11-digits": ("arn:aws:iam::12345678901:role/MyRole", "got 11 characters"),
    "account-letter": ("arn:aws:iam::12345678901x:role/MyRole", "account id (part 5)"),
    "user-arn": (
        "arn:aws:iam::123456789012:user/alice",
        "resource (part 6) must start with role/",
    ),
    "empty-role-name": ("arn:aws:iam::123456789012:role/", "empty role name"),
    "path-without-name": ("arn:aws:iam::123456789012:role/team/", "empty role name"),
    "bad-character": ("arn:aws:iam::123456789012:role/My Role", "at position 34"),
}
GOOD_ROLE_ARNS = [
    "arn:aws:iam::123456789012:role/MyRole",
    "arn:aws:iam::012345678901:role/team/app/My.Role+=,@_-",
    "arn:aws-us-gov:iam::123456789012:role/MyRole",
    "arn:aws-cn:iam::123456789012:role/MyRole",
]


class TestNormalize:
    def test_nothing_given_gives_empty_request(self) -> None:
        assert normalize_assume_role_args() == {}

    def test_policy_dict_becomes_json(self) -> None:
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*"}]}
        args = normalize_assume_role_args(Policy=policy)
        assert isinstance(args["Policy"], str)
        assert json.loads(args["Policy"]) == policy

    def test_only_policy_mappings_are_serialized(self) -> None:
        # 123 is not a policy: it is left for validation to reject, not sent as "123".
        assert normalize_assume_role_args(Policy=123)["Policy"] == 123  # type: ignore[arg-type]
        unserializable = {"Statement": {1, 2}}
        assert normalize_assume_role_args(Policy=unserializable)["Policy"] == unserializable

    def test_the_result_shares_no_list_or_dict_with_the_arguments(self) -> None:
        # One normalized request serves every account of a fan-out: a caller changing
        # its own lists afterwards must not change it. A TokenCode provider is kept.
        tags = [{"Key": "team", "Value": "a"}]
        arns = [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}]
        keys = ["team"]

        def token_code() -> str:
            return "123456"

        args = normalize_assume_role_args(
            Tags=tags, PolicyArns=arns, TransitiveTagKeys=keys, TokenCode=token_code
        )
        tags[0]["Value"] = "b"
        arns.append({"arn": "arn:aws:iam::aws:policy/ViewOnlyAccess"})
        keys.append("cost-center")
        assert args["Tags"] == [{"Key": "team", "Value": "a"}]
        assert args["PolicyArns"] == [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}]
        assert args["TransitiveTagKeys"] == ["team"]
        assert args["TokenCode"] is token_code

    def test_policy_string_is_kept_verbatim(self) -> None:
        assert normalize_assume_role_args(Policy='{"a": 1}')["Policy"] == '{"a": 1}'

    def test_policy_arn_strings_become_descriptors(self) -> None:
        arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
        descriptor = {"arn": "arn:aws:iam::aws:policy/ViewOnlyAccess"}
        args = normalize_assume_role_args(PolicyArns=[arn, descriptor])
        assert args["PolicyArns"] == [{"arn": arn}, descriptor]

    def test_tags_as_a_dict_become_key_value_pairs(self) -> None:
        args = normalize_assume_role_args(Tags={"team": "core", "env": "dev"})
        assert args["Tags"] == [{"Key": "team", "Value": "core"}, {"Key": "env", "Value": "dev"}]

    def test_tags_as_a_list_are_kept(self) -> None:
        tags = [{"Key": "team", "Value": "core"}]
        assert normalize_assume_role_args(Tags=tags)["Tags"] == tags

    def test_tags_dict_with_a_bad_value_is_reported_with_its_index(self) -> None:
        error = _error(Tags={"team": 1})
        assert error.parameter == "Tags"
        assert "Tags[0].Value" in str(error)

    def test_timedelta_duration_becomes_seconds(self) -> None:
        args = normalize_assume_role_args(DurationSeconds=datetime.timedelta(hours=2))
        assert args["DurationSeconds"] == 7200
        assert type(args["DurationSeconds"]) is int

    def test_source_identity_is_the_session_name_when_none_given(self) -> None:
        args = normalize_assume_role_args(SourceIdentity="alice")
        assert args == {"RoleSessionName": "alice", "SourceIdentity": "alice"}

    def test_explicit_session_name_beats_source_identity(self) -> None:
        args = normalize_assume_role_args(RoleSessionName="bob", SourceIdentity="alice")
        assert args["RoleSessionName"] == "bob"

    def test_automatic_session_name_drops_the_name_even_with_source_identity(self) -> None:
        args = normalize_assume_role_args(
            RoleSessionName=AUTOMATIC_ROLE_SESSION_NAME, SourceIdentity="alice"
        )
        assert "RoleSessionName" not in args
        assert args["SourceIdentity"] == "alice"

    def test_additional_kwargs_are_merged_and_named_parameters_win(self) -> None:
        args = normalize_assume_role_args(
            ExternalId="named",
            additional_kwargs={"ExternalId": "extra", "MinimumSessionTokenSize": 1000},
        )
        assert args == {"ExternalId": "named", "MinimumSessionTokenSize": 1000}

    def test_none_values_are_left_out(self) -> None:
        args = normalize_assume_role_args(RoleSessionName="x1", ExternalId=None, Tags=None)
        assert args == {"RoleSessionName": "x1"}

    def test_inputs_are_not_mutated(self) -> None:
        arns = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
        extra = {"ExternalId": "e1"}
        normalize_assume_role_args(PolicyArns=arns, additional_kwargs=extra)
        assert arns == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
        assert extra == {"ExternalId": "e1"}


def _validate(role: object = None, **named: object) -> None:
    validate_assume_role_args(
        role_arn() if role is None else role,
        normalize_assume_role_args(**named),  # type: ignore[arg-type]
    )


def _error(role: object = None, **named: object) -> InvalidParameterError:
    with pytest.raises(InvalidParameterError) as caught:
        _validate(role, **named)
    return caught.value


class TestValidate:
    def test_valid_full_request_passes(self) -> None:
        _validate(
            RoleSessionName="session-1",
            PolicyArns=["arn:aws:iam::aws:policy/ReadOnlyAccess"],
            Policy={"Version": "2012-10-17", "Statement": []},
            DurationSeconds=datetime.timedelta(hours=1),
            Tags=[{"Key": "team", "Value": "core"}],
            TransitiveTagKeys=["team"],
            ExternalId="external-id",
            SerialNumber="arn:aws:iam::123456789012:mfa/alice",
            TokenCode="123456",
            SourceIdentity="alice",
        )

    @pytest.mark.parametrize(
        "arn",
        [
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:sts::123456789012:assumed-role/MyRole/session",
            "arn:aws:iam::12345:role/MyRole",
            "MyRole",
            "",
        ],
    )
    def test_non_role_arn_is_rejected_naming_role_arn(self, arn: str) -> None:
        error = _error(arn)
        assert error.parameter == "RoleArn"
        assert "RoleArn" in str(error)

    @pytest.mark.parametrize(("arn", "says"), BAD_ROLE_ARNS.values(), ids=BAD_ROLE_ARNS.keys())
    def test_role_arn_error_says_which_part_is_wrong_without_the_value(
        self, arn: object, says: str
    ) -> None:
        with pytest.raises(InvalidParameterError) as caught:
            validate_assume_role_args(arn, {})
        error = caught.value
        assert error.parameter == "RoleArn"
        (problem,) = error.problems  # one problem, not the generic one and botocore's too
        assert says in problem[1], problem
        if isinstance(arn, str) and len(arn) > 3:
            assert arn.strip() not in str(error)
            assert "alice" not in str(error) and "MyRole" not in str(error)

    @pytest.mark.parametrize("arn", [*BAD_ROLE_ARNS.values(), *GOOD_ROLE_ARNS])
    def test_is_role_arn_agrees_with_validation(self, arn: object) -> None:
        if isinstance(arn, tuple):
            assert not is_role_arn(arn[0])
        else:
            assert is_role_arn(arn)
            _validate(arn)

    def test_role_arn_with_path_and_other_partition_is_accepted(self) -> None:
        _validate("arn:aws-us-gov:iam::123456789012:role/team/app/MyRole")

    def test_too_short_session_name(self) -> None:
        error = _error(RoleSessionName="x")
        assert error.parameter == "RoleSessionName"
        assert "at least 2" in str(error)

    def test_too_long_session_name_which_botocore_alone_accepts(self) -> None:
        error = _error(RoleSessionName="x" * 65)
        assert error.parameter == "RoleSessionName"
        assert "at most 64" in str(error)

    def test_session_name_with_forbidden_characters(self) -> None:
        error = _error(RoleSessionName="has space")
        assert error.parameter == "RoleSessionName"
        assert "pattern" in str(error)

    @pytest.mark.parametrize("seconds", [899, 43201])
    def test_duration_out_of_range(self, seconds: int) -> None:
        error = _error(DurationSeconds=seconds)
        assert error.parameter == "DurationSeconds"
        assert str(seconds) in str(error)

    def test_duration_bool_is_rejected(self) -> None:
        assert _error(DurationSeconds=True).parameter == "DurationSeconds"

    def test_chained_session_duration_over_one_hour(self) -> None:
        args = normalize_assume_role_args(DurationSeconds=7200)
        validate_assume_role_args(role_arn(), args)  # fine when not chained
        with pytest.raises(InvalidParameterError) as caught:
            validate_assume_role_args(role_arn(), args, chained=True)
        assert caught.value.parameter == "DurationSeconds"
        assert "chaining" in str(caught.value)

    def test_nested_tag_problem_is_reported_with_its_path(self) -> None:
        error = _error(Tags=[{"Key": "k"}])
        assert error.parameter == "Tags"
        assert "Tags[0].Value" in str(error)

    def test_unknown_additional_kwarg(self) -> None:
        error = _error(additional_kwargs={"NotAParameter": 1})
        assert error.parameter == "NotAParameter"

    def test_serial_number_without_token_code(self) -> None:
        error = _error(SerialNumber="arn:aws:iam::123456789012:mfa/alice")
        assert error.parameter == "TokenCode"

    def test_token_code_provider_is_accepted(self) -> None:
        _validate(SerialNumber="arn:aws:iam::123456789012:mfa/alice", TokenCode=lambda: "123456")

    def test_string_values_never_appear_in_messages(self) -> None:
        error = _error(TokenCode="12345x", ExternalId="secret external id!")
        assert {name for name, _ in error.problems} == {"TokenCode", "ExternalId"}
        assert "12345x" not in str(error)
        assert "secret external id" not in str(error)

    def test_wrong_type_names_the_type_not_the_value(self) -> None:
        error = _error(ExternalId=1234567)
        assert error.parameter == "ExternalId"
        assert "int" in str(error)
        assert "1234567" not in str(error)

    def test_error_is_a_botocore_param_validation_error_and_value_error(self) -> None:
        error = _error(RoleSessionName="x")
        assert isinstance(error, ParamValidationError)
        assert isinstance(error, ValueError)

    def test_all_problems_are_reported_at_once(self) -> None:
        error = _error("nope", RoleSessionName="x", DurationSeconds=1)
        names = [name for name, _ in error.problems]
        assert names[0] == "RoleArn"
        assert {"RoleSessionName", "DurationSeconds"} <= set(names)


class TestOptions:
    @pytest.mark.parametrize("region", [None, True, False, "eu-west-1"])
    def test_valid_region_modes(self, region: object) -> None:
        validate_options(region_name=region, cache=None, additional_kwargs=None)

    @pytest.mark.parametrize("region", [1, "eu west 1", ""])
    def test_bad_region_name(self, region: object) -> None:
        with pytest.raises(InvalidParameterError) as caught:
            validate_options(region_name=region, cache=None, additional_kwargs=None)
        assert caught.value.parameter == "region_name"

    def test_bad_cache(self) -> None:
        with pytest.raises(InvalidParameterError) as caught:
            validate_options(region_name=None, cache=object(), additional_kwargs=None)
        assert caught.value.parameter == "cache"

    @pytest.mark.parametrize(
        "cache",
        [AioJSONFileCache, dict, botocore.utils.JSONFileCache, sync_json_file_cache()],
        ids=["AioJSONFileCache", "dict", "botocore-JSONFileCache", "sync-JSONFileCache"],
    )
    def test_a_cache_class_is_rejected_asking_for_an_instance(self, cache: type) -> None:
        with pytest.raises(InvalidParameterError) as caught:
            validate_options(region_name=None, cache=cache, additional_kwargs=None)
        assert caught.value.parameter == "cache"
        assert "pass an instance, e.g. AioJSONFileCache(path)" in str(caught.value)

    def test_the_sync_path_suggests_its_own_file_cache(self) -> None:
        with pytest.raises(InvalidParameterError) as caught:
            validate_options(
                region_name=None,
                cache=dict,
                additional_kwargs=None,
                cache_example="JSONFileCache(path)",
            )
        assert "pass an instance, e.g. JSONFileCache(path)" in str(caught.value)

    @pytest.mark.parametrize(
        "cache",
        ["/some/secret-dir", pathlib.Path("/some/secret-dir"), b"/some/secret-dir"],
        ids=["str", "Path", "bytes"],
    )
    def test_a_path_is_rejected_suggesting_a_file_cache_on_it(self, cache: object) -> None:
        with pytest.raises(InvalidParameterError) as caught:
            validate_options(region_name=None, cache=cache, additional_kwargs=None)
        assert caught.value.parameter == "cache"
        assert "AioJSONFileCache(path)" in str(caught.value)
        assert "secret-dir" not in str(caught.value)

    def test_bad_additional_kwargs(self) -> None:
        with pytest.raises(InvalidParameterError) as caught:
            validate_options(region_name=None, cache=None, additional_kwargs=[("a", 1)])
        assert caught.value.parameter == "additional_kwargs"


class TestIsChained:
    def test_a_session_this_library_returned_is_chained(self) -> None:
        child = type("Child", (), {"assume_role_parent_session": object()})()
        assert is_chained(child, None)

    def test_resolved_assume_role_credentials_are_chained(self) -> None:
        credentials = type("Creds", (), {"method": "assume-role"})()
        assert is_chained(object(), credentials)

    def test_other_or_unresolved_credentials_are_not(self) -> None:
        assert not is_chained(object(), type("Creds", (), {"method": "env"})())
        assert not is_chained(object(), None)
