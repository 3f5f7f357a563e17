"""``aio_assume_role._core.compat``: drift tests for each botocore/aiobotocore/boto3 internal,
the fallbacks used when one is missing, and the rule that no other module touches one.

Drift tests are behavioural (our result compared with botocore's own), not hashes of
upstream source: they hold on every botocore the package supports, oldest included.
"""

from __future__ import annotations

import ast
import contextlib
import datetime
import gc
import inspect
import json
import re
import types
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiobotocore.httpsession
import boto3
import botocore.credentials
import botocore.session
import botocore.validate
import pytest
from aiobotocore.session import AioSession, get_session
from botocore.utils import JSONFileCache
from moto_sts import StsServer
from support import role_arn

import aio_assume_role
from aio_assume_role._core import child_session as _child_session
from aio_assume_role._core import compat as _compat
from aio_assume_role._core.cache_key import assume_role_cache_key
from aio_assume_role._core.fetch_core import FetchCore
from aio_assume_role._core.parameters import normalize_assume_role_args
from aio_assume_role.cache import _serialize_if_needed, cache_identity
from aio_assume_role.errors import InvalidParameterError
from aio_assume_role.session import AssumedRoleSession, assume_role

# --- Cache key and session name: botocore's rules, computed by us -------------------

REQUESTS: list[dict[str, Any]] = [
    {},
    {"RoleSessionName": "s1"},
    {"RoleSessionName": "s1", "ExternalId": "e:1/x"},
    {"DurationSeconds": 1800, "SourceIdentity": "alice"},
    {"Policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*"}]}},
    {"PolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"], "Tags": {"b": "2", "a": "1"}},
    {"TransitiveTagKeys": ["a"], "Tags": [{"Key": "a", "Value": "1"}], "RoleSessionName": "t1"},
    {"SerialNumber": "arn:aws:iam::123456789012:mfa/alice", "TokenCode": "123456"},
]


def botocore_cache_key(role: str, request: dict[str, Any]) -> str:
    args = normalize_assume_role_args(**request)
    args.pop("TokenCode", None)  # never part of the key (ours, or botocore's prompt)
    fetcher = botocore.credentials.AssumeRoleCredentialFetcher(
        client_creator=None, source_credentials=None, role_arn=role, extra_args=args
    )
    return str(fetcher._cache_key)


@pytest.mark.parametrize("request_args", REQUESTS, ids=range(len(REQUESTS)))
def test_cache_key_is_botocores_on_both_paths(request_args: dict[str, Any]) -> None:
    import aio_assume_role.sync

    expected = botocore_cache_key(role_arn(), request_args)
    child = assume_role(get_session(), role_arn(), **request_args)
    assert child._assumed_role_credentials.fetcher.cache_key == expected
    sync_child = aio_assume_role.sync.assume_role(
        boto3.Session(aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x"),
        role_arn(),
        **request_args,
    )
    credentials = sync_child._session.get_credentials()
    assert credentials.fetcher.cache_key == expected


def test_generated_session_name_is_botocores() -> None:
    ours = FetchCore(role_arn(), {}, cache={}, cache_identity=None)
    theirs = botocore.credentials.AssumeRoleCredentialFetcher(None, None, role_arn())
    pattern = re.compile(r"botocore-session-(\d+)")
    ours_match = pattern.fullmatch(ours.role_session_name)
    theirs_match = pattern.fullmatch(theirs._role_session_name)
    assert ours_match and theirs_match
    assert abs(int(ours_match[1]) - int(theirs_match[1])) <= 1
    assert ours._assume_kwargs["RoleSessionName"] == ours.role_session_name


def test_cache_key_is_file_safe_like_botocores() -> None:
    fetcher = botocore.credentials.CachedCredentialFetcher.__new__(
        botocore.credentials.CachedCredentialFetcher
    )
    key = assume_role_cache_key({"RoleArn": "a", "RoleSessionName": "s"}, generated_name=False)
    assert key == fetcher._make_file_safe(key)
    assert re.fullmatch(r"[0-9a-f]{40}", key)


def test_account_id_is_added_like_botocore() -> None:
    response = {
        "Credentials": {
            "AccessKeyId": "AKIAIOSFODNN7EXAMPLE",
            "SecretAccessKey": "x",
            "SessionToken": "t",
            "Expiration": datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc),
        },
        "AssumedRoleUser": {"Arn": "arn:aws:sts::123456789012:assumed-role/R/s", "Id": "A:s"},
    }
    theirs = json.loads(json.dumps(response, default=str))
    botocore.credentials.BaseAssumeRoleCredentialFetcher(
        None, role_arn()
    )._add_account_id_to_response(theirs)
    metadata = FetchCore(role_arn(), {}, cache={}, cache_identity=None)._checked_metadata(response)
    assert response["Credentials"]["AccountId"] == theirs["Credentials"]["AccountId"]
    assert metadata["account_id"] == theirs["Credentials"]["AccountId"]


