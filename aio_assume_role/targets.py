"""Which accounts to run in: explicit ids, an AWS Organization (or part of it), a shard.

A fan-out's targets are given as one of::

    ["111111111111", "222222222222"]        # account ids (12-digit strs) ...
    [Account("111111111111", name="prod")]   # ... and/or Account objects
    from_organization(ous=["ou-ab12-cdefgh34"], ignore_accounts=["333333333333"])

``resolve_targets(parent, targets)`` turns any of them into a de-duplicated list of
``Account``; an organization is enumerated through ``parent`` (its credentials,
config and retries), calling the Organizations API. ``shard_accounts`` then keeps
this array job's share, and ``parse_shard`` reads which share that is
(``"i/n"``, or ``"n"`` with the index from Kubernetes' ``JOB_COMPLETION_INDEX``
or AWS Batch's ``AWS_BATCH_JOB_ARRAY_INDEX``).

An account is in shard ``sha256(id)[:8] % n``: its shard depends only on its id
and ``n``, so adding or closing other accounts never moves it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, TypeAlias

from aiobotocore.session import AioSession

from .arns import normalized_account_id
from .errors import InvalidParameterError

# Plain sorted() order, as tests/test_exported_members.py checks (not ruff's isort order).
__all__ = [  # noqa: RUF022
    "ACCOUNT_STATES_KEPT",
    "Account",
    "OrganizationAccounts",
    "SHARD_ENVIRONMENT_VARIABLE",
    "SHARD_INDEX_ENVIRONMENT_VARIABLES",
    "Targets",
    "from_organization",
    "list_organization_accounts",
    "normalize_accounts",
    "parse_shard",
    "resolve_targets",
    "shard_accounts",
    "shard_of",
]

#: The account states an organization's enumeration keeps; SUSPENDED,
#: PENDING_CLOSURE, CLOSED and PENDING_ACTIVATION accounts are skipped.
ACCOUNT_STATES_KEPT = frozenset({"ACTIVE"})

#: Read by ``parse_shard(None)``: a shard spec (``"i/n"``, ``"n"`` or ``"/n"``).
SHARD_ENVIRONMENT_VARIABLE = "AIO_ASSUME_ROLE_SHARD"

#: Where ``parse_shard`` looks, in order, for the index of a ``"n"`` spec:
#: Kubernetes Indexed Jobs, then AWS Batch array jobs.
SHARD_INDEX_ENVIRONMENT_VARIABLES = ("JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX")

# Organizations' own patterns for the ids (API reference, ParentId / OrganizationalUnitId).
_OU_ID = re.compile(r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}", re.ASCII)
_ROOT_ID = re.compile(r"r-[0-9a-z]{4,32}", re.ASCII)
_DIGITS = re.compile(r"[0-9]+", re.ASCII)


@dataclasses.dataclass(frozen=True, slots=True)
class Account:
    """One target account: its ``id`` (12 digits, a str) and what is known about it.

    ``name``, ``email``, ``status`` and ``arn`` come from Organizations and are None
    for an account given by id only. ``status`` is the account's ``State`` (or the
    older ``Status`` field when ``State`` is absent). Raises ``InvalidParameterError``
    naming ``id`` unless ``id`` is an account id: a str of up to 12 digits or an
    int, zero-padded to 12 digits as aws-assume-role-lib does (``Account(123).id``
    is ``"000000000123"``).
    """

    id: str
    name: str | None = None
    email: str | None = None
    status: str | None = None
    arn: str | None = None

    def __post_init__(self) -> None:
        account_id, problem = normalized_account_id(self.id)
        if problem is not None:
            raise InvalidParameterError([("id", problem)])
        if account_id != self.id:  # zero-padded (frozen: set as dataclasses does)
            object.__setattr__(self, "id", account_id)


@dataclasses.dataclass(frozen=True, slots=True)
class OrganizationAccounts:
    """The ACTIVE accounts of an AWS Organization, or of some of its OUs, to resolve later.

    Usually built by ``from_organization``, which documents the fields; built
    directly, it checks and normalizes them the same way (any iterables become a
    de-duplicated tuple or frozenset), raising ``InvalidParameterError`` naming the
    field. ``await spec.resolve(parent)`` enumerates the accounts, see
    ``list_organization_accounts``.
    """

    ous: tuple[str, ...] | None = None
    ignore_accounts: frozenset[str] = frozenset()
    ignore_ous: tuple[str, ...] = ()
    include_management_account: bool = False

    def __post_init__(self) -> None:
        problems: list[tuple[str, str]] = []
        ous = None if self.ous is None else _check_ou_ids("ous", self.ous, problems)
        if ous is not None and not ous and not problems:
            problems.append(("ous", "is empty: pass None for the whole organization"))
        ignore_ous = _check_ou_ids("ignore_ous", self.ignore_ous, problems)
        ignore_accounts: list[str] = []
        if _is_single_value(self.ignore_accounts):
            problems.append(
                ("ignore_accounts", "must be a list of account ids, not a single value")
            )
        else:
            for position, given in enumerate(self.ignore_accounts):
                account_id, problem = normalized_account_id(given)
                if problem is not None:
                    problems.append((f"ignore_accounts[{position}]", problem))
                else:
                    assert account_id is not None
                    ignore_accounts.append(account_id)
        if not isinstance(self.include_management_account, bool):
            problems.append(("include_management_account", "must be True or False"))
        if problems:
            raise InvalidParameterError(problems)
        # Frozen: the normalized values are set the way dataclasses itself does.
        object.__setattr__(self, "ous", None if ous is None else tuple(dict.fromkeys(ous)))
        object.__setattr__(self, "ignore_accounts", frozenset(ignore_accounts))
        object.__setattr__(self, "ignore_ous", tuple(dict.fromkeys(ignore_ous)))

    async def resolve(self, parent: AioSession) -> list[Account]:
        """Enumerate the accounts through ``parent``, sorted by id.

        Raises botocore's ``ClientError`` when an Organizations call fails (such as
        ``AWSOrganizationsNotInUseException``, ``AccessDeniedException``, or
        ``ParentNotFoundException`` for an OU id that does not exist), and
        ``NoCredentialsError`` when ``parent`` has no credentials.
        """
        async with parent.create_client("organizations") as client:
            return await _enumerate(client, self)


#: What ``resolve_targets`` accepts: an ``OrganizationAccounts`` spec, or an
#: iterable of account ids, ``Account`` objects and specs.
Targets: TypeAlias = OrganizationAccounts | Iterable[str | Account | OrganizationAccounts]


def from_organization(
    *,
    ous: Iterable[str] | None = None,
    ignore_accounts: Iterable[str] = (),
    ignore_ous: Iterable[str] = (),
    include_management_account: bool = False,
) -> OrganizationAccounts:
    """Describe an organization's accounts as targets; nothing is called until resolved.

    - ``ous=None``: every account of the organization (ListAccounts); otherwise the
      accounts anywhere under these OUs (``ou-...``) or roots (``r-...``), recursively.
    - ``ignore_accounts``: account ids to leave out.
    - ``ignore_ous``: OUs whose whole subtree is left out (even when it lies under
      one of ``ous``).
    - The management account is left out unless ``include_management_account``.

    Only ACTIVE accounts are kept (see ``ACCOUNT_STATES_KEPT``); the result is
    de-duplicated and sorted by account id. Raises ``InvalidParameterError`` naming
    the parameter when an id is malformed (not up to 12 digits, see ``Account``), when
    one of these is a single str rather than a list, or when ``ous`` is empty (pass
    None for the whole organization).
    """
    return OrganizationAccounts(
        ous=ous,  # type: ignore[arg-type]  # normalized (and checked) by __post_init__
        ignore_accounts=ignore_accounts,  # type: ignore[arg-type]
        ignore_ous=ignore_ous,  # type: ignore[arg-type]
        include_management_account=include_management_account,
    )


async def list_organization_accounts(
    parent: AioSession,
    *,
    ous: Iterable[str] | None = None,
    ignore_accounts: Iterable[str] = (),
    ignore_ous: Iterable[str] = (),
    include_management_account: bool = False,
) -> list[Account]:
    """The organization's ACTIVE accounts selected as ``from_organization`` describes.

    Calls Organizations through ``parent`` (DescribeOrganization for the management
    account id, then ListAccounts, or ListOrganizationalUnitsForParent and
    ListAccountsForParent under each OU; every listing paginated), one call at a
    time. Returns the accounts sorted by id, with name, email, status and arn.
    Raises ``InvalidParameterError`` for malformed arguments (before any call),
    botocore's ``ClientError`` when a call fails (e.g.
    ``AWSOrganizationsNotInUseException``, ``AccessDeniedException`` when ``parent``
    is not the management or a delegated administrator account,
    ``ParentNotFoundException`` for an unknown OU).
    """
    spec = from_organization(
        ous=ous,
        ignore_accounts=ignore_accounts,
        ignore_ous=ignore_ous,
        include_management_account=include_management_account,
    )
    return await spec.resolve(parent)


def normalize_accounts(
    accounts: Iterable[str | Account],
) -> list[Account]:
    """Account ids and/or ``Account`` objects as a de-duplicated list of ``Account``.

    The order is that of each account's first appearance; for an account given
    both ways, the first ``Account`` object is kept (it carries more). Raises
    ``InvalidParameterError`` naming ``accounts`` when it is a single value rather
    than an iterable, when an id is not an account id (see ``Account``), or when it holds
    an ``OrganizationAccounts`` spec (resolve those with ``resolve_targets``).
    """
    return _normalized(accounts, keep_ids=False)


async def resolve_targets(parent: AioSession, accounts: Targets) -> list[Account]:
    """Any form of targets as a de-duplicated list of ``Account``.

    ``accounts`` is an ``OrganizationAccounts`` spec (from ``from_organization``),
    or an iterable of account ids, ``Account`` objects and such specs. Specs are
    enumerated through ``parent`` (see ``list_organization_accounts``), one after
    another; an organization spec alone gives its accounts sorted by id, otherwise
    the order is that of first appearance (a spec's accounts sorted by id, where it
    stands). Raises ``InvalidParameterError`` naming ``accounts`` for malformed
    input (before any call), and what ``OrganizationAccounts.resolve`` raises.
    """
    if isinstance(accounts, OrganizationAccounts):
        return await accounts.resolve(parent)
    problems: list[tuple[str, str]] = []
    items, has_specs = _normalize(accounts, problems, allow_specs=True)
    if problems:
        raise InvalidParameterError(problems)
    if not has_specs:
        return items
    # _normalize kept each spec's position: resolve in place, then de-duplicate.
    expanded: list[Account] = []
    for item in items:
        if isinstance(item, _SpecPlaceholder):
            expanded.extend(await item.spec.resolve(parent))
        else:
            expanded.append(item)
    return _dedupe(expanded)


def shard_of(account_id: str, count: int) -> int:
    """The shard (``0 <= shard < count``) that ``account_id`` belongs to among ``count``.

    The first 8 bytes of the id's SHA-256, big-endian, modulo ``count``: stable
    across runs, machines and Python versions, and independent of other accounts.
    Raises ``InvalidParameterError`` naming ``account_id`` or ``count``.
    """
    problems: list[tuple[str, str]] = []
    normalized, problem = normalized_account_id(account_id)
    if problem is not None:
        problems.append(("account_id", problem))
    _check_count(count, problems)
    if problems:
        raise InvalidParameterError(problems)
    assert normalized is not None
    return _shard(normalized, count)


def shard_accounts(accounts: Iterable[str | Account], index: int, count: int) -> list[Account]:
    """The accounts of shard ``index`` out of ``count`` (see ``shard_of``), in input order.

    Over ``index = 0 .. count-1`` the shards partition the (de-duplicated) accounts:
    each account is in exactly one, whatever else is in the list. ``accounts`` is
    normalized as by ``normalize_accounts``. Raises ``InvalidParameterError`` naming
    ``accounts``, ``index`` (unless ``0 <= index < count``) or ``count`` (unless an
    int of at least 1).
    """
    problems: list[tuple[str, str]] = []
    _check_count(count, problems)
    if isinstance(index, bool) or not isinstance(index, int):
        problems.append(("index", f"must be an int, got {type(index).__name__}"))
    elif not problems and not 0 <= index < count:
        problems.append(
            ("index", f"must be at least 0 and less than count ({count}), got {index}")
        )
    normalized = _normalize(accounts, problems, allow_specs=False)[0]
    if problems:
        raise InvalidParameterError(problems)
    return in_shard(normalized, index, count)


def parse_shard(
    spec: str | None, environ: Mapping[str, str] = os.environ
) -> tuple[int, int] | None:
    """Parse a shard spec into ``(index, count)``, or None for no sharding.

    ``"i/n"``: shard ``i`` of ``n`` (``0 <= i < n``). ``"n"`` or ``"/n"``: ``n``
    shards, the index read from the first of ``SHARD_INDEX_ENVIRONMENT_VARIABLES``
    that is set (``JOB_COMPLETION_INDEX``, ``AWS_BATCH_JOB_ARRAY_INDEX``). With
    ``spec=None``, the spec is read from ``AIO_ASSUME_ROLE_SHARD`` if that is set and
    not empty, else there is no sharding (None). Raises ``InvalidParameterError``
    naming ``spec`` (or the environment variable it came from) for anything else:
    a non-integer, ``n < 1``, ``i >= n``, or no index variable set.
    """
    name = "spec"
    if spec is None:
        spec = environ.get(SHARD_ENVIRONMENT_VARIABLE, "")
        if not spec.strip():
            return None
        name = SHARD_ENVIRONMENT_VARIABLE
    if not isinstance(spec, str):
        raise InvalidParameterError(
            [(name, f"must be a str such as '2/8' or '8', or None, got {type(spec).__name__}")]
        )
    index_text, slash, count_text = spec.strip().rpartition("/")
    if not slash:
        index_text, count_text = "", spec.strip()
    count = _parse_int(count_text)
    if count is None or count < 1:
        raise InvalidParameterError(
            [(name, "must be 'i/n' or 'n' where n, the number of shards, is an integer >= 1")]
        )
    index_source = name
    if slash and index_text.strip():
        index = _parse_int(index_text)
        if index is None:
            raise InvalidParameterError(
                [(name, "must be 'i/n' where i, the shard index, is an integer >= 0")]
            )
    else:
        index_source = next((v for v in SHARD_INDEX_ENVIRONMENT_VARIABLES if v in environ), "")
        if not index_source:
            raise InvalidParameterError(
                [
                    (
                        name,
                        "gives only the number of shards, and none of "
                        f"{', '.join(SHARD_INDEX_ENVIRONMENT_VARIABLES)} is set to give "
                        "this job's index: set one, or pass 'i/n'",
                    )
                ]
            )
        index = _parse_int(environ[index_source])
        if index is None:
            raise InvalidParameterError(
                [(index_source, "must be an integer >= 0 (this job's shard index)")]
            )
    if index >= count:
        raise InvalidParameterError(
            [(index_source, f"shard index {index} must be less than the number of shards {count}")]
        )
    return index, count


async def _enumerate(client: Any, spec: OrganizationAccounts) -> list[Account]:
    management_id = None
    if not spec.include_management_account:
        response = await client.describe_organization()
        management_id = response["Organization"]["MasterAccountId"]
    ignored_ous: set[str] = set()
    ignored_accounts = set(spec.ignore_accounts)
    for ou_id in spec.ignore_ous:
        async for account in _walk(client, ou_id, ignored_ous, skip=frozenset()):
            ignored_accounts.add(account["Id"])
    found: dict[str, Account] = {}
    if spec.ous is None:
        async for account in _pages(client, "list_accounts", "Accounts"):
            _keep(account, found)
    else:
        seen_ous: set[str] = set()
        for ou_id in spec.ous:
            if ou_id in ignored_ous or ou_id in seen_ous:
                continue
            async for account in _walk(client, ou_id, seen_ous, skip=frozenset(ignored_ous)):
                _keep(account, found)
    for account_id in (*ignored_accounts, management_id):
        found.pop(account_id or "", None)
    return sorted(found.values(), key=lambda account: account.id)


async def _walk(
    client: Any, root: str, seen: set[str], *, skip: frozenset[str]
) -> AsyncIterator[Mapping[str, Any]]:
    """Every account (as Organizations describes it) under ``root``, depth first.

    Adds each OU visited to ``seen`` and does not enter ``seen`` or ``skip`` OUs
    again (an OU listed twice, or under another listed one, is walked once).
    """
    stack = [root]
    seen.add(root)
    while stack:
        parent_id = stack.pop()
        async for account in _pages(
            client, "list_accounts_for_parent", "Accounts", ParentId=parent_id
        ):
            yield account
        async for child in _pages(
            client,
            "list_organizational_units_for_parent",
            "OrganizationalUnits",
            ParentId=parent_id,
        ):
            child_id = child["Id"]
            if child_id not in seen and child_id not in skip:
                seen.add(child_id)
                stack.append(child_id)


async def _pages(
    client: Any, operation: str, key: str, **kwargs: Any
) -> AsyncIterator[Mapping[str, Any]]:
    async for page in client.get_paginator(operation).paginate(**kwargs):
        for item in page.get(key, ()):
            yield item


def _keep(description: Mapping[str, Any], found: dict[str, Account]) -> None:
    status = description.get("State") or description.get("Status")
    if status not in ACCOUNT_STATES_KEPT:
        return
    get = description.get
    account = Account(description["Id"], get("Name"), get("Email"), status, get("Arn"))
    found.setdefault(account.id, account)


@dataclasses.dataclass(frozen=True)
class _SpecPlaceholder:
    spec: OrganizationAccounts


def _is_single_value(value: object) -> bool:
    return isinstance(value, (str, bytes, Account)) or not isinstance(value, Iterable)


def _check_ou_ids(name: str, ou_ids: object, problems: list[tuple[str, str]]) -> list[str]:
    if _is_single_value(ou_ids):
        problems.append((name, "must be a list of OU ids, not a single value"))
        return []
    assert isinstance(ou_ids, Iterable)
    checked = []
    for position, ou_id in enumerate(ou_ids):
        if not isinstance(ou_id, str):
            problems.append((f"{name}[{position}]", f"must be a str, got {type(ou_id).__name__}"))
        elif not (_OU_ID.fullmatch(ou_id) or _ROOT_ID.fullmatch(ou_id)):
            problems.append(
                (
                    f"{name}[{position}]",
                    "is not an OU id ('ou-' then 4-32 and 8-32 lowercase letters or digits, "
                    "e.g. 'ou-ab12-cdefgh34') nor a root id (e.g. 'r-ab12')",
                )
            )
        else:
            checked.append(ou_id)
    return checked


def _normalize(
    accounts: object,
    problems: list[tuple[str, str]],
    *,
    allow_specs: bool,
    keep_ids: bool = False,
) -> tuple[list[Any], bool]:
    """Accounts (and, if allowed, spec placeholders) in order of first appearance;
    with ``keep_ids``, an id given as such stays its (checked) str."""
    if _is_single_value(accounts):
        problems.append(
            (
                "accounts",
                "must be an iterable of account ids or Account objects, not a single value",
            )
        )
        return [], False
    assert isinstance(accounts, Iterable)
    items: list[Any] = []
    has_specs = False
    for position, item in enumerate(accounts):
        if isinstance(item, Account):
            items.append(item)
        elif isinstance(item, OrganizationAccounts):
            if allow_specs:
                items.append(_SpecPlaceholder(item))
                has_specs = True
            else:
                problems.append(
                    (
                        f"accounts[{position}]",
                        "is an organization spec: resolve it with "
                        "'await resolve_targets(parent, accounts)'",
                    )
                )
        else:
            account_id, problem = normalized_account_id(item)
            if problem is not None:
                problems.append((f"accounts[{position}]", problem))
            else:
                assert account_id is not None
                items.append(account_id if keep_ids else Account(account_id))
    return (items if has_specs else _dedupe(items)), has_specs


def _dedupe(accounts: Iterable[Any]) -> list[Any]:
    # Accounts, or ids (str) where the caller keeps them.
    by_id: dict[str, Any] = {}
    for account in accounts:
        account_id = account if isinstance(account, str) else account.id
        kept = by_id.get(account_id)
        if kept is None or (_is_bare(kept) and not _is_bare(account)):
            by_id[account_id] = account
    return list(by_id.values())


def _is_bare(account: Account | str) -> bool:
    return isinstance(account, str) or account == Account(account.id)


def accounts_or_ids(accounts: Iterable[str | Account]) -> list[str | Account]:
    """As ``normalize_accounts``, but an id given as such stays a str.

    For a fan-out over thousands of ids: each becomes an ``Account`` when its result
    is made, rather than all of them being held for the whole run. Raises as
    ``normalize_accounts``.
    """
    return _normalized(accounts, keep_ids=True)


def _normalized(accounts: object, *, keep_ids: bool) -> list[Any]:
    problems: list[tuple[str, str]] = []
    result = _normalize(accounts, problems, allow_specs=False, keep_ids=keep_ids)[0]
    if problems:
        raise InvalidParameterError(problems)
    return result


def in_shard(accounts: list[Any], index: int, count: int) -> list[Any]:
    """The accounts (``Account`` or checked id) of shard ``index`` of ``count``, in order:
    ``shard_accounts`` for normalized accounts. Never raises for checked arguments."""
    return [
        account
        for account in accounts
        if _shard(account if isinstance(account, str) else account.id, count) == index
    ]


def _check_count(count: object, problems: list[tuple[str, str]]) -> None:
    if isinstance(count, bool) or not isinstance(count, int):
        problems.append(("count", f"must be an int, got {type(count).__name__}"))
    elif count < 1:
        problems.append(("count", f"must be at least 1, got {count}"))


def _shard(account_id: str, count: int) -> int:
    digest = hashlib.sha256(account_id.encode("ascii")).digest()
    return int.from_bytes(digest[:8], "big") % count


def _parse_int(text: str) -> int | None:
    text = text.strip()
    return int(text) if _DIGITS.fullmatch(text) else None
