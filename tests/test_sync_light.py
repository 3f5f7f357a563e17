"""The boto3 path stays light: importing it loads neither aiobotocore nor aiohttp."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_sync_path_loads_no_aiobotocore_or_aiohttp() -> None:
    code = (
        "import sys, aio_assume_role.sync; "
        "print([m for m in ('aiobotocore', 'aiohttp', 'aiofiles') if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_package_loads_its_exports_on_first_use() -> None:
    code = (
        "import sys, aio_assume_role; before = 'aiobotocore' in sys.modules; "
        "aio_assume_role.assume_role; print(before, 'aiobotocore' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "True"]
