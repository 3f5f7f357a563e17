"""griffe extensions: ``#:`` comments above a constant become its docstring; classes' special
and private members stay out of the reference (``HideSpecialMembers``).

The package documents constants and type aliases the Sphinx way, with ``#:`` comment lines
right above the assignment (``tests/test_exported_members.py`` requires one on every exported
constant). griffe only reads a string literal *below* an assignment, so without this the
reference would show those names without their description. mkdocs.yml loads it by path.
"""

from __future__ import annotations

import ast
from typing import Any

import griffe


class DocComments(griffe.Extension):
    """Give an attribute without a docstring the ``#:`` comment block above it."""

    def on_attribute_instance(
        self, *, node: ast.AST | griffe.ObjectNode, attr: griffe.Attribute, **kwargs: Any
    ) -> None:
        if attr.docstring is not None or attr.lineno is None:
            return
        try:
            lines = attr.lines_collection[attr.filepath]  # type: ignore[index]
        except (KeyError, TypeError):
            return
        comment: list[str] = []
        index = attr.lineno - 2  # the line above the assignment, 0-based
        while index >= 0 and lines[index].lstrip().startswith("#:"):
            comment.insert(0, lines[index].lstrip()[2:].strip())
            index -= 1
        if comment:
            attr.docstring = griffe.Docstring(
                "\n".join(comment), lineno=index + 2, endlineno=attr.lineno - 1, parent=attr
            )


class HideSpecialMembers(griffe.Extension):
    """Leave a class's special and private members (``__init__``, ``__repr__``,
    ``__reduce__``, ``_x``...) out of the reference.

    The ``public`` filter keeps special methods; a regex filter (``!^_``) would also show
    every module-level name left out of ``__all__``. Marking the members not public keeps
    ``__init__`` in the class (``merge_init_into_class`` gives the class its signature).
    """

    def on_class_members(self, *, cls: griffe.Class, **kwargs: Any) -> None:
        for name, member in cls.members.items():
            if name.startswith("_"):
                member.public = False
