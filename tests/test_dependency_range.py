"""The dependency range pyproject.toml declares is the one installed, and CI tests its floor.

CI's lowest job (``.ci/run``) installs the lowest declared versions and sets
``AIO_ASSUME_ROLE_LOWEST``: ``base`` for the package and its ``boto3`` extra at their
minima, ``trio`` for the ``trio`` extra's (aiobotocore 3.9 is the first release that runs on
trio). There the installed versions must *be* the declared minima, so a floor that the
resolver quietly lifts is noticed. Everywhere, they must satisfy the declared range.
"""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest brings tomli there
    import tomli as tomllib

PYPROJECT = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
PROJECT: dict[str, Any] = PYPROJECT["project"]
EXTRAS: dict[str, list[str]] = PROJECT["optional-dependencies"]
LOWEST = os.environ.get("AIO_ASSUME_ROLE_LOWEST", "")


def requirements(group: list[str]) -> dict[str, Requirement]:
    return {r.name: r for r in map(Requirement, group)}


BASE = requirements(PROJECT["dependencies"])
BOTO3 = requirements(EXTRAS["boto3"])
TRIO = requirements(EXTRAS["trio"])


def installed(name: str) -> Version | None:
    try:
        return Version(importlib.metadata.version(name))
    except importlib.metadata.PackageNotFoundError:
        return None


def minimum(requirement: Requirement) -> Version:
    floors = [Version(s.version) for s in requirement.specifier if s.operator in (">=", "==")]
    assert len(floors) == 1, f"{requirement} should declare exactly one minimum"
    return floors[0]


def test_every_runtime_dependency_declares_a_minimum() -> None:
    for requirement in [*BASE.values(), *BOTO3.values(), *TRIO.values()]:
        minimum(requirement)
    assert BASE["aiobotocore"].specifier.contains("3.999")
    assert not BASE["aiobotocore"].specifier.contains("4.0"), "aiobotocore 4 is untested"


def test_the_installed_versions_satisfy_the_declared_range() -> None:
    checked = dict(BASE)
    if installed("boto3") is not None:
        checked.update(BOTO3)
    # The trio extra's pieces, where they are installed: aiobotocore's httpx2 extra brings httpx2.
    if installed("httpx2") is not None and installed("trio") is not None:
        checked.update(TRIO)
    for name, requirement in checked.items():
        version = installed(name)
        assert version is not None, f"{name} is a dependency but is not installed"
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{name} {version} is outside the declared {requirement}"
        )


@pytest.mark.skipif(not LOWEST, reason="only in CI's lowest-versions job")
def test_the_lowest_job_runs_the_declared_minima() -> None:
    if LOWEST == "base":
        # botocore's floor is aiobotocore's lowest release's own floor.
        expected = {**BASE, **BOTO3}
    elif LOWEST == "trio":
        expected = {"aiobotocore": TRIO["aiobotocore"], "trio": TRIO["trio"]}
    else:
        pytest.fail(f"AIO_ASSUME_ROLE_LOWEST={LOWEST!r}: expected 'base' or 'trio'")
    found = {name: installed(name) for name in expected}
    assert found == {name: minimum(requirement) for name, requirement in expected.items()}
