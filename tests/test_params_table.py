"""One table of AssumeRole parameters (``_core.parameters.REQUEST_PARAMETER_SPECS``): the two
public signatures, the normalization and the command line all agree with it, so a
parameter added to the table but not to a signature (or the other way) fails here."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from aio_assume_role import session, sync
from aio_assume_role._core.parameters import (
    REQUEST_PARAMETER_SPECS,
    REQUEST_PARAMETERS,
    normalize_assume_role_args,
    request_parameters,
)
from aio_assume_role.programs import cli

_NOT_REQUEST = {"session", "RoleArn", "region_name", "validate", "cache", "additional_kwargs"}


def _named_request_parameters(function: Any) -> list[str]:
    return [name for name in inspect.signature(function).parameters if name not in _NOT_REQUEST]


@pytest.mark.parametrize("front_end", [session.assume_role, sync.assume_role])
def test_each_public_signature_names_exactly_the_tables_parameters(front_end: Any) -> None:
    assert _named_request_parameters(front_end) == list(REQUEST_PARAMETERS)


def test_the_command_line_has_an_option_per_table_entry() -> None:
    parser = cli.build_parser()
    options = {action.dest: action for action in parser._actions if action.option_strings}
    for name, spec in REQUEST_PARAMETER_SPECS.items():
        assert options[name].option_strings == [f"--{name}"]
        assert options[name].metavar == spec.metavar
    assert (*REQUEST_PARAMETERS, "additional_kwargs") == cli.ASSUME_ROLE_OPTIONS
    namespace = parser.parse_args(["arn:aws:iam::123456789012:role/R"])
    assert set(cli.assume_role_kwargs(namespace)) == {*REQUEST_PARAMETERS, "additional_kwargs"}


def test_the_helper_takes_the_tables_names_from_a_front_ends_arguments() -> None:
    arguments = {name: None for name in REQUEST_PARAMETERS}
    arguments.update(session=object(), RoleArn="arn", cache=None, ExternalId="x")
    assert request_parameters(arguments) == {
        **{name: None for name in REQUEST_PARAMETERS},
        "ExternalId": "x",
    }


def test_a_front_end_missing_a_table_parameter_fails() -> None:
    arguments = {name: None for name in REQUEST_PARAMETERS if name != "SourceIdentity"}
    with pytest.raises(KeyError, match="SourceIdentity"):
        request_parameters(arguments)


def test_normalization_rejects_names_not_in_the_table() -> None:
    with pytest.raises(TypeError, match="Foo"):
        normalize_assume_role_args(Foo=1)


def test_a_parameter_added_to_the_table_reaches_the_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What adding an STS parameter takes in the normalization layer: one entry.
    from aio_assume_role._core import parameters  # the table's home (request re-exports it)

    specs = dict(REQUEST_PARAMETER_SPECS)
    specs["ProvidedContexts"] = parameters.RequestParameter(lambda value: [value])
    monkeypatch.setattr(parameters, "REQUEST_PARAMETER_SPECS", specs)
    assert normalize_assume_role_args(ProvidedContexts={"a": 1}) == {
        "ProvidedContexts": [{"a": 1}]
    }