@pytest.mark.parametrize(
    "value",
    [
        datetime.datetime(2031, 2, 3, 4, 5, 6),
        datetime.datetime(2031, 2, 3, 4, 5, 6, tzinfo=datetime.timezone.utc),
        "plain",
    ],
)
@pytest.mark.parametrize("iso", [False, True])
def test_cache_json_serialization_is_botocores(value: object, iso: bool) -> None:
    theirs = getattr(botocore.credentials, "_serialize_if_needed", None)
    if theirs is None:
        pytest.skip("botocore no longer has _serialize_if_needed; our copy stands alone")
    assert _serialize_if_needed(value, iso=iso) == theirs(value, iso=iso)


# --- Builtin handlers template ------------------------------------------------------

EVENTS = [
    "creating-client-class.sts",
    "before-parameter-build.sts.AssumeRole",
    "choose-signer.sts.AssumeRole",
    "before-sign.sts.AssumeRole",
    "needs-retry.sts.AssumeRole",
    "after-call.s3.GetObject",
    "before-call.s3.PutObject",
]


def handler_names(emitter: Any, event: str) -> list[str]:
    return [
        getattr(handler, "__qualname__", repr(handler))
        for handler in emitter._handlers.prefix_search(event)
    ]


def test_template_has_the_handlers_a_session_registers() -> None:
    template = _compat.builtin_handlers_template()
    assert template is not None
    fresh = get_session().get_component("event_emitter")._emitter
    for event in EVENTS:
        assert handler_names(template, event) == handler_names(fresh, event), event


def test_sync_templates_have_the_handlers_a_session_registers() -> None:
    botocore_template = _compat.builtin_handlers_template("botocore")
    boto3_template = _compat.builtin_handlers_template("boto3")
    assert botocore_template is not None and boto3_template is not None
    fresh = botocore.session.Session().get_component("event_emitter")._emitter
    fresh_boto3 = boto3.Session()._session.get_component("event_emitter")._emitter
    for event in [*EVENTS, "creating-resource-class.s3.Object", "creating-client-class.s3"]:
        assert handler_names(botocore_template, event) == handler_names(fresh, event), event
        assert handler_names(boto3_template, event) == handler_names(fresh_boto3, event), event


@pytest.fixture
def no_template() -> Iterator[None]:
    # compat's template of botocore's handlers, and child_session's with ours added.
    _compat.builtin_handlers_template.cache_clear()
    _child_session._template.cache_clear()
    yield
    _compat.builtin_handlers_template.cache_clear()
    _child_session._template.cache_clear()


async def signs_and_resolves_region(parent: AioSession) -> None:
    parent.set_config_variable("region", "eu-west-2")
    child = assume_role(parent, role_arn())
    async with child.create_client("sts") as sts:
        identity = await sts.get_caller_identity()
    assert ":assumed-role/MyRole/" in identity["Arn"]
    assert child.get_config_variable("region") == "eu-west-2"
    parent.set_config_variable("region", "ap-south-1")
    assert child.get_config_variable("region") == "ap-south-1"  # followed live


@pytest.mark.usefixtures("no_template")
async def test_without_register_builtin_handlers_sessions_register_their_own(
    parent: AioSession, sts_server: StsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_compat, "builtin_handlers_registration", lambda flavor: None)
    assert _child_session.builtin_event_hooks() is None
    assert _child_session.sync_builtin_event_hooks(boto3_defaults=True) is None
    await signs_and_resolves_region(parent)


@pytest.mark.usefixtures("no_template")
async def test_without_the_emitter_tables_sessions_register_their_own(
    parent: AioSession, sts_server: StsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_compat, "EMITTER_TABLES", (*_compat.EMITTER_TABLES, "_gone"))
    assert _child_session.builtin_event_hooks() is None
    assert _child_session.sync_builtin_event_hooks() is None
    await signs_and_resolves_region(parent)


async def test_with_the_template_children_sign_and_resolve_their_region(
    parent: AioSession, sts_server: StsServer
) -> None:
    assert _child_session.builtin_event_hooks() is not None
    await signs_and_resolves_region(parent)


# --- Lazily built config store ------------------------------------------------------


def test_config_store_is_lazy_where_botocore_allows() -> None:
    child = assume_role(get_session(), role_arn())
    assert child.config_store_is_lazy


async def test_without_lazy_registration_the_store_is_built_at_once(
    parent: AioSession, sts_server: StsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_compat, "lazy_registration", lambda session: None)
    assert not assume_role(get_session(), role_arn()).config_store_is_lazy
    await signs_and_resolves_region(parent)


async def test_if_botocore_stops_calling_the_hook_the_store_is_botocores(
    parent: AioSession, sts_server: StsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(_compat.LazyConfigStoreSession, "_register_config_store")
    child = assume_role(get_session(), role_arn())
    assert isinstance(child, AssumedRoleSession)
    assert not child.config_store_is_lazy
    await signs_and_resolves_region(parent)


async def user_agents(session: AioSession) -> list[str]:
    """The User-Agent headers a client of ``session`` sends for one call."""
    sent: list[str] = []

    def capture(request: Any, **_: Any) -> None:
        agent = request.headers["User-Agent"]
        sent.append(agent.decode() if isinstance(agent, bytes) else agent)

    async with session.create_client("sts") as sts:
        sts.meta.events.register("before-send.sts", capture)
        await sts.get_caller_identity()
    return sent


async def test_the_user_agent_is_built_on_first_use_and_the_same(
    parent: AioSession, sts_server: StsServer
) -> None:
    # A child used only for its credentials never reads the platform and environment
    # for a user agent; its clients send the one botocore builds.
    child = assume_role(parent, role_arn())
    deferred = child._components._deferred
    assert "user_agent_creator" in deferred
    agents = await user_agents(child)
    assert "user_agent_creator" not in deferred  # built for the client
    plain = AioSession()
    plain.set_credentials("AKIDEXAMPLE", "not-a-secret")
    assert [agent.split(" md/")[0] for agent in agents] == [
        agent.split(" md/")[0] for agent in await user_agents(plain)
    ]


async def test_without_lazy_registration_the_user_agent_is_built_at_once(
    parent: AioSession, sts_server: StsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_compat, "lazy_registration", lambda session: None)
    child = assume_role(parent, role_arn())
    assert "user_agent_creator" not in child._components._deferred
    assert len(await user_agents(child)) == 1


# --- No reference cycle until a component is built ------------------------------------


@contextlib.contextmanager
def no_cycle_collector() -> Iterator[None]:
    """Only reference counting frees objects here."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def test_a_prefetched_child_is_freed_by_reference_counting(parent: AioSession) -> None:
    # The drift test: botocore's sessions hold themselves through their lazy factories
    # and their session_var_map; a child that built none of them is no cycle.
    child = assume_role(parent, role_arn())
    await child.prefetch_credentials()
    with no_cycle_collector():
        freed = weakref.ref(child)
        del child
        assert freed() is None


async def test_a_child_builds_the_components_a_plain_session_builds(parent: AioSession) -> None:
    plain, child = get_session(), assume_role(parent, role_arn())
    for name in ("token_provider", "config_store"):
        assert type(child.get_component(name)) is type(plain.get_component(name))
    for name in ("endpoint_resolver", "monitor", "default_config_resolver"):
        ours, theirs = child._get_internal_component(name), plain._get_internal_component(name)
        assert type(ours) is type(theirs)
    assert dict(child.session_var_map.items()) == dict(plain.session_var_map.items())
    child.session_var_map["region"] = ("region", "MY_REGION_VAR", None, None)
    assert child.session_var_map["region"][1] == "MY_REGION_VAR"
    await signs_and_resolves_region(parent)


async def test_without_the_deferred_tables_a_child_is_a_cycle_that_works(
    parent: AioSession, sts_server: StsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not _compat.weaken_lazy_factories(types.SimpleNamespace())  # type: ignore[arg-type]
    monkeypatch.setattr(_child_session, "weaken_lazy_factories", lambda session: False)
    child = assume_role(parent, role_arn())
    await child.prefetch_credentials()
    with no_cycle_collector():
        freed = weakref.ref(child)
        del child
        assert freed() is not None  # a cycle: left to the collector
    gc.collect()
    assert freed() is None
    await signs_and_resolves_region(parent)


@pytest.mark.parametrize("path", ["async", "sync"])
def test_every_closure_factory_holding_the_session_is_weakened(path: str) -> None:
    # The drift test of _weak_factory's rule: botocore's closures over the session
    # have ``self`` as their one free variable (else a child is a cycle again).
    import aio_assume_role.sync

    child: Any = (
        assume_role(get_session(), role_arn())
        if path == "async"
        else aio_assume_role.sync.assume_role(boto3.Session(), role_arn())._session
    )
    factories = [
        factory
        for locator in (child._components, child._internal_components)
        for factory in locator._deferred.values()
    ]
    assert sum(isinstance(factory, _compat._WeakClosure) for factory in factories) >= 3
    holding = [
        factory
        for factory in factories
        if getattr(factory, "__self__", None) is child
        or any(cell.cell_contents is child for cell in getattr(factory, "__closure__", None) or ())
    ]
    assert holding == []


def test_factories_that_do_not_hold_the_session_are_left_alone() -> None:
    session = get_session()
    other = get_session()

    def not_holding() -> object:
        return other

    def taking_an_argument(value: object = session) -> object:
        return value

    for factory in (not_holding, taking_an_argument, other.get_credentials, print):
        assert _compat._weak_factory(session, weakref.ref(session), factory) is None


# --- The boto3 path's children: the same templates and lazy store, same fallbacks ----


def sync_child_signs_and_resolves_region() -> boto3.Session:
    import aio_assume_role.sync

    parent = boto3.Session(region_name="eu-west-2")
    child = aio_assume_role.sync.assume_role(parent, role_arn())
    identity = child.client("sts").get_caller_identity()
    assert ":assumed-role/MyRole/" in identity["Arn"]
    assert child.region_name == "eu-west-2"
    assert child.resource("s3").meta.client is not None  # boto3's resource handlers work
    return child


@pytest.mark.usefixtures("sts_server")
def test_sync_children_share_the_templates_and_the_parents_loader() -> None:
    child = sync_child_signs_and_resolves_region()
    assert child.shares_boto3_defaults  # type: ignore[attr-defined]
    inner = _compat.botocore_session(child)
    assert inner.config_store_is_lazy
    parent_loader = child.assume_role_parent_session._session.get_component("data_loader")
    assert inner.get_component("data_loader") is parent_loader
    assert parent_loader.search_paths.count(parent_loader.search_paths[-1]) == 1


@pytest.mark.usefixtures("no_template")
async def test_without_a_template_rejected_credentials_are_still_replaced(
    parent: AioSession, sts_server: StsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The rejection handlers ride in the template; without one, each child registers them.
    monkeypatch.setattr(_compat, "builtin_handlers_registration", lambda flavor: None)
    child = assume_role(parent, role_arn())
    first = await (await child.get_credentials()).get_frozen_credentials()
    sts_server.reject_key(first.access_key)
    async with child.create_client("sts") as sts:
        assert ":assumed-role/MyRole/" in (await sts.get_caller_identity())["Arn"]
    assert sts_server.count() == 2


@pytest.mark.usefixtures("sts_server", "no_template")
def test_without_boto3_default_handlers_registration_boto3_registers_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_compat, "boto3_default_handlers_registration", lambda: None)
    assert _child_session.sync_builtin_event_hooks(boto3_defaults=True) is None
    assert _child_session.sync_builtin_event_hooks() is not None
    child = sync_child_signs_and_resolves_region()
    assert not child.shares_boto3_defaults  # type: ignore[attr-defined]


@pytest.mark.usefixtures("sts_server", "no_template")
def test_without_any_sync_template_sync_children_register_their_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_compat, "builtin_handlers_registration", lambda flavor: None)
    sync_child_signs_and_resolves_region()


@pytest.mark.usefixtures("sts_server")
def test_without_lazy_registration_sync_children_build_the_store_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_compat, "lazy_registration", lambda session: None)
    child = sync_child_signs_and_resolves_region()
    assert not _compat.botocore_session(child).config_store_is_lazy


# --- Small reads ----------------------------------------------------------------------


def test_resolved_credentials_reads_botocores_attribute() -> None:
    session = botocore.session.Session()
    assert _compat.resolved_credentials(session) is None
    credentials = session.get_credentials()
    assert credentials is not None
    assert _compat.resolved_credentials(session) is credentials
    assert _compat.resolved_credentials(object()) is None  # the fallback: not known


def test_json_file_cache_dir_reads_botocores_attribute(tmp_path: Path) -> None:
    cache = JSONFileCache(str(tmp_path))
    assert _compat.json_file_cache_dir(cache) == str(tmp_path)
    assert cache_identity(cache) == ("dir", str(tmp_path.resolve()))


def test_without_the_working_dir_a_file_cache_is_identified_by_the_object(
    tmp_path: Path,
) -> None:
    cache = JSONFileCache(str(tmp_path))
    del cache._working_dir
    assert _compat.json_file_cache_dir(cache) is None
    assert cache_identity(cache) == ("object", id(cache))


def test_validation_errors_reads_botocores_report() -> None:
    report = botocore.validate.ValidationErrors()
    report.report("Name", "invalid length", param="x", min_allowed=2)
    assert _compat.validation_errors(report) == [
        ("invalid length", "Name", {"param": "x", "min_allowed": 2})
    ]


def test_without_the_report_list_an_invalid_request_is_still_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = botocore.validate.ParamValidator.validate

    def without_errors_list(self: Any, params: Any, shape: Any) -> Any:
        report = original(self, params, shape)
        errors = report._errors
        del report._errors
        report.has_errors = lambda: bool(errors)
        return report

    monkeypatch.setattr(botocore.validate.ParamValidator, "validate", without_errors_list)
    with pytest.raises(InvalidParameterError):
        assume_role(get_session(), role_arn(), DurationSeconds="soon")  # type: ignore[arg-type]
    assume_role(get_session(), role_arn(), DurationSeconds=900)


def test_botocore_session_of_a_boto3_session() -> None:
    session = boto3.Session()
    assert isinstance(_compat.botocore_session(session), botocore.session.Session)
    with pytest.raises(TypeError, match="_session"):
        _compat.botocore_session(object())


# --- The rule: only _compat touches another package's private names ------------------

EXTERNAL = ("botocore", "aiobotocore", "boto3")
PACKAGE = Path(aio_assume_role.__file__).parent


COMPAT = PACKAGE / "_core" / "compat.py"


def _modules() -> list[Path]:
    """Every module of the package (subpackages included) but the compat module."""
    return sorted(path for path in PACKAGE.rglob("*.py") if path != COMPAT)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _own_private_names() -> set[str]:
    """Underscore names the package defines: modules, functions, classes, attributes."""
    names = {path.stem for path in PACKAGE.rglob("*.py")} | {"_core"}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Store)
                and isinstance(node.value, ast.Name)
                and node.value.id == "self"
            ):
                names.add(node.attr)
    return {name for name in names if name.startswith("_")}


def _external_private_names() -> set[str]:
    """Every ``_name`` token in the sources of botocore, aiobotocore and boto3."""
    import importlib

    names: set[str] = set()
    for package in EXTERNAL:
        root = Path(importlib.import_module(package).__file__).parent  # type: ignore[arg-type]
        for path in root.rglob("*.py"):
            names.update(re.findall(r"\b(_[A-Za-z]\w*)", path.read_text(errors="ignore")))
    return {name for name in names if not name.startswith("__")}


def _external_classes_in_mro(module: types.ModuleType, class_name: str) -> list[type]:
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        return []
    return [k for k in cls.__mro__ if k.__module__.split(".")[0] in EXTERNAL]


def _violations() -> list[str]:
    import importlib

    own = _own_private_names()
    external = _external_private_names()
    found: list[str] = []
    for path in _modules():
        module = importlib.import_module(_module_name(path))
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in EXTERNAL:
                for alias in node.names:
                    if alias.name.startswith("_"):
                        found.append(
                            f"{path.relative_to(PACKAGE)}:{node.lineno} imports {alias.name}"
                        )
        for cls_node in [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]:
            bases = _external_classes_in_mro(module, cls_node.name)
            sources = " ".join(inspect.getsource(base) for base in bases)
            for node in ast.walk(cls_node):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id in ("self", "cls")
                    and node.attr.startswith("_")
                    and not node.attr.startswith("__")
                    and re.search(rf"\b{re.escape(node.attr)}\b", sources)
                ):
                    found.append(
                        f"{path.relative_to(PACKAGE)}:{node.lineno} self.{node.attr} (inherited)"
                    )
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
                and (
                    node.attr not in own
                    or (node.attr in external and node.attr not in OWN_ALLOWED)
                )
            ):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} .{node.attr}")
    return found


# Our own private names that botocore happens to use too, reached on our own objects.
OWN_ALLOWED = {"_state", "_get", "_set"}


def test_only_compat_touches_private_names_of_botocore_aiobotocore_boto3() -> None:
    checked = _modules()
    assert PACKAGE / "_core" / "fetch.py" in checked  # subpackages are checked too
    assert PACKAGE / "sync" / "__init__.py" in checked
    assert _violations() == []


def test_the_cache_key_leaves_the_request_as_it_was() -> None:
    request = {
        "RoleArn": "a",
        "RoleSessionName": "s",
        "Policy": '{"b": 1, "a": 2}',
        "Tags": [{"Key": "k", "Value": "v"}],
    }
    before = json.dumps(request, sort_keys=True)
    assume_role_cache_key(request, generated_name=True)
    assert json.dumps(request, sort_keys=True) == before


# --- One SSL context per run: ssl_sharing_session_class, client_http_session -----------

# What aiobotocore's SSL context build may read on the session: the key's inputs and
# the build's own helper methods. Another attribute would be an input the key misses.
SSL_BUILD_READS = {
    "_verify",
    "_cert_file",
    "_key_file",
    "_proxy_config",
    "_build_verify_context",
    "_setup_proxy_ssl_context",
    "_get_ssl_context",
}


def test_aiobotocore_ssl_build_reads_only_what_the_shared_contexts_are_keyed_on() -> None:
    from aiobotocore.httpsession import AIOHTTPSession

    if not hasattr(AIOHTTPSession, "_build_ssl_contexts"):
        assert _compat.ssl_sharing_session_class() is None  # the fallback: not shared
        return
    reads: set[str] = set()
    for name in SSL_BUILD_READS | {"_build_ssl_contexts"}:
        method = getattr(AIOHTTPSession, name, None)
        if callable(method):
            code = re.sub(r"#.*", "", inspect.getsource(method))  # not in comments
            reads |= set(re.findall(r"self\.(_\w+)", code))
    assert reads <= SSL_BUILD_READS
    # ...and the connector is built from what _build_ssl_contexts returns.
    assert "self._build_ssl_contexts" in inspect.getsource(AIOHTTPSession._create_connector)


_NEEDS_SSL_HOOK = pytest.mark.skipif(
    not hasattr(aiobotocore.httpsession.AIOHTTPSession, "_build_ssl_contexts"),
    reason="this aiobotocore (3.0) builds SSL contexts in _create_connector: nothing shared",
)


@_NEEDS_SSL_HOOK
async def test_a_client_http_session_is_reached_and_shares_its_class_context(
    sts_server: StsServer,
) -> None:
    from aiobotocore.config import AioConfig
    from aiobotocore.httpsession import AIOHTTPSession

    sharing = _compat.ssl_sharing_session_class()
    assert sharing is not None and issubclass(sharing, AIOHTTPSession)
    session = get_session()
    contexts = []
    for _ in range(2):
        config = AioConfig(http_session_cls=sharing)
        async with session.create_client("sts", "us-east-1", config=config) as sts:
            await sts.get_caller_identity()
            http_session = _compat.client_http_session(sts)
            assert type(http_session) is sharing
            contexts.append(http_session.shared_ssl_context)  # type: ignore[attr-defined]
    assert contexts[0] is contexts[1] and len(sharing.shared_ssl_contexts) == 1
    assert _compat.ssl_sharing_session_class().shared_ssl_contexts == {}  # type: ignore[union-attr]
    assert _compat.client_http_session(object()) is None


@_NEEDS_SSL_HOOK
async def test_aiobotocore_public_ssl_context_knob_still_fails(sts_server: StsServer) -> None:
    """Why the compat hook: ``AioConfig(connector_args={"ssl_context": ...})`` validates but
    aiohttp refuses it next to aiobotocore's own ``ssl=``. If this fails, aiobotocore now
    takes a prebuilt context publicly: switch ssl_sharing_session_class to it."""
    import ssl

    from aiobotocore.config import AioConfig

    config = AioConfig(connector_args={"ssl_context": ssl.create_default_context()})
    raised = None
    with pytest.warns(DeprecationWarning, match="ssl_context"):
        async with get_session().create_client("sts", "us-east-1", config=config) as sts:
            try:
                await sts.get_caller_identity()
            except Exception as error:
                raised = error
    assert raised is not None and "mutually exclusive" in str(raised)


# --- Response parsing: a client's own timestamp parser --------------------------


def _recording_parser(seen: list[object]) -> Any:
    from botocore.utils import parse_timestamp

    def parse(value: object) -> Any:
        seen.append(value)
        return parse_timestamp(value)

    return parse


async def test_a_clients_timestamp_parser_is_its_own(parent: AioSession) -> None:
    """Drift test for ``use_timestamp_parser`` (``client._endpoint._response_parser_factory``
    and its ``_defaults``): the client's responses go through the parser given, the
    parent's other clients do not, and the factory's other defaults are kept."""
    factory = parent.get_component("response_parser_factory")
    blob_parser = bytes
    factory.set_parser_defaults(blob_parser=blob_parser)
    seen: list[object] = []
    async with parent.create_client("sts") as ours, parent.create_client("sts") as theirs:
        assert _compat.use_timestamp_parser(ours, _recording_parser(seen))
        await ours.assume_role(RoleArn=role_arn(), RoleSessionName="s1")
        assert len(seen) == 1 and isinstance(seen[0], str)  # STS's Expiration, as text
        await theirs.assume_role(RoleArn=role_arn(), RoleSessionName="s1")
        assert len(seen) == 1
        own = ours._endpoint._response_parser_factory
        assert own is not factory and type(own) is type(factory)
        assert own.create_parser("query")._blob_parser is blob_parser
    assert "timestamp_parser" not in factory._defaults  # the session's: unchanged


def test_a_sync_clients_timestamp_parser_is_its_own(sts_server: StsServer) -> None:
    seen: list[object] = []
    client = boto3.Session().client("sts")
    assert _compat.use_timestamp_parser(client, _recording_parser(seen))
    client.assume_role(RoleArn=role_arn(), RoleSessionName="s1")
    assert len(seen) == 1


async def test_a_custom_parser_factory_is_left_alone(parent: AioSession) -> None:
    from aiobotocore.parsers import AioResponseParserFactory

    class Custom(AioResponseParserFactory):
        pass

    parent.register_component("response_parser_factory", Custom())
    seen: list[object] = []
    async with parent.create_client("sts") as client:
        assert not _compat.use_timestamp_parser(client, _recording_parser(seen))
        response = await client.assume_role(RoleArn=role_arn(), RoleSessionName="s1")
    assert seen == [] and response["Credentials"]["Expiration"].tzinfo is not None


async def test_without_the_endpoints_factory_the_client_parses_as_botocore(
    parent: AioSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fallback: no ``_response_parser_factory`` to replace, nothing done; the
    package's fetch still reads Expiration (botocore's way)."""
    async with parent.create_client("sts") as client:
        del client._endpoint._response_parser_factory
        assert not _compat.use_timestamp_parser(client, _recording_parser([]))
    # A fetch whose client cannot take the parser still works.
    monkeypatch.setattr(_compat, "use_timestamp_parser", lambda client, parser: False)
    expiry = await assume_role(parent, role_arn()).prefetch_credentials()
    assert expiry > datetime.datetime.now(datetime.timezone.utc)
