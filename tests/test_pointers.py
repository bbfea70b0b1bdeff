"""The package's "Taught in notebooks/NN_name.ipynb" pointers are true.

d2l's habit: every package object says which chapter teaches it. A pointer is true when that
chapter mentions the object by name (in its code or its text); this test reads every module,
class and function docstring of ``course_rl`` and checks each pointer.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
POINTER = re.compile(r"Taught in (.*?)(?:\.\s|\.$|$)", re.S)
NOTEBOOK = re.compile(r"notebooks/(\d\d_\w+\.ipynb)")


def chapter_text(name: str) -> str:
    cells = json.loads((ROOT / "notebooks" / name).read_text())["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells)


def pointers(source: str, module: str) -> list[tuple[str, str]]:
    """``(object name, notebook)`` for every "Taught in" pointer of a module's docstrings (the
    module's own docstring names the module)."""
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if node is not tree and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                       ast.ClassDef)):
            continue
        name = module if node is tree else node.name
        for sentence in POINTER.findall(ast.get_docstring(node) or ""):
            found += [(name, notebook) for notebook in NOTEBOOK.findall(sentence)]
    return found


def module_name(path: Path) -> str:
    """``tasks`` for course_rl/tasks.py, ``exercises`` for course_rl/exercises/__init__.py."""
    return path.parent.name if path.name == "__init__.py" else path.stem


ALL = [(module_name(path), name, notebook)
       for path in sorted((ROOT / "course_rl").rglob("*.py"))
       for name, notebook in dict.fromkeys(pointers(path.read_text(), module_name(path)))]


def test_pointers_are_found():
    assert len(ALL) > 40
    assert ("tasks", "make", "01_tasks.ipynb") in ALL
    assert pointers('"""Taught in notebooks/01_a.ipynb (and notebooks/02_b.ipynb).\n\nMore."""\n'
                    'def f():\n    """Does it. Taught in notebooks/03_c.ipynb."""\n', "m") == \
        [("m", "01_a.ipynb"), ("m", "02_b.ipynb"), ("f", "03_c.ipynb")]


AWAITING = {  # pointers that wait for a chapter to be written, with the reason (strict: the test
              # fails once the chapter mentions the object, so the entry is then removed)
}


@pytest.mark.parametrize("module,name,notebook", [
    pytest.param(*key, marks=pytest.mark.xfail(strict=True, reason=AWAITING[key]))
    if key in AWAITING else key for key in ALL], ids=[f"{m}.{n}->{b[:2]}" for m, n, b in ALL])
def test_the_named_chapter_mentions_the_object(module, name, notebook):
    assert (ROOT / "notebooks" / notebook).is_file(), f"{module}.{name}: no {notebook}"
    assert re.search(rf"\b{re.escape(name)}\b", chapter_text(notebook)), \
        f"{module}.{name} says it is taught in notebooks/{notebook}, which never mentions it"
