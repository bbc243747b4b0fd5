"""The package's import rules (DESIGN.md, "Layout"): no import cycles, torch and ``ncarender.train`` only on the
training side, the family numpy and Pillow only, and a render that loads neither torch nor the trainer."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ncarender"

#: The modules (besides ``ncarender.train`` itself) that may import ``ncarender.train``: the train and export
#: commands, and ``info`` of a ``.pt`` checkpoint.
MAY_IMPORT_TRAIN = {"ncarender.cli.train", "ncarender.info"}
#: What the family may import from outside the standard library.
FAMILY_THIRD_PARTY = {"numpy", "PIL"}


def _modules() -> dict[str, tuple[Path, bool]]:
    """Every module of the package by dotted name: its file and whether it is a package's ``__init__``."""
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return out


MODULES = _modules()


def _imports(name: str, *, with_typing: bool) -> set[str]:
    """The dotted names ``name`` imports anywhere (module level and inside functions); ``TYPE_CHECKING`` blocks
    only if ``with_typing``. ``from x import y`` counts as ``x`` and, where ``x.y`` is a module, ``x.y``."""
    path, is_package = MODULES[name]
    package = name if is_package else name.rsplit(".", 1)[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test) and not with_typing:
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - child.level + 1]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                found.add(target)
                found.update(f"{target}.{alias.name}" for alias in child.names if f"{target}.{alias.name}" in MODULES)
            elif isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
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
            connect(v)
    return found


def test_no_import_cycles() -> None:
    # Every import that runs (module level or inside a function) counts; annotations alone do not.
    graph = {m: (_imports(m, with_typing=False) & MODULES.keys()) - {m} for m in MODULES}
    assert _cycles(graph) == []


def test_only_the_training_side_imports_torch_and_the_trainer() -> None:
    offenders = []
    for name in MODULES:
        if name == "ncarender.train" or name.startswith("ncarender.train."):
            continue
        imported = _imports(name, with_typing=True)
        if any(i == "torch" or i.startswith("torch.") for i in imported):
            offenders.append(f"{name} imports torch")
        if name not in MAY_IMPORT_TRAIN and any(i.startswith("ncarender.train") for i in imported):
            offenders.append(f"{name} imports ncarender.train")
    assert offenders == []


def test_the_family_is_numpy_and_pillow_only() -> None:
    stdlib = sys.stdlib_module_names
    offenders = []
    for name in MODULES:
        if not name.startswith("ncarender.family"):
            continue
        for imported in _imports(name, with_typing=True):
            top = imported.split(".")[0]
            if top == "ncarender":
                # the numpy leaves it may use: errors, atomic writes, the lattice's geometry (hex rounding)
                if not imported.startswith(
                    ("ncarender.family", "ncarender.errors", "ncarender.atomic", "ncarender.lattice")
                ):
                    offenders.append(f"{name} imports {imported}")
            elif top not in stdlib and top not in FAMILY_THIRD_PARTY and imported != "__future__":
                offenders.append(f"{name} imports {imported}")
    assert offenders == []


_RENDER = """
import json, sys
from pathlib import Path
from ncarender.cli import app
out = Path(sys.argv[1])
for argv in (["gif", str(out / "a.gif"), "--steps", "4", "-q"], ["info", "snowflake", "--json"],
             ["eval", "snowflake", "--num-seeds", "1", "--steps", "2", "--no-regen", "--regrowth", "0"]):
    try:
        app(args=argv, prog_name="ncarender")
    except SystemExit as exc:
        assert exc.code in (0, None, 2), (argv, exc.code)
loaded = [m for m in sys.modules if m == "torch" or m.startswith(("torch.", "ncarender.train"))]
print(json.dumps(loaded))
"""


def test_a_render_loads_neither_torch_nor_the_trainer(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _RENDER, str(tmp_path)], capture_output=True, text=True, check=True, timeout=120
    )
    assert (tmp_path / "a.gif").stat().st_size > 0
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_no_test_imports_another_test_module() -> None:
    # Shared helpers live in conftest.py, browser.py and hexmodel.py; a test module is never imported.
    offenders = []
    for path in sorted(Path(__file__).resolve().parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            offenders += [f"{path.name} imports {n}" for n in names if n.split(".")[0].startswith("test_")]
    assert offenders == []
