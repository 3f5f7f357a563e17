"""Targets: accounts from ids or an AWS Organization (moto's, over HTTP), and sharding.

The organization is built once per module in the moto server (root -> A -> A1,
root -> B; 300 accounts, some closed). Moto's Organizations state is global in the
server process, so the module resets moto (``/moto-api/reset``) before building it
and after its last test.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiobotocore.session import AioSession
from botocore.exceptions import ClientError
from moto_sts import StsServer
from support import DUMMY_SECRET_KEY, new_organization, reset_moto

from aio_assume_role.arns import get_role_arn
from aio_assume_role.errors import InvalidParameterError
from aio_assume_role.session import assume_role
from aio_assume_role.targets import (
    SHARD_INDEX_ENVIRONMENT_VARIABLES,
    Account,
    OrganizationAccounts,
    accounts_or_ids,
    from_organization,
    in_shard,
    list_organization_accounts,
    normalize_accounts,
    parse_shard,
    resolve_targets,
    shard_accounts,
    shard_of,
)

# Accounts created directly in each place, and how many of them get closed.
LAYOUT = {"root": (100, 3), "A": (60, 2), "A1": (80, 2), "B": (60, 1)}


@dataclass
class Org:
    management_id: str
    ids: dict[str, str]  # "root", "A", "A1", "B" -> OU / root id
    active: dict[str, set[str]] = field(default_factory=dict)  # place -> active account ids
    suspended: set[str] = field(default_factory=set)

    def active_under(self, *places: str) -> list[str]:
        return sorted(set().union(*(self.active[place] for place in places)))


@pytest.fixture(scope="module")
def org(_moto_server: StsServer) -> Iterator[Org]:
    client, management_id, root_id = new_organization(_moto_server.endpoint)

    def create_ou(parent_id: str, name: str) -> str:
        response = client.create_organizational_unit(ParentId=parent_id, Name=name)
        return str(response["OrganizationalUnit"]["Id"])

    ids = {"root": root_id, "A": create_ou(root_id, "A"), "B": create_ou(root_id, "B")}
    ids["A1"] = create_ou(ids["A"], "A1")
    found = Org(management_id, ids)
    number = 0
    for place, (count, closed) in LAYOUT.items():
        created = []
        for _ in range(count):
            number += 1
            status = client.create_account(
                AccountName=f"account-{number}", Email=f"account-{number}@example.com"
            )
            account_id = status["CreateAccountStatus"]["AccountId"]
            if place != "root":
                client.move_account(
                    AccountId=account_id, SourceParentId=root_id, DestinationParentId=ids[place]
                )
            created.append(account_id)
        for account_id in created[:closed]:
            client.close_account(AccountId=account_id)
        found.suspended.update(created[:closed])
        found.active[place] = set(created[closed:])
    yield found
    reset_moto(_moto_server.endpoint)


@pytest.fixture
def calls(parent: AioSession) -> dict[str, int]:
    """Organizations API calls made through ``parent``, by operation (a page is a call)."""
    counted: dict[str, int] = {}

    def count(model: object, **kwargs: object) -> None:
        name = getattr(model, "name", "")
        counted[name] = counted.get(name, 0) + 1

    parent.register("before-call.organizations", count)
    return counted


def ids_of(accounts: list[Account]) -> list[str]:
    return [account.id for account in accounts]


# --- Enumerating an organization ----------------------------------------------------


async def test_whole_organization_is_every_active_account_but_management(
    org: Org, parent: AioSession, calls: dict[str, int]
) -> None:
    accounts = await list_organization_accounts(parent)

    assert ids_of(accounts) == org.active_under("root", "A", "A1", "B")
    assert org.management_id not in ids_of(accounts)
    assert len(accounts) == 300 - 8
    # 301 accounts, 100 a page: the paginator really went through every page.
    assert calls["ListAccounts"] == 4
    first = accounts[0]
    assert first.status == "ACTIVE"
    assert first.name is not None and first.name.startswith("account-")
    assert first.email is not None and first.email.endswith("@example.com")
    assert first.arn is not None and first.arn.endswith(f"/{first.id}")


async def test_suspended_accounts_are_listed_by_organizations_but_skipped(
    org: Org, parent: AioSession
) -> None:
    async with parent.create_client("organizations") as client:
        listed = [
            account
            async for page in client.get_paginator("list_accounts").paginate()
            for account in page["Accounts"]
        ]
    statuses = {account["Id"]: account["Status"] for account in listed}
    assert {statuses[account_id] for account_id in org.suspended} == {"SUSPENDED"}

    everything = ids_of(await list_organization_accounts(parent, ous=[org.ids["root"]]))
    assert not org.suspended & set(ids_of(await list_organization_accounts(parent)))
    assert not org.suspended & set(everything)


async def test_management_account_is_included_on_request(org: Org, parent: AioSession) -> None:
    accounts = await list_organization_accounts(parent, include_management_account=True)

    assert org.management_id in ids_of(accounts)
    assert ids_of(accounts) == sorted(
        [*org.active_under("root", "A", "A1", "B"), org.management_id]
    )


async def test_an_ou_gives_the_accounts_of_its_whole_subtree(
    org: Org, parent: AioSession, calls: dict[str, int]
) -> None:
    accounts = await list_organization_accounts(parent, ous=[org.ids["A"]])

    assert ids_of(accounts) == org.active_under("A", "A1")
    assert all(
        account.name and account.email and account.status == "ACTIVE" for account in accounts
    )
    # 60 accounts in A and 80 in A1, 20 a page: 3 + 4 pages.
    assert calls["ListAccountsForParent"] == 7
    assert calls["ListOrganizationalUnitsForParent"] == 2


async def test_overlapping_ous_are_walked_and_listed_once(
    org: Org, parent: AioSession, calls: dict[str, int]
) -> None:
    accounts = await list_organization_accounts(
        parent, ous=[org.ids["A"], org.ids["A1"], org.ids["A"], org.ids["B"]]
    )

    assert ids_of(accounts) == org.active_under("A", "A1", "B")
    assert calls["ListAccountsForParent"] == 3 + 4 + 3


async def test_the_root_gives_the_same_as_the_whole_organization(
    org: Org, parent: AioSession
) -> None:
    by_root = await list_organization_accounts(parent, ous=[org.ids["root"]])

    assert by_root == await list_organization_accounts(parent)


async def test_ignored_accounts_are_left_out(org: Org, parent: AioSession) -> None:
    ignored = sorted(org.active["A1"])[:5] + sorted(org.active["root"])[:2]

    accounts = await list_organization_accounts(parent, ignore_accounts=ignored)
    under_a = await list_organization_accounts(parent, ous=[org.ids["A"]], ignore_accounts=ignored)

    assert ids_of(accounts) == sorted(set(org.active_under("root", "A", "A1", "B")) - set(ignored))
    assert ids_of(under_a) == sorted(set(org.active_under("A", "A1")) - set(ignored))


async def test_an_ignored_ou_leaves_out_its_whole_subtree(org: Org, parent: AioSession) -> None:
    assert ids_of(
        await list_organization_accounts(parent, ignore_ous=[org.ids["A"]])
    ) == org.active_under("root", "B")
    assert ids_of(
        await list_organization_accounts(parent, ous=[org.ids["A"]], ignore_ous=[org.ids["A1"]])
    ) == org.active_under("A")
    # An OU asked for, but inside an ignored subtree: ignored.
    assert (
        await list_organization_accounts(parent, ous=[org.ids["A1"]], ignore_ous=[org.ids["A"]])
        == []
    )


async def test_a_spec_resolves_later_to_the_same_accounts(org: Org, parent: AioSession) -> None:
    spec = from_organization(ous=[org.ids["B"]], ignore_accounts=[sorted(org.active["B"])[0]])

    assert isinstance(spec, OrganizationAccounts)
    assert ids_of(await spec.resolve(parent)) == sorted(org.active["B"])[1:]
    assert await resolve_targets(parent, spec) == await spec.resolve(parent)


async def test_resolve_targets_mixes_ids_accounts_and_specs(org: Org, parent: AioSession) -> None:
    in_b = sorted(org.active["B"])
    explicit = "999999999999"

    targets = await resolve_targets(
        parent, [explicit, in_b[0], from_organization(ous=[org.ids["B"]]), Account(explicit)]
    )

    assert ids_of(targets) == [explicit, *in_b]
    # The spec's account (with its name) replaces the bare id given first.
    assert targets[1].name is not None
    assert targets[0] == Account(explicit)


async def test_an_unknown_ou_is_organizations_error(org: Org, parent: AioSession) -> None:
    with pytest.raises(ClientError) as caught:
        await list_organization_accounts(parent, ous=["ou-zzzz-zzzzzzzz"])
    assert caught.value.response["Error"]["Code"] == "ParentNotFoundException"

    # A typo in an ignore list fails too, rather than silently ignoring nothing.
    with pytest.raises(ClientError):
        await list_organization_accounts(parent, ignore_ous=["ou-zzzz-zzzzzzzz"])


async def test_outside_an_organization_the_error_is_organizations_and_holds_no_secret(
    org: Org, parent: AioSession
) -> None:
    elsewhere = assume_role(parent, get_role_arn("999999999999", "Auditor"))
    credentials = await elsewhere.get_credentials()
    assert credentials is not None
    secret = (await credentials.get_frozen_credentials()).secret_key

    with pytest.raises(ClientError) as caught:
        await list_organization_accounts(elsewhere)

    assert caught.value.response["Error"]["Code"] == "AWSOrganizationsNotInUseException"
    assert secret not in str(caught.value)
    assert DUMMY_SECRET_KEY not in str(caught.value)


# --- Arguments ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"ous": ["bogus"]}, "ous"),
        ({"ous": ["ou-zz99"]}, "ous"),
        ({"ous": ["OU-ZZ99-YYYYYYYY"]}, "ous"),
        ({"ous": "ou-ab12-cdefgh34"}, "ous"),
        ({"ous": []}, "ous"),
        ({"ous": [None]}, "ous"),
        ({"ignore_ous": ["r-!!"]}, "ignore_ous"),
        ({"ignore_ous": "r-ab12"}, "ignore_ous"),
        ({"ignore_accounts": [1234567890123]}, "ignore_accounts"),
        ({"ignore_accounts": ["12345678901x"]}, "ignore_accounts"),
        ({"ignore_accounts": "123456789012"}, "ignore_accounts"),
        ({"include_management_account": "yes"}, "include_management_account"),
    ],
)
def test_bad_arguments_raise_at_call_time_naming_the_parameter(
    kwargs: dict[str, object], parameter: str
) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        from_organization(**kwargs)  # type: ignore[arg-type]
    assert caught.value.parameter == parameter
    assert isinstance(caught.value, ValueError)
    for value in kwargs.values():
        if isinstance(value, list) and value and isinstance(value[0], str):
            assert value[0] not in str(caught.value)


async def test_list_organization_accounts_checks_before_any_call(
    parent: AioSession, calls: dict[str, int]
) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        await list_organization_accounts(parent, ous=["ou-bad"])
    assert caught.value.parameter == "ous"
    assert calls == {}


def test_well_formed_ids_are_accepted() -> None:
    spec = from_organization(
        ous=["r-ab12", "ou-ab12-cdefgh34", "ou-ab12-cdefgh34"],
        ignore_ous=("ou-0000-11111111",),
        ignore_accounts=iter(["012345678901"]),
    )
    assert spec.ous == ("r-ab12", "ou-ab12-cdefgh34")
    assert spec.ignore_accounts == frozenset({"012345678901"})
    assert spec.include_management_account is False


def test_a_spec_built_directly_is_checked_and_normalized_too() -> None:
    spec = OrganizationAccounts(ous=["ou-ab12-cdefgh34"], ignore_ous=iter(["r-ab12"]))  # type: ignore[arg-type]
    assert spec.ous == ("ou-ab12-cdefgh34",)
    assert spec.ignore_ous == ("r-ab12",)
    assert spec == from_organization(ous=["ou-ab12-cdefgh34"], ignore_ous=["r-ab12"])
    with pytest.raises(InvalidParameterError) as caught:
        OrganizationAccounts(ignore_accounts=["1x"])  # type: ignore[arg-type]
    assert caught.value.parameter == "ignore_accounts"


def test_every_problem_is_reported() -> None:
    with pytest.raises(InvalidParameterError) as caught:
        from_organization(ous=["x", "y"], ignore_accounts=["1x"])
    assert [name for name, _ in caught.value.problems] == [
        "ous[0]",
        "ous[1]",
        "ignore_accounts[0]",
    ]


# --- Explicit accounts --------------------------------------------------------------


def test_normalize_accounts_dedupes_keeping_first_appearance() -> None:
    named = Account("222222222222", name="prod")

    accounts = normalize_accounts(["333333333333", "222222222222", named, "333333333333"])

    assert accounts == [Account("333333333333"), named]
    assert accounts[1].status is None


@pytest.mark.parametrize(
    "accounts",
    [
        ["123456789012", "12345678901x"],
        ["123456789012", 1234567890123],
        ["1234567890123"],
        [" 123456789012"],
        "123456789012",
        Account("123456789012"),
        None,
        [from_organization()],
    ],
)
def test_normalize_accounts_rejects_bad_input_naming_accounts(accounts: object) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        normalize_accounts(accounts)  # type: ignore[arg-type]
    assert caught.value.parameter == "accounts"


def test_accounts_or_ids_keeps_ids_as_ids_and_dedupes_as_normalize_does() -> None:
    # What fan_out holds for a run over thousands of ids: the strs, not an Account each.
    named = Account("222222222222", name="prod")
    given = ["333333333333", "222222222222", named, "333333333333", "444444444444"]

    kept = accounts_or_ids(given)

    assert kept == ["333333333333", named, "444444444444"]
    assert [Account(a) if isinstance(a, str) else a for a in kept] == normalize_accounts(given)


@pytest.mark.parametrize("accounts", [["12345678901x"], "123456789012", [from_organization()]])
def test_accounts_or_ids_rejects_what_normalize_rejects(accounts: object) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        accounts_or_ids(accounts)  # type: ignore[arg-type]
    assert caught.value.parameter == "accounts"


def test_in_shard_is_shard_accounts_for_ids_and_accounts() -> None:
    ids = [f"{100000000000 + i:012d}" for i in range(40)]
    mixed: list[str | Account] = [Account(i) if n % 3 == 0 else i for n, i in enumerate(ids)]
    for index in range(3):
        assert [
            Account(a) if isinstance(a, str) else a for a in in_shard(mixed, index, 3)
        ] == shard_accounts(mixed, index, 3)


async def test_resolve_targets_takes_plain_lists_without_any_call(
    parent: AioSession, calls: dict[str, int]
) -> None:
    assert await resolve_targets(parent, ("111111111111", Account("111111111111"))) == [
        Account("111111111111")
    ]
    with pytest.raises(InvalidParameterError) as caught:
        await resolve_targets(parent, ["1x", from_organization()])
    assert caught.value.parameter == "accounts"
    assert calls == {}


def test_an_account_id_is_zero_padded_as_aws_assume_role_lib_does() -> None:
    # An int cannot keep leading zeros, and ids exported through spreadsheets lose them.
    assert Account(12345).id == Account("12345").id == "000000012345"  # type: ignore[arg-type]
    assert Account(12345) == Account("000000012345")  # type: ignore[arg-type]
    assert normalize_accounts([12345, "000000012345"]) == [Account("000000012345")]  # type: ignore[list-item]
    assert accounts_or_ids([7]) == ["000000000007"]  # type: ignore[list-item]
    assert from_organization(ignore_accounts=[7]).ignore_accounts == {"000000000007"}  # type: ignore[list-item]
    assert shard_of(12345, 7) == shard_of("000000012345", 7)  # type: ignore[arg-type]


def test_an_account_needs_an_account_id() -> None:
    with pytest.raises(InvalidParameterError) as caught:
        Account("12345x")
    assert caught.value.parameter == "id"
    assert "name='prod'" in repr(Account("123456789012", name="prod"))


# --- Sharding -----------------------------------------------------------------------


def synthetic(count: int, start: int = 100000000000) -> list[str]:
    return [f"{start + 7919 * i:012d}" for i in range(count)]


async def test_shards_partition_the_organization(org: Org, parent: AioSession) -> None:
    accounts = await list_organization_accounts(parent)

    for count in range(1, 9):
        shards = [shard_accounts(accounts, index, count) for index in range(count)]
        flat = [account for shard in shards for account in shard]
        assert sorted(ids_of(flat)) == ids_of(accounts), count
        assert len(flat) == len(accounts), count
        if count > 1:
            assert all(shards), count  # 292 accounts: no shard is empty


def test_an_accounts_shard_does_not_depend_on_the_others() -> None:
    before = synthetic(200)
    # Accounts added on both sides, half of the old ones gone.
    after = [*synthetic(50, start=500000000000), *before[::2], *synthetic(30, start=900000000000)]

    def shard_map(ids: list[str], count: int) -> dict[str, int]:
        return {
            account.id: index
            for index in range(count)
            for account in shard_accounts(ids, index, count)
        }

    for count in range(1, 9):
        old, new = shard_map(before, count), shard_map(after, count)
        assert len(old) == len(before) and len(new) == len(after)
        assert all(new[account_id] == old[account_id] for account_id in before[::2]), count
        assert all(old[account_id] == shard_of(account_id, count) for account_id in before)


def test_the_shard_is_sha256_of_the_id_and_keeps_input_order() -> None:
    for account_id in synthetic(50):
        digest = hashlib.sha256(account_id.encode()).digest()
        for count in range(1, 9):
            assert shard_of(account_id, count) == int.from_bytes(digest[:8], "big") % count
    # Pinned: a job array's shards must not move between library versions.
    assert [shard_of(i, 1000) for i in ("123456789012", "000000000000", "999999999999")] == [
        834,
        819,
        132,
    ]
    ids = synthetic(100)
    assert ids_of(shard_accounts(ids, 2, 3)) == [i for i in ids if shard_of(i, 3) == 2]
    assert shard_accounts(ids, 0, 1) == [Account(i) for i in ids]


@pytest.mark.parametrize(
    ("index", "count", "parameter"),
    [(3, 3, "index"), (-1, 3, "index"), (0, 0, "count"), (True, 2, "index"), (0, 2.0, "count")],
)
def test_shard_accounts_checks_index_and_count(
    index: object, count: object, parameter: str
) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        shard_accounts(["123456789012"], index, count)  # type: ignore[arg-type]
    assert caught.value.parameter == parameter


def test_shard_of_checks_its_arguments() -> None:
    with pytest.raises(InvalidParameterError) as caught:
        shard_of("1x", 2)
    assert caught.value.parameter == "account_id"
    with pytest.raises(InvalidParameterError) as caught:
        shard_of("123456789012", 0)
    assert caught.value.parameter == "count"


# --- parse_shard --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "environ", "expected"),
    [
        ("2/8", {}, (2, 8)),
        (" 0 / 1 ", {}, (0, 1)),
        ("8", {"JOB_COMPLETION_INDEX": "3"}, (3, 8)),
        ("/8", {"AWS_BATCH_JOB_ARRAY_INDEX": "5"}, (5, 8)),
        ("8", {"JOB_COMPLETION_INDEX": "1", "AWS_BATCH_JOB_ARRAY_INDEX": "6"}, (1, 8)),
        ("4/8", {"JOB_COMPLETION_INDEX": "1"}, (4, 8)),
        (None, {}, None),
        (None, {"AIO_ASSUME_ROLE_SHARD": ""}, None),
        (None, {"AIO_ASSUME_ROLE_SHARD": "1/4"}, (1, 4)),
        (None, {"AIO_ASSUME_ROLE_SHARD": "4", "JOB_COMPLETION_INDEX": "2"}, (2, 4)),
    ],
)
def test_parse_shard(
    spec: str | None, environ: dict[str, str], expected: tuple[int, int] | None
) -> None:
    assert parse_shard(spec, environ) == expected


@pytest.mark.parametrize(
    ("spec", "environ", "parameter", "words"),
    [
        ("8/8", {}, "spec", "less than"),
        ("9/8", {}, "spec", "less than"),
        ("x/8", {}, "spec", "index"),
        ("-1/4", {}, "spec", "index"),
        ("1/x", {}, "spec", "number of shards"),
        ("0", {}, "spec", "number of shards"),
        ("0/0", {}, "spec", "number of shards"),
        ("1.5", {}, "spec", "number of shards"),
        ("", {}, "spec", "number of shards"),
        ("1/2/3", {}, "spec", "index"),
        ("8", {}, "spec", "JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX"),
        ("/8", {}, "spec", "JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX"),
        ("8", {"JOB_COMPLETION_INDEX": "abc"}, "JOB_COMPLETION_INDEX", "integer"),
        ("8", {"AWS_BATCH_JOB_ARRAY_INDEX": "8"}, "AWS_BATCH_JOB_ARRAY_INDEX", "less than"),
        (None, {"AIO_ASSUME_ROLE_SHARD": "3/2"}, "AIO_ASSUME_ROLE_SHARD", "less than"),
        (None, {"AIO_ASSUME_ROLE_SHARD": "four"}, "AIO_ASSUME_ROLE_SHARD", "number of shards"),
    ],
)
def test_parse_shard_errors_say_what_is_wrong(
    spec: str | None, environ: dict[str, str], parameter: str, words: str
) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        parse_shard(spec, environ)
    assert caught.value.parameter == parameter
    assert words in str(caught.value)


def test_parse_shard_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AIO_ASSUME_ROLE_SHARD", *SHARD_INDEX_ENVIRONMENT_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    assert parse_shard(None) is None
    monkeypatch.setenv("AWS_BATCH_JOB_ARRAY_INDEX", "2")
    assert parse_shard("3") == (2, 3)
    monkeypatch.setenv("JOB_COMPLETION_INDEX", "0")
    monkeypatch.setenv("AIO_ASSUME_ROLE_SHARD", "/3")
    assert parse_shard(None) == (0, 3)


# --- Other event loops ----------------------------------------------------------------


@pytest.mark.parametrize("backend", ["trio", "asyncio"])
def test_enumeration_runs_under_anyio(org: Org, sts_server: StsServer, backend: str) -> None:
    """Only aiobotocore calls, no asyncio primitive: trio works (via aiobotocore's httpx)."""
    anyio = pytest.importorskip("anyio")
    httpxsession = pytest.importorskip("aiobotocore.httpxsession")
    pytest.importorskip("httpx2")
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    session = get_session()
    session.set_default_client_config(AioConfig(http_session_cls=httpxsession.HttpxSession))
    found: list[Account] = []

    async def main() -> None:
        found.extend(await list_organization_accounts(session, ous=[org.ids["A"]]))

    anyio.run(main, backend=backend)
    assert ids_of(found) == org.active_under("A", "A1")
