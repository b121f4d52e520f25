"""The import graph: packages import only the layers below them, and modules never import in a circle.

    manifold_core  <-  manifold_train  <-  manifold_export, manifold_eval  <-  manifold_bench  <-  manifold_cli

(docs/ARCHITECTURE.md, "Layering"). Every import counts for the layers, also one inside a
function; for cycles, the imports a module runs when it is loaded (its top level).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# folder -> (import name, layer): a package may import its own modules and lower layers only
PACKAGES = {"core": ("manifold_core", 0), "train": ("manifold_train", 1), "export": ("manifold_export", 2),
            "eval": ("manifold_eval", 2), "bench": ("manifold_bench", 3), "manifold_cli": ("manifold_cli", 4)}


def modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every package folder under root."""
    found = {}
    for folder, (name, _) in PACKAGES.items():
        for path in sorted((root / folder).rglob("*.py")) if (root / folder).is_dir() else []:
            parts = list(path.relative_to(root / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([name, *parts])] = path
    return found


def imports(module: str, path: Path, top_level_only: bool) -> set[str]:
    """The modules `module` imports (absolute names, relative ones resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}  # `from pkg import module`
    return found


def layer_of(name: str) -> tuple[str, int] | None:
    top = name.split(".")[0]
    return next(((pkg, rank) for pkg, rank in PACKAGES.values() if pkg == top), None)


def upward_imports(root: Path) -> list[str]:
    bad = []
    for module, path in modules(root).items():
        own, rank = layer_of(module)
        for target in imports(module, path, top_level_only=False):
            other = layer_of(target)
            if other and other[0] != own and other[1] >= rank:
                bad.append(f"{path.relative_to(root)}: {own} imports {target} (layer {other[1]} >= {rank})")
    return sorted(set(bad))


def cycles(root: Path) -> list[list[str]]:
    known = modules(root)
    graph = {m: sorted(t for t in imports(m, p, top_level_only=True) if t in known and t != m)
             for m, p in known.items()}
    found, state = [], {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in graph[node]:
            if state.get(nxt) == "open":
                found.append(trail[trail.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for m in graph:
        if m not in state:
            visit(m, [m])
    return found


def test_no_package_imports_a_layer_above_or_beside_it():
    assert upward_imports(REPO) == []


def test_no_modules_import_each_other_in_a_circle():
    assert cycles(REPO) == []


def test_the_checks_catch_an_upward_import_and_a_cycle(tmp_path):
    """The test of the tests: a core module that imports the CLI, and two train modules in a circle."""
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "__init__.py").write_text("")
    (tmp_path / "core" / "runtime.py").write_text("def f():\n    from manifold_cli.app import app\n")
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "__init__.py").write_text("")
    (tmp_path / "train" / "model.py").write_text("from .registry import build\n")
    (tmp_path / "train" / "registry.py").write_text("from manifold_train.model import Autoencoder\n")
    assert upward_imports(tmp_path) == ["core/runtime.py: manifold_core imports manifold_cli.app (layer 4 >= 0)",
                                        "core/runtime.py: manifold_core imports manifold_cli.app.app (layer 4 >= 0)"]
    assert cycles(tmp_path) == [["manifold_train.model", "manifold_train.registry", "manifold_train.model"]]


@pytest.mark.parametrize("folder", PACKAGES)
def test_every_package_folder_is_installed_under_its_name(folder):
    """pyproject.toml's package-dir maps each folder to the import name the layers above use."""
    import tomllib

    package_dir = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    if not (REPO / folder).is_dir():
        pytest.skip(f"{folder}/ is not in this tree yet")
    assert package_dir[PACKAGES[folder][0]] == folder


def test_every_package_and_subpackage_is_in_pyproject():
    """setuptools installs only the packages pyproject.toml lists: a subpackage left out is missing
    from a wheel (an editable install hides that)."""
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join([name, *init.parent.relative_to(REPO / folder).parts])
             for folder, (name, _) in PACKAGES.items() if (REPO / folder).is_dir()
             for init in (REPO / folder).rglob("__init__.py")}
    assert found == listed
