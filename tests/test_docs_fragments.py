"""No fragment in the docs that cannot run (issue 12).

Every ```python block in docs/**/*.md and README.md is one of:

- snippet includes only, of files in examples/ that tests/test_examples.py runs: in the block
  form (``--8<--`` / ``examples/name.py`` / ``--8<--``), since ruff format rewrites the one-line
  form inside a python block;
- run by a named test: a ``<!-- run-by: tests/file.py::test_name -->`` comment on the line
  before the block (the README cannot carry one: GitHub shows the comment's neighbours
  only, and it cannot include files, so its one block is listed in ``RUN_BY_TEST_UNMARKED``);
- marked as a sketch that is not meant to run, with ``<!-- not-run: reason -->`` on the line
  before: a handful at most, each listed in ``NOT_RUN`` below, so that adding one is a
  decision made here, not an accident.

The Getting started page shows the demo's transcript from docs/demo-transcript.txt.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"

# (page, reason) of every block marked not-run; keep this short.
NOT_RUN = {
    ("docs/index.md", "a sketch: the shape of the API, without a parent session"),
    ("docs/how-to/caching.md", "needs a Redis server; the protocol is run by examples"),
    ("docs/how-to/fan-out.md", "a sketch of assume_role_in_accounts; fan_out.py runs"),
}
MAX_NOT_RUN = 5

# A page's first python block, run by a test, that cannot carry a marker: page -> test.
RUN_BY_TEST_UNMARKED = {
    "README.md": "tests/test_docs.py::test_the_readme_example_runs_against_moto",
}

INCLUDE = re.compile(r'^-{1,3}8<-{1,3} "([^"]+)"$')  # --8<-- "file": one line
BLOCK_MARK = re.compile(r"^-{1,3}8<-{1,3}$")  # --8<-- / file / --8<--: a block of files
MARKER = re.compile(r"^<!-- (not-run|run-by): (.+?) -->$")


@dataclass
class Block:
    page: str
    line: int  # 1-based line of the opening fence
    body: list[str]
    marker: tuple[str, str] | None  # ("not-run", reason) or ("run-by", test)


def pages() -> list[Path]:
    return [*sorted(DOCS.rglob("*.md")), ROOT / "README.md"]


def blocks(path: Path, language: str = "python") -> list[Block]:
    """Every fenced block of ``language`` in a Markdown file, with the marker before it."""
    lines = path.read_text().splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        fence = re.match(r"^(\s*)(`{3,}|~{3,})\s*(\S*)", lines[i])
        if not fence:
            i += 1
            continue
        indent, ticks, lang = fence.groups()
        end = i + 1
        while end < len(lines) and lines[end].strip() != ticks:
            end += 1
        if lang == language:
            previous = lines[i - 1].strip() if i else ""
            marked = MARKER.match(previous)
            found.append(
                Block(
                    page=str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path),
                    line=i + 1,
                    body=[line[len(indent) :] for line in lines[i + 1 : end]],
                    marker=(marked.group(1), marked.group(2)) if marked else None,
                )
            )
        i = end + 1
    return found


def covered_examples() -> set[str]:
    """The files of examples/ that tests/test_examples.py names in its @covers(...)."""
    tree = ast.parse((ROOT / "tests" / "test_examples.py").read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "covers"
        ):
            names.update(arg.value for arg in node.args if isinstance(arg, ast.Constant))
    return names


def includes(lines: list[str]) -> list[tuple[int, str | None]]:
    """(index, file) for each line of ``lines``: the file it includes, or None.

    Both snippet forms: ``--8<-- "file"`` on one line, and the block form (a ``--8<--``
    line, file names one a line, a ``--8<--`` line), which the python blocks use because
    ruff's formatter leaves it alone (it rewrites the one-line form as ``--8 < --"file"``).
    A marker line is (index, None) with the file "". ``file:section`` names its file.
    """
    found: list[tuple[int, str | None]] = []
    in_block = False
    for index, raw in enumerate(lines):
        line = raw.strip()
        if BLOCK_MARK.match(line):
            in_block = not in_block
            found.append((index, ""))
        elif in_block:
            if line and not line.startswith(";"):  # ";file" is a commented-out include
                found.append((index, line.split(":", 1)[0]))
            else:
                found.append((index, ""))
        elif match := INCLUDE.match(line):
            found.append((index, match.group(1).split(":", 1)[0]))
        else:
            found.append((index, None))
    return found


def included_files(block: Block) -> list[str] | None:
    """The files a block includes, or None if it holds anything but includes."""
    lines = [line for line in block.body if line.strip()]
    found = includes(lines)
    if not lines or any(name is None for _, name in found):
        return None
    names = [name for _, name in found if name]
    return names or None


def example_problem(name: str) -> str | None:
    path = ROOT / name
    if not name.startswith("examples/") or "/" in name.removeprefix("examples/"):
        return f"includes {name}, which is not a file of examples/"
    if not path.is_file():
        return f"includes {name}, which does not exist"
    if path.name not in covered_examples():
        return f"includes {name}, which no test in tests/test_examples.py runs (@covers)"
    return None


def test_every_python_block_runs_or_is_a_listed_sketch() -> None:
    problems: list[str] = []
    not_run: set[tuple[str, str]] = set()
    unmarked: set[str] = set()
    for page in pages():
        for block in blocks(page):
            where = f"{block.page}:{block.line}"
            files = included_files(block)
            if files is not None:
                problems.extend(f"{where}: {p}" for f in files if (p := example_problem(f)))
                if block.marker:
                    problems.append(f"{where}: an include needs no marker")
            elif block.marker and block.marker[0] == "not-run":
                not_run.add((block.page, block.marker[1]))
            elif block.marker and block.marker[0] == "run-by":
                if (problem := run_by_problem(block.marker[1])) is not None:
                    problems.append(f"{where}: {problem}")
            elif block.page in RUN_BY_TEST_UNMARKED and block.page not in unmarked:
                unmarked.add(block.page)  # its first python block only
                if (problem := run_by_problem(RUN_BY_TEST_UNMARKED[block.page])) is not None:
                    problems.append(f"{where}: {problem}")
            else:
                problems.append(
                    f"{where}: a copied python block: include the example that runs it "
                    "(```python / --8<-- / examples/NAME.py / --8<-- / ```), or mark a sketch "
                    "with <!-- not-run: reason --> and list it in NOT_RUN"
                )
    assert problems == []
    assert not_run == NOT_RUN, "a not-run block was added or removed: update NOT_RUN"
    assert len(NOT_RUN) <= MAX_NOT_RUN


def run_by_problem(test: str) -> str | None:
    file, _, name = test.partition("::")
    path = ROOT / file
    if not file.startswith("tests/") or not path.is_file():
        return f"run-by names {file}, which is not a test file"
    if not re.search(rf"^def {re.escape(name)}\(", path.read_text(), re.MULTILINE):
        return f"run-by names {test}, which does not exist"
    return None


def test_every_include_in_the_docs_exists_and_examples_are_run() -> None:
    """Includes outside python blocks too (the ini profile, the transcript)."""
    problems = []
    for page in pages():
        for index, name in includes(page.read_text().splitlines()):
            number = index + 1
            if not name:
                continue
            if name.startswith(
                "examples/array-jobs/"
            ):  # manifests: tests/test_programs_accounts.py
                problem = None if (ROOT / name).is_file() else f"includes missing {name}"
            elif name.startswith("examples/"):
                problem = example_problem(name)
            else:
                problem = None if (ROOT / name).is_file() else f"includes missing {name}"
            if problem:
                problems.append(f"{page.relative_to(ROOT)}:{number}: {problem}")
    assert problems == []


def test_the_getting_started_page_shows_the_demo_transcript() -> None:
    transcript = DOCS / "demo-transcript.txt"
    text_blocks = blocks(DOCS / "getting-started.md", "text")
    assert any(included_files(b) == ["docs/demo-transcript.txt"] for b in text_blocks), (
        "docs/getting-started.md does not include docs/demo-transcript.txt in a text block"
    )
    content = transcript.read_text()
    for title in (
        "0. Set-up",
        "1. Assume a role",
        "2. Refresh",
        "3. A file cache shared by two processes",
        "4. Fan-out",
        "Done in",
    ):
        assert f"\n{title}" in content, f"the transcript lacks the demo's section {title!r}"


def test_a_copied_block_is_caught(tmp_path: Path) -> None:
    """The checker itself: a copy fails, an include passes, a marker is read."""
    page = tmp_path / "page.md"
    page.write_text(
        "```python\nprint('copied')\n```\n\n"
        '```python\n--8<-- "examples/quickstart.py"\n```\n\n'
        "```python\n--8<--\nexamples/quickstart.py\nexamples/mfa.py\n--8<--\n```\n\n"
        "```python\n--8<--\nexamples/quickstart.py\n--8<--\nprint('and a copy')\n```\n\n"
        "<!-- not-run: a sketch -->\n```python\nsession = ...\n```\n"
    )
    copied, included, block_form, mixed, sketch = blocks(page)
    assert included_files(copied) is None and copied.marker is None
    assert included_files(included) == ["examples/quickstart.py"]
    assert included_files(block_form) == ["examples/quickstart.py", "examples/mfa.py"]
    assert included_files(mixed) is None
    assert example_problem("examples/quickstart.py") is None
    assert example_problem("examples/nothing.py") is not None
    assert sketch.marker == ("not-run", "a sketch")
