"""How the package's modules depend on each other: no import cycles, and a light config."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "course_rl"


def _imported_modules(path: Path, package_dir: Path) -> set[str]:
    """The package's top-level modules (or subpackages) that the file imports anywhere: at module
    level, or deferred inside a function (a deferred import is a dependency too; only
    ``if TYPE_CHECKING:`` blocks, which never run, are left out)."""
    tree = ast.parse(path.read_text(), str(path))
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    # the dotted name of the file's own package, e.g. ["course_rl"] or ["course_rl", "exercises"]
    here = [package_dir.name, *path.relative_to(package_dir).parent.parts]
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        targets = []  # absolute dotted names, as lists
        if isinstance(node, ast.ImportFrom):
            base = here[:len(here) - node.level + 1] if node.level else []
            module = base + (node.module.split(".") if node.module else [])
            if module == [package_dir.name]:  # from . import a, b  /  from course_rl import a
                targets += [module + [alias.name] for alias in node.names]
            else:
                targets.append(module)
        elif isinstance(node, ast.Import):
            targets += [alias.name.split(".") for alias in node.names]
        found.update(t[1] for t in targets if len(t) > 1 and t[0] == package_dir.name)
    return found


def import_graph(folder: Path) -> dict[str, set[str]]:
    """``{module: modules it imports}`` for a package folder; a subpackage is one node."""
    nodes = {p.stem for p in folder.glob("*.py")} | {p.parent.name for p in folder.glob("*/__init__.py")}
    graph = {name: set() for name in nodes}
    for path in folder.rglob("*.py"):
        parts = path.relative_to(folder).parts
        name = parts[0] if len(parts) > 1 else path.stem
        graph[name] |= _imported_modules(path, folder) & nodes - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_sees_a_deferred_import_cycle(tmp_path):
    pkg = tmp_path / "course_rl"
    pkg.mkdir()
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text("def f():\n    from .c import x\n")
    (pkg / "c.py").write_text("import course_rl.a\n")
    (pkg / "d.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                              "    from . import a\nfrom course_rl import b\n")
    (pkg / "sub").mkdir()
    (pkg / "sub" / "__init__.py").write_text("from .x import y\n")
    (pkg / "sub" / "x.py").write_text("def f():\n    from ..d import g\n")
    graph = import_graph(pkg)
    assert graph == {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"b"}, "sub": {"d"}}
    assert cycles(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize("module", sorted(import_graph(PACKAGE)))
def test_module_is_in_no_import_cycle(module):
    """E.g. config -> tasks -> vae -> results -> config, which the pixel task made before it
    moved into course_rl.pixels, or stats <-> plots before a run's curves moved into results
    (deferred imports count: they are dependencies too)."""
    offending = [c for c in cycles(import_graph(PACKAGE)) if module in c]
    assert offending == [], f"{module} is in the import cycle(s) {offending}"


def test_importing_config_loads_no_physics_engine_and_no_tensorflow():
    """The config (and the experiments it defines) must load fast, anywhere: a fresh process
    imports it and reports which heavy modules came along."""
    heavy = ("pybullet", "pybullet_data", "mujoco", "tensorflow", "keras")
    code = ("import json, sys\nimport course_rl.config\n"
            f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, cwd=PACKAGE.parent)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []
