"""In CI's built-package job, the tests run against the installed wheel, not the checkout.

That job (``.ci/run``, job 4) installs the wheel into a clean venv and runs the suite from a
copy of the repository without ``aio_assume_role/``, with ``AIO_ASSUME_ROLE_EXPECT_INSTALLED=1``.
These tests prove the suite imported the wheel's package there, and that the wheel carries
what a source checkout would hide the lack of: ``py.typed``, every module, the console script.
Elsewhere (an editable install, a checkout) they skip.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import sys
import sysconfig
from pathlib import Path

import pytest

import aio_assume_role

pytestmark = pytest.mark.skipif(
    os.environ.get("AIO_ASSUME_ROLE_EXPECT_INSTALLED") != "1",
    reason="only in CI's built-package job (AIO_ASSUME_ROLE_EXPECT_INSTALLED=1)",
)

PACKAGE = Path(aio_assume_role.__file__).resolve().parent
SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"]).resolve()


def test_the_package_is_imported_from_site_packages() -> None:
    assert PACKAGE.parent == SITE_PACKAGES, f"imported from {PACKAGE}, not {SITE_PACKAGES}"
    assert Path(sys.prefix).resolve() in PACKAGE.parents


def test_py_typed_is_next_to_the_package() -> None:
    assert (PACKAGE / "py.typed").is_file()


def test_the_distribution_was_installed_from_a_wheel() -> None:
    """Its metadata is the wheel's, in site-packages (not a checkout's egg-info, not editable)."""
    distribution = importlib.metadata.distribution("aio-assume-role")
    assert Path(str(distribution.locate_file(""))).resolve() == SITE_PACKAGES
    origin = json.loads(distribution.read_text("direct_url.json") or "{}")
    assert str(origin.get("url", "")).endswith(".whl"), f"not installed from a wheel: {origin}"
    recorded = {str(path) for path in distribution.files or ()}
    assert {"aio_assume_role/__init__.py", "aio_assume_role/py.typed"} <= recorded


def test_the_console_script_is_installed() -> None:
    script = shutil.which("aio-assume-role", path=str(Path(sys.executable).parent))
    assert script is not None, "the aio-assume-role console script is not installed"
