"""The documentation site covers the public API; its plots match their data.

``mkdocs build --strict`` (CI's docs job) already fails on a broken link or reference, or a page
missing from the nav. What it cannot know is what *should* be there: these tests check that
every public module has a reference page, that every name the package exports is in the
reference's table, and that the performance page's SVG charts are drawn from their JSON data.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import aio_assume_role

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
REFERENCE = DOCS / "reference"
PLOTS = DOCS / "explanation" / "plots"


def public_modules() -> list[str]:
    """Public module names under the package: ``session``, ..., ``programs.cli``."""
    path = Path(aio_assume_role.__file__).parent
    top = [info.name for info in pkgutil.iter_modules([str(path)]) if info.name[0] != "_"]
    programs = [
        f"programs.{info.name}"
        for info in pkgutil.iter_modules([str(path / "programs")])
        if not info.name.startswith("_")
    ]
    return sorted(top + programs)


def excluded_docs() -> str:
    config = (ROOT / "mkdocs.yml").read_text()
    match = re.search(r"^exclude_docs: \|\n((?:  .*\n)*)", config, re.MULTILINE)
    return match.group(1) if match else ""


def test_every_public_module_has_a_reference_page() -> None:
    modules = public_modules()
    assert {"session", "sync", "errors", "programs", "programs.cli"} <= set(modules)
    for name in modules:
        page_name = name.rpartition(".")[2]  # programs.cli: cli.md
        page = REFERENCE / f"{page_name}.md"
        assert page.is_file(), f"aio_assume_role.{name} has no page: add {page.relative_to(ROOT)}"
        assert f"::: aio_assume_role.{name}\n" in page.read_text()
        assert f"reference/{page_name}.md" not in excluded_docs(), (
            f"mkdocs.yml's exclude_docs leaves out {page_name}.md"
        )


def test_the_reference_table_lists_every_exported_name() -> None:
    index = (REFERENCE / "index.md").read_text()
    listed = set(re.findall(r"^\| \[`(\w+)`\]\[", index, re.MULTILINE))
    assert listed == set(aio_assume_role.__all__)


def test_the_plots_are_drawn_from_their_data() -> None:
    spec = importlib.util.spec_from_file_location("make_plots", PLOTS / "make_plots.py")
    assert spec is not None and spec.loader is not None
    make_plots = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_plots)
    sources = sorted(PLOTS.glob("*.json"))
    assert sources
    for source in sources:
        drawn = make_plots.render(json.loads(source.read_text()))
        assert source.with_suffix(".svg").read_text() == drawn, (
            f"{source.name} changed: run python docs/explanation/plots/make_plots.py"
        )


def test_the_testing_guide_runs_as_written(tmp_path: Path) -> None:
    """docs/how-to/testing.md: its app.py, test_app.py and test_outage.py pass, on their own
    moto server (the fixtures of test_app.py, shared through a conftest.py)."""
    guide = (DOCS / "how-to" / "testing.md").read_text()
    for name in ("app.py", "test_app.py", "test_outage.py"):
        match = re.search(rf"```python\n# {re.escape(name)}\n(.*?)```", guide, re.DOTALL)
        assert match, f"no {name} block in docs/how-to/testing.md"
        (tmp_path / name).write_text(match.group(1))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "test_app"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_the_reference_leaves_out_special_members_and_base_classes() -> None:
    # mkdocstrings' "public" filter keeps __init__, __repr__, __reduce__...: the site's
    # griffe extension marks a class's _-names not public (what the filter then drops).
    import pytest

    griffe = pytest.importorskip("griffe")  # the docs extra
    spec = importlib.util.spec_from_file_location(
        "doc_comments", DOCS / "_griffe" / "doc_comments.py"
    )
    assert spec is not None and spec.loader is not None
    extension = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(extension)
    package = griffe.load(
        "aio_assume_role",
        search_paths=[str(ROOT)],
        extensions=griffe.load_extensions(extension.HideSpecialMembers()),
    )
    session = package["session"]["AssumedRoleSession"]
    assert not session["__init__"].is_public
    assert not session["__repr__"].is_public
    assert not package["errors"]["NoRegionError"]["__reduce__"].is_public
    assert session["prefetch_credentials"].is_public
    config = (ROOT / "mkdocs.yml").read_text()
    assert "docs/_griffe/doc_comments.py:HideSpecialMembers" in config
    assert re.search(r"^ +show_bases: false$", config, re.MULTILINE)  # no LightChildSession
    assert re.search(r"^ +merge_init_into_class: true$", config, re.MULTILINE)


def test_the_site_fetches_no_fonts_and_wraps_long_code_lines() -> None:
    config = (ROOT / "mkdocs.yml").read_text()
    assert re.search(r"^theme:\n(?:  .*\n)*  font: false$", config, re.MULTILINE)
    assert re.search(r"^extra_css:\n  - stylesheets/extra.css$", config, re.MULTILINE)
    css = (DOCS / "stylesheets" / "extra.css").read_text()
    assert re.search(r"pre > code \{[^}]*white-space: pre-wrap;", css)


def test_no_docstring_in_the_reference_points_at_internals() -> None:
    package = Path(aio_assume_role.__file__).parent  # the checkout's, or the installed wheel's
    for module in ("session", "sync"):
        text = (package / module).with_suffix(".py")
        if not text.exists():
            text = package / module / "__init__.py"
        source = text.read_text()
        assert "``_refresh``" not in source
        assert "Not meant to be called directly: ``assume_role()``" not in source
