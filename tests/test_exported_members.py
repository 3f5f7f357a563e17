"""The public API is what ``__all__`` says, all of it documented (in the style of httpx's
tests/test_exported_members.py), and the package shows it without private modules."""

from __future__ import annotations

import importlib
import inspect
import pydoc
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

import aio_assume_role

PUBLIC_MODULES = [
    "aio_assume_role",
    "aio_assume_role.arns",
    "aio_assume_role.cache",
    "aio_assume_role.errors",
    "aio_assume_role.fanout",
    "aio_assume_role.otel",
    "aio_assume_role.programs",
    "aio_assume_role.programs.accounts",
    "aio_assume_role.programs.cli",
    "aio_assume_role.programs.demo",
    "aio_assume_role.programs.sync_cli",
    "aio_assume_role.session",
    "aio_assume_role.shared_clients",
    "aio_assume_role.sts_clients",
    "aio_assume_role.sync",
    "aio_assume_role.targets",
    "aio_assume_role.tenants",
    "aio_assume_role.testing",
]


def test_the_public_modules_are_the_packages_modules_without_an_underscore() -> None:
    package = Path(aio_assume_role.__file__).parent
    on_disk = {
        "aio_assume_role." + (path.stem if path.suffix else path.name)
        for path in package.iterdir()
        if not path.name.startswith("_")
        and (path.suffix == ".py" or (path / "__init__.py").exists())
    }
    top_level = {name for name in PUBLIC_MODULES if name.count(".") == 1}
    assert on_disk == top_level
    # The programs' public modules are their commands (the kit is private).
    programs = {
        "aio_assume_role.programs." + path.stem
        for path in (package / "programs").glob("*.py")
        if not path.stem.startswith("_")
    }
    assert programs == {
        name for name in PUBLIC_MODULES if name.startswith("aio_assume_role.programs.")
    }


_SOURCES = "\n".join(
    path.read_text() for path in Path(aio_assume_role.__file__).parent.rglob("*.py")
)


def _documented(name: str, value: object) -> bool:
    if inspect.isclass(value) or inspect.isroutine(value) or inspect.ismodule(value):
        return bool(value.__doc__ and value.__doc__.strip())
    # Constants and type aliases: a "#:" doc comment on their definition.
    return re.search(rf"^#:.*\n(?:#:.*\n)*{re.escape(name)}\b", _SOURCES, re.M) is not None


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_exported_name_is_importable_public_and_documented(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert module.__doc__
    exported = module.__all__
    assert exported == sorted(exported) or module_name == "aio_assume_role"
    for name in exported:
        assert not name.startswith("_"), name
        value = getattr(module, name)
        assert _documented(name, value), f"{module_name}.{name} has no documentation"


def test_the_package_lists_every_export_in_dir() -> None:
    assert set(aio_assume_role.__all__) <= set(dir(aio_assume_role))
    with pytest.raises(AttributeError):
        aio_assume_role.not_a_name  # noqa: B018


def test_the_adapters_are_internal_but_still_importable() -> None:
    from aio_assume_role import cache

    for name in ("MappingCache", "ThreadedMappingCache", "as_async_cache", "cache_identity"):
        assert name not in cache.__all__
        assert getattr(cache, name).__module__ == "aio_assume_role.cache"


def test_importing_the_package_imports_no_private_module() -> None:
    code = (
        "import sys, aio_assume_role; "
        "print(sorted(m for m in sys.modules if m.startswith('aio_assume_role.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_pydoc_renders_the_package() -> None:
    text = pydoc.render_doc(aio_assume_role, renderer=pydoc.plaintext)
    for name in aio_assume_role.__all__:
        assert name in text
    assert isinstance(aio_assume_role, types.ModuleType)


def test_public_docstrings_say_what_they_raise() -> None:
    from aio_assume_role import session, sync

    for function in (session.assume_role, sync.assume_role):
        doc = inspect.getdoc(function) or ""
        for error in ("InvalidParameterError", "ClientError", "RefreshError", "MFARefreshError"):
            assert error in doc, (function.__module__, error)
    assert "prefetch_credentials" in (inspect.getdoc(session.AssumedRoleSession) or "")


def test_the_package_docstring_names_every_export() -> None:
    # The first screen of help(aio_assume_role): the whole public API, by task.
    mentioned = set(re.findall(r"``(\w+)``", aio_assume_role.__doc__ or ""))
    assert set(aio_assume_role.__all__) <= mentioned
